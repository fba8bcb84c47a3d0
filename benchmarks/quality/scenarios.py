"""Populations and changes of the quality benchmark (benchmarks/quality/run.py).

A population draws rows of one model's features. The baseline is one draw
of BASELINE_ROWS rows, every window an independent draw of its own rows
from the same population (stable), or from the population with a change
applied from a known window on (changed). So a stable stream is exactly
the null hypothesis every drift test is about: the window and the baseline
come from one distribution, and any difference is sampling.

- `synthetic`: ten features of the shapes models see: normal, heavy-tailed
  (Student t, 3 degrees of freedom), integer with ties (Poisson), a bounded
  score (beta), a column with 10% missing, two correlated normals (rho 0.8),
  categorical at 3, 50 and 250 categories (Zipf-like shares).
- `flights`: the rows of the npm package vega-datasets' flights-20k.json
  (20,000 US flights of 2001: delay and distance in integers with ties and
  a heavy tail, the hour of departure, origin and destination airports:
  220 and 223 categories), drawn with replacement: a population with real
  shapes and real category shares.
"""
import json
import os

import numpy as np
import pandas as pd

BASELINE_ROWS = 50_000


def zipf_shares(k, s):
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


class Synthetic:
    name = "synthetic"
    categorical = ["c_3", "c_50", "c_250"]
    numeric = ["x_normal", "x_heavy", "x_int", "x_score", "x_missing", "x_a", "x_b"]
    C3 = np.array(["a", "b", "c"])
    C3_SHARES = np.array([0.5, 0.3, 0.2])
    C50 = np.array([f"k{i:02d}" for i in range(50)])
    C50_SHARES = zipf_shares(50, 1.1)
    C250 = np.array([f"v{i:03d}" for i in range(250)])
    C250_SHARES = zipf_shares(250, 1.0)

    def sample(self, rng, n, change=None, progress=1.0):
        """n rows; `change` (a Change) applied at `progress` (0..1 of its
        full size: a ramp grows, a step is 1 from its first window)."""
        c = change if change is not None else NO_CHANGE
        a = progress if c.name != NO_CHANGE.name else 0.0
        z = rng.standard_normal((n, 2))
        rho = 0.8 if not (c.kind == "corr_flip" and a > 0) else -0.8
        x_a = z[:, 0]
        x_b = rho * z[:, 0] + np.sqrt(1 - rho * rho) * z[:, 1]
        df = pd.DataFrame({
            "x_normal": rng.standard_normal(n),
            "x_heavy": rng.standard_t(3, n),
            "x_int": rng.poisson(3.0 + (c.size * np.sqrt(3.0) * a if c.kind == "poisson_mean" else 0),
                                 n).astype(float),
            "x_score": rng.beta(2, 5, n),
            "x_missing": rng.normal(5, 2, n),
            "x_a": x_a,
            "x_b": x_b,
        })
        missing = 0.10 + (c.size * a if c.kind == "missing" else 0)
        df.loc[rng.random(n) < missing, "x_missing"] = np.nan
        c3 = self.C3_SHARES
        if c.kind == "share" and a > 0:
            c3 = c3 + np.array([c.size, -c.size, 0]) * a
        df["c_3"] = rng.choice(self.C3, n, p=c3)
        df["c_50"] = rng.choice(self.C50, n, p=self.C50_SHARES)
        if c.kind == "new_category" and a > 0:
            df.loc[rng.random(n) < c.size * a, "c_50"] = "never_seen"
        df["c_250"] = rng.choice(self.C250, n, p=self.C250_SHARES)
        if c.kind == "mean":
            df[c.feature] += c.size * a * self.std(c.feature)
        elif c.kind == "variance":
            col = df[c.feature]
            mean = self.mean(c.feature)
            df[c.feature] = mean + (col - mean) * np.sqrt(1 + (c.size - 1) * a)
        return df

    @staticmethod
    def std(feature):
        return {"x_normal": 1.0, "x_heavy": np.sqrt(3.0), "x_score": np.sqrt(10 / (49 * 8)),
                "x_missing": 2.0}[feature]

    @staticmethod
    def mean(feature):
        return {"x_normal": 0.0, "x_heavy": 0.0, "x_score": 2 / 7, "x_missing": 5.0}[feature]


class Flights:
    name = "flights"
    categorical = ["origin", "destination"]
    numeric = ["delay", "distance", "hour"]

    def __init__(self, path):
        with open(path) as f:
            rows = json.load(f)
        df = pd.DataFrame(rows)
        df["hour"] = pd.to_datetime(df["date"], format="%Y/%m/%d %H:%M").dt.hour.astype(float)
        self.rows = df[["delay", "distance", "hour", "origin", "destination"]].reset_index(drop=True)
        self.rows["delay"] = self.rows["delay"].astype(float)
        self.rows["distance"] = self.rows["distance"].astype(float)

    def sample(self, rng, n, change=None, progress=1.0):
        assert change is None or change.name == NO_CHANGE.name, "flights: stable streams only"
        idx = rng.integers(0, len(self.rows), n)
        return self.rows.iloc[idx].reset_index(drop=True)


class Change:
    def __init__(self, name, kind, feature, size, ramp_windows=0, what=""):
        self.name, self.kind, self.feature, self.size = name, kind, feature, size
        self.ramp_windows = ramp_windows  # 0: a step; N: grows linearly over N windows
        self.what = what

    def progress(self, windows_since_start):
        if windows_since_start < 0:
            return 0.0
        if self.ramp_windows == 0:
            return 1.0
        return min(1.0, (windows_since_start + 1) / self.ramp_windows)


NO_CHANGE = Change("stable", "none", None, 0)

# The changes the issue names, each of a known size, on the synthetic model.
# `feature` is the column whose verdict should flag it (corr_flip: the
# multivariate statistic, whose pseudo-feature is named in run.py).
CHANGES = [
    Change("mean+0.1sd", "mean", "x_normal", 0.1, what="normal column, mean + 0.1 sigma"),
    Change("mean+0.25sd", "mean", "x_normal", 0.25, what="normal column, mean + 0.25 sigma"),
    Change("heavy mean+0.25sd", "mean", "x_heavy", 0.25, what="Student t3 column, + 0.25 sigma"),
    Change("score mean+0.1sd", "mean", "x_score", 0.1, what="beta(2,5) score, + 0.1 sigma"),
    Change("int mean+0.1sd", "poisson_mean", "x_int", 0.1, what="Poisson(3) rate + 0.1 sigma"),
    Change("variance x1.2", "variance", "x_normal", 1.2, what="normal column, variance x 1.2"),
    Change("share -5pt", "share", "c_3", 0.05, what="3 categories: 'b' 30% -> 25%"),
    Change("new category 1%", "new_category", "c_50", 0.01, what="50 categories + 1% unseen"),
    Change("missing +5pt", "missing", "x_missing", 0.05, what="missing rate 10% -> 15%"),
    Change("ramp 0->1sd/50w", "mean", "x_normal", 1.0, ramp_windows=50,
           what="normal column, mean 0 -> 1 sigma over 50 windows"),
    Change("correlation flip", "corr_flip", "x_a+x_b", 1.0, what="rho 0.8 -> -0.8, marginals same"),
]


def find_flights():
    """flights-20k.json from the vega-datasets npm package (installed by
    run.py into benchmarks/quality/.data when absent)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, ".data", "node_modules", "vega-datasets", "data", "flights-20k.json")
