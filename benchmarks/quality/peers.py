"""The peers' default drift rules, re-implemented with numpy/scipy so that
they run on exactly the windows driftd sees. Each is what the project's
own source or documentation gives as its default, stated below; they are
re-implementations, not the libraries themselves.

- Evidently (DataDriftPreset's default per-column tests when the reference
  has over 1,000 rows): a numeric column with more than 5 distinct values
  in the reference drifts when the Wasserstein distance divided by the
  reference's standard deviation is >= 0.1; any other column when the
  Jensen-Shannon distance (base e) of its value shares (over the union of
  values) is >= 0.1. Dataset drift: at least half the columns drift.
- NannyML (UnivariateDriftCalculator's defaults, nannyml/drift/univariate/
  calculator.py and methods.py): Jensen-Shannon distance, base 2, for both
  kinds; continuous columns on the reference's Doane histogram bins (values
  outside them in one extra bin), categorical on the reference's values
  (unseen values in one extra bin); an alert when the distance is > 0.1.
"""
import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance


def _present(series):
    return series.dropna().to_numpy()


class Evidently:
    name = "Evidently default"

    def __init__(self, reference, numeric, categorical):
        self.columns = numeric + categorical
        self.ref = {}
        for c in self.columns:
            values = _present(reference[c])
            wasserstein = c in numeric and len(np.unique(values)) > 5
            if wasserstein:
                self.ref[c] = ("w", values, float(np.std(values)))
            else:
                u, k = np.unique(values.astype(str), return_counts=True)
                self.ref[c] = ("js", dict(zip(u, k / k.sum())), None)

    def column_drift(self, window):
        out = {}
        for c in self.columns:
            kind, ref, sd = self.ref[c]
            cur = _present(window[c])
            if len(cur) == 0:
                out[c] = False
                continue
            if kind == "w":
                out[c] = wasserstein_distance(ref, cur) / sd >= 0.1 if sd > 0 else False
            else:
                u, k = np.unique(cur.astype(str), return_counts=True)
                cur_shares = dict(zip(u, k / k.sum()))
                keys = sorted(set(ref) | set(cur_shares))
                p = np.array([ref.get(x, 0.0) for x in keys])
                q = np.array([cur_shares.get(x, 0.0) for x in keys])
                out[c] = jensenshannon(p, q) >= 0.1
        return out


class NannyML:
    name = "NannyML default"

    def __init__(self, reference, numeric, categorical):
        self.columns = numeric + categorical
        self.ref = {}
        for c in numeric:
            values = _present(reference[c]).astype("float64")
            bins = np.histogram_bin_edges(values, bins="doane")
            self.ref[c] = ("num", bins, np.histogram(values, bins=bins)[0] / len(values))
        for c in categorical:
            u, k = np.unique(_present(reference[c]).astype(str), return_counts=True)
            self.ref[c] = ("cat", u, k / k.sum())

    def column_drift(self, window):
        out = {}
        for c in self.columns:
            kind, bins, ref = self.ref[c]
            cur = _present(window[c])
            if len(cur) == 0:
                out[c] = False
                continue
            if kind == "num":
                q = np.histogram(cur.astype("float64"), bins=bins)[0] / len(cur)
            else:
                u, k = np.unique(cur.astype(str), return_counts=True)
                counts = dict(zip(u, k))
                q = np.array([counts.get(x, 0) for x in bins]) / len(cur)
            p = ref
            leftover = 1 - q.sum()
            if leftover > 1e-12:
                q = np.append(q, leftover)
                p = np.append(p, 0)
            out[c] = jensenshannon(p, q, base=2) > 0.1
        return out
