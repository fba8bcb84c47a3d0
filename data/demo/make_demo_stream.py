#!/usr/bin/python3
"""Writes the demo's event stream (JSON lines, one event per prediction and
one per label) in four phases over 80 minutes of event time:

  0-15 min   stable: serving looks like training
  15-35 min  gradual drift: `amount` creeps up, `tenure_days` shrinks
  35-60 min  sudden drift: a new market (BR) appears, the model gets noisier
  60-80 min  recovered: the new market is routed to its own model and the
             upstream change is rolled back; serving looks like training again
  labels     every prediction's label arrives 10 minutes after it

    /usr/bin/python3 data/demo/make_demo_stream.py OUT.jsonl [--rate 20]

Generated fresh by scripts/demo (seeded: the same stream every time).
"""
import argparse
import json
import math
import random

T0 = 1795341600000  # 2026-11-22T10:00:00Z


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rate", type=float, default=20, help="events per second of event time")
    ap.add_argument("--minutes", type=float, default=80)
    args = ap.parse_args()
    rng = random.Random(2026)
    n = int(args.rate * 60 * args.minutes)
    pending = []  # (label time, label event)
    with open(args.out, "w") as f:
        for i in range(n):
            ts = T0 + int(i * 1000 / args.rate)
            minute = (ts - T0) / 60000
            recovered = minute >= 60
            gradual = 0.0 if recovered else min(1.0, max(0.0, (minute - 15) / 20))
            sudden = 35 <= minute < 60
            amount = rng.lognormvariate(3.2 + 0.6 * gradual, 1.0)
            age = float(rng.randint(18, 84)) if rng.random() > 0.03 else None
            countries = ["DE", "FR", "US", "IT", "ES"] + (["BR"] if sudden else [])
            weights = [0.35, 0.25, 0.2, 0.12, 0.08] + ([0.25] if sudden else [])
            country = rng.choices(countries, weights)[0]
            device = rng.choices(["ios", "android", "web"], [0.4, 0.4, 0.2])[0]
            tenure = rng.expovariate(1 / (400 - 250 * gradual))
            logit = -3 + 0.02 * (amount - 25) / 5 + (0.8 if country == "US" else 0) - tenure / 800
            fraud = rng.random() < 1 / (1 + math.exp(-logit))
            score = 1 / (1 + math.exp(-(logit + rng.gauss(0, 1.4 if sudden else 0.6))))
            rid = f"req-{i}"
            while pending and pending[0][0] <= ts:
                f.write(json.dumps(pending.pop(0)[1]) + "\n")
            f.write(json.dumps({
                "model": "fraud", "model_version": "3", "id": rid, "ts": ts,
                "features": {"amount": round(amount, 2), "age": age, "country": country,
                             "device": device, "tenure_days": round(tenure, 1)},
                "prediction": round(score, 4)}) + "\n")
            pending.append((ts + 600000, {"model": "fraud", "model_version": "3", "id": rid,
                                          "label": int(fraud), "ts": ts + 600000}))
        for _, label in pending:
            f.write(json.dumps(label) + "\n")


if __name__ == "__main__":
    main()
