#!/usr/bin/python3
"""Makes the bundled demo data (committed; run again only to change it):
a fraud model's training data and a serving sample in which `amount` has
drifted up, `country` gained a new market, and the model got worse.

    /usr/bin/python3 data/demo/make_demo_data.py data/demo
"""
import os
import sys

import numpy as np
import pandas as pd


def make(rng, n, drift):
    amount = rng.lognormal(3.2 + (0.5 if drift else 0), 1.0, n)
    age = rng.integers(18, 85, n).astype(float)
    countries = ["DE", "FR", "US", "IT", "ES"] + (["BR"] if drift else [])
    p = [0.35, 0.25, 0.2, 0.12, 0.08] if not drift else [0.25, 0.2, 0.2, 0.1, 0.1, 0.15]
    country = rng.choice(countries, n, p=p)
    device = rng.choice(["ios", "android", "web"], n, p=[0.4, 0.4, 0.2])
    tenure_days = rng.exponential(400, n)
    logit = -3 + 0.02 * (amount - 25) / 5 + (country == "US") * 0.8 - tenure_days / 800
    fraud = rng.random(n) < 1 / (1 + np.exp(-logit))
    noise = rng.normal(0, 0.6 if not drift else 1.4, n)
    score = 1 / (1 + np.exp(-(logit + noise)))
    age[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame({
        "request_id": [f"req-{i}" for i in range(n)],
        "amount": np.round(amount, 2), "age": age, "country": country, "device": device,
        "tenure_days": np.round(tenure_days, 1), "score": np.round(score, 4), "label": fraud.astype(int),
    })


out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
rng = np.random.default_rng(2026)
make(rng, 20000, False).to_csv(os.path.join(out, "train.csv"), index=False)
make(rng, 8000, True).to_csv(os.path.join(out, "serving.csv"), index=False)
