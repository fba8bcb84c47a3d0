#!/usr/bin/python3
"""Reference values for driftd's statistics, computed with Debian 12's
numpy/scipy/pandas/sklearn, from the definitions in the README.

    /usr/bin/python3 tests/reference/make_reference.py OUT_DIR [--seed N]

writes OUT_DIR/<case>/{train.csv, serving.csv, case.json} where case.json
holds the `driftd baseline build` arguments and the expected statistics.
tests/data/reference/ is its output with the default seed, committed;
tests/cli/test_scipy_agreement.py runs it again with other seeds.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn import metrics
from sklearn.decomposition import PCA

BINS = 10
PSI_FLOOR = 1e-4


def read(path, categorical):
    dtypes = {c: str for c in categorical}
    return pd.read_csv(path, keep_default_na=False, na_values=["", "NaN", "nan"], dtype=dtypes)


def none_if_nan(v):
    v = float(v)
    return None if not np.isfinite(v) else v


def numeric_stats(b, c):
    b = b[np.isfinite(b)]
    c = c[np.isfinite(c)]
    # numpy overflows on x**2 near 1e300: rescale by a power of two, which is
    # exact, and every statistic below is invariant to scale.
    big = max(np.max(np.abs(b), initial=0), np.max(np.abs(c), initial=0))
    if big > 1e150 or 0 < big < 1e-150:
        scale = 2.0 ** -np.frexp(big)[1]
        b, c = b * scale, c * scale
    out = {}
    if len(b) == 0 or len(c) == 0:
        return {k: None for k in ["psi", "jensen_shannon", "hellinger", "ks_statistic",
                                  "ks_p_value", "wasserstein", "mean_shift", "std_ratio"]} | {
            "skewness": none_if_nan(stats.skew(c)) if len(c) else None,
            "baseline_skewness": none_if_nan(stats.skew(b)) if len(b) else None}
    cuts = np.unique(np.quantile(b, np.arange(1, BINS) / BINS))
    bp = np.bincount(np.searchsorted(cuts, b, side="right"), minlength=len(cuts) + 1) / len(b)
    cp = np.bincount(np.searchsorted(cuts, c, side="right"), minlength=len(cuts) + 1) / len(c)
    bf = np.where(bp == 0, PSI_FLOOR, bp)
    cf = np.where(cp == 0, PSI_FLOOR, cp)
    out["psi"] = float(np.sum((cf - bf) * np.log(cf / bf)))
    out["jensen_shannon"] = float(jensenshannon(bp, cp))
    out["hellinger"] = float(np.sqrt(max(0.0, 1 - np.sum(np.sqrt(bp * cp)))))
    ks = stats.ks_2samp(b, c, method="asymp")
    out["ks_statistic"] = float(ks.statistic)
    out["ks_p_value"] = none_if_nan(ks.pvalue) if round(len(b) * len(c) / (len(b) + len(c))) >= 1 else None
    sd = b.std()
    with np.errstate(all="ignore"):
        out["wasserstein"] = none_if_nan(stats.wasserstein_distance(b, c) / sd) if sd > 0 else None
        out["mean_shift"] = none_if_nan((c.mean() - b.mean()) / sd) if sd > 0 else None
        out["std_ratio"] = none_if_nan(c.std() / sd) if sd > 0 else None
        out["skewness"] = none_if_nan(stats.skew(c))
        out["baseline_skewness"] = none_if_nan(stats.skew(b))
    return out


def categorical_stats(b, c):
    b = [x for x in b if isinstance(x, str)]
    c = [x for x in c if isinstance(x, str)]
    if len(b) == 0 or len(c) == 0:
        return {k: None for k in ["psi", "jensen_shannon", "hellinger", "chi2_statistic",
                                  "chi2_p_value", "l_infinity"]} | {
            "new_category_rate": None if len(c) == 0 else 1.0}
    cats = sorted(set(b) | set(c))
    bc = np.array([b.count(k) for k in cats], dtype=float)
    cc = np.array([c.count(k) for k in cats], dtype=float)
    bp, cp = bc / bc.sum(), cc / cc.sum()
    bf = np.where(bp == 0, PSI_FLOOR, bp)
    cf = np.where(cp == 0, PSI_FLOOR, cp)
    chi2, p, _, _ = stats.chi2_contingency(np.array([bc, cc]), correction=False)
    known = set(b)
    return {
        "psi": float(np.sum((cf - bf) * np.log(cf / bf))),
        "jensen_shannon": float(jensenshannon(bp, cp)),
        "hellinger": float(np.sqrt(max(0.0, 1 - np.sum(np.sqrt(bp * cp))))),
        "chi2_statistic": float(chi2),
        "chi2_p_value": float(p),
        "l_infinity": float(np.max(np.abs(bp - cp))),
        "new_category_rate": sum(1 for x in c if x not in known) / len(c),
    }


def performance(pred, label, task, threshold=0.5):
    mask = np.isfinite(pred) & np.isfinite(label)
    s, y = pred[mask], label[mask]
    if task == "classification":
        yhat = (s >= threshold).astype(int)
        y = y.astype(int)
        out = {
            "accuracy": metrics.accuracy_score(y, yhat),
            "precision": metrics.precision_score(y, yhat, zero_division=0),
            "recall": metrics.recall_score(y, yhat, zero_division=0),
            "f1": metrics.f1_score(y, yhat, zero_division=0),
            "roc_auc": metrics.roc_auc_score(y, s) if len(set(y)) == 2 else None,
            "log_loss": metrics.log_loss(y, s, labels=[0, 1]),
        }
    else:
        out = {
            "mae": metrics.mean_absolute_error(y, s),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y, s))),
            "r2": metrics.r2_score(y, s),
        }
    return {k: none_if_nan(v) if v is not None else None for k, v in out.items()} | {"rows": int(mask.sum())}


def column_scale(v):
    """Mean and sd (ddof 1) of the finite values, as driftd's fit takes
    them: None for a column that does not vary (or overflows)."""
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return None
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mean = v.sum() / len(v)
        sd = np.sqrt(((v - mean) ** 2).sum() / (len(v) - 1))
    return (mean, sd) if np.isfinite(mean) and np.isfinite(sd) and sd > 0 else None


def multivariate_stats(train, serving, features):
    """The multivariate test (README: reconstruction_error) with sklearn's
    PCA: standardized features, a missing value 0, as few components as
    hold 65% of the variance and fewer than the columns; each row's error
    the norm of what the components do not rebuild. None when driftd fits
    no model."""
    cols, scales = [], []
    for col in features:
        s = column_scale(train[col].to_numpy(float))
        if s is not None:
            cols.append(col)
            scales.append(s)
    d, n_train = len(cols), len(train)
    if d < 2 or d > 64 or n_train < 100 * d or any(c not in serving for c in cols):
        return None

    def standardized(df):
        z = np.column_stack([(df[c].to_numpy(float) - m) / s for c, (m, s) in zip(cols, scales)])
        z[~np.isfinite(z)] = 0.0
        return z

    zb, zc = standardized(train), standardized(serving)
    share = np.cumsum(PCA(svd_solver="full").fit(zb).explained_variance_ratio_)
    k = min(int(np.searchsorted(share, 0.65 * share[-1] - 1e-12)) + 1, d - 1)
    pca = PCA(n_components=k, svd_solver="full").fit(zb)

    def errors(z):
        return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)

    eb, ec = errors(zb), errors(zc)
    cap = np.sort(eb)[255 * (n_train - 1) // 256]
    cb, cc = np.minimum(eb, cap), np.minimum(ec, cap)
    mean_b, var_b = cb.mean(), cb.var()
    n = len(ec)
    z = (cc.mean() - mean_b) / np.sqrt(var_b * (1 / n + 1 / n_train))
    return {"reconstruction_error": float(ec.mean()),
            "reconstruction_error_change": float((cc.mean() - mean_b) / np.sqrt(var_b)),
            "reconstruction_p_value": float(2 * stats.norm.sf(abs(z)))}


def expected(train, serving, categorical, roles):
    out = {"rows": len(serving), "features": {}}
    for col in train.columns:
        if col in (roles.get("id"), roles.get("timestamp")):
            continue
        if col in categorical:
            st = categorical_stats(list(train[col]), list(serving[col]) if col in serving else [])
        else:
            st = numeric_stats(train[col].to_numpy(float),
                               serving[col].to_numpy(float) if col in serving else np.array([]))
        n = len(serving)
        miss = int(serving[col].isna().sum()) if col in serving else n
        st["missing_rate"] = miss / n
        st["baseline_missing_rate"] = int(train[col].isna().sum()) / len(train)
        out["features"][col] = st
    features = [c for c in train.columns if c not in categorical and c not in roles.values()]
    mv = multivariate_stats(train, serving, features)
    if mv is not None:
        out["features"]["_multivariate"] = mv
    pred, label = roles.get("prediction"), roles.get("label")
    if pred and label:
        task = "classification" if set(train[label].dropna().unique()) == {0, 1} else "regression"
        out["performance"] = {
            "task": task,
            "current": performance(serving[pred].to_numpy(float), serving[label].to_numpy(float), task),
            "baseline": performance(train[pred].to_numpy(float), train[label].to_numpy(float), task),
        }
    return out


def cases(rng):
    """(name, train DataFrame, serving DataFrame, categorical columns, roles)."""
    n, m = 2000, 1500
    yield ("normal_shift",
           pd.DataFrame({"x": rng.normal(0, 1, n), "y": rng.exponential(2, n)}),
           pd.DataFrame({"x": rng.normal(0.3, 1.2, m), "y": rng.exponential(2, m)}), [], {})
    yield ("ties",
           pd.DataFrame({"k": rng.integers(0, 6, n).astype(float), "r": np.round(rng.normal(0, 1, n), 1)}),
           pd.DataFrame({"k": rng.integers(0, 7, m).astype(float), "r": np.round(rng.normal(0, 1, m), 1)}),
           [], {})
    yield ("tiny",
           pd.DataFrame({"x": [1.0, 2.0, 3.0]}), pd.DataFrame({"x": [2.5, 7.0]}), [], {})
    yield ("constant",
           pd.DataFrame({"c": np.full(50, 4.0), "v": rng.normal(0, 1, 50)}),
           pd.DataFrame({"c": np.full(40, 4.0), "v": np.full(40, 1.5)}), [], {})
    b_missing = rng.normal(0, 1, 300)
    b_missing[rng.random(300) < 0.2] = np.nan
    yield ("missing",
           pd.DataFrame({"a": b_missing, "gone": rng.normal(0, 1, 300)}),
           pd.DataFrame({"a": rng.normal(0, 1, 200), "gone": np.full(200, np.nan)}), [], {})
    cats = np.array(["DE", "FR", "US", "IT", "ES"])
    yield ("categorical",
           pd.DataFrame({"country": rng.choice(cats, n, p=[.4, .3, .15, .1, .05]),
                         "one": np.full(n, "x"), "num": rng.normal(0, 1, n)}),
           pd.DataFrame({"country": rng.choice(np.append(cats, ["BR", "JP"]), m,
                                               p=[.3, .3, .2, .1, .0, .05, .05]),
                         "one": np.full(m, "x"), "num": rng.normal(0, 1, m)}),
           ["country", "one"], {})
    s_train = rng.random(n)
    s_serv = np.clip(rng.random(m) * 1.1, 0, 1)
    yield ("classification",
           pd.DataFrame({"f": rng.normal(0, 1, n), "score": s_train,
                         "label": (rng.random(n) < s_train).astype(int)}),
           pd.DataFrame({"f": rng.normal(0.1, 1, m), "score": s_serv,
                         "label": (rng.random(m) < s_serv * 0.8).astype(int)}),
           [], {"prediction": "score", "label": "label"})
    t_train = rng.normal(10, 3, n)
    t_serv = rng.normal(11, 3, m)
    yield ("regression",
           pd.DataFrame({"f": rng.normal(0, 1, n), "pred": t_train + rng.normal(0, 1, n), "target": t_train}),
           pd.DataFrame({"f": rng.normal(0, 1, m), "pred": t_serv + rng.normal(0.5, 1.5, m), "target": t_serv}),
           [], {"prediction": "pred", "label": "target"})
    big_b, big_c = 20000, 15000
    yield ("large",
           pd.DataFrame({"same": rng.normal(0, 1, big_b), "slight": rng.normal(0, 1, big_b),
                         "strong": rng.normal(0, 1, big_b)}),
           pd.DataFrame({"same": rng.normal(0, 1, big_c), "slight": rng.normal(0.02, 1, big_c),
                         "strong": rng.normal(0.5, 1, big_c)}), [], {})
    # Three features, two of them correlated, with missing values; the
    # serving rows flip the correlation (the multivariate test's case).
    u = rng.normal(0, 1, n)
    corr_b = pd.DataFrame({"u": u, "w": 0.8 * u + 0.6 * rng.normal(0, 1, n),
                           "e": rng.exponential(1, n)})
    corr_b.loc[rng.random(n) < 0.05, "w"] = np.nan
    v = rng.normal(0, 1, m)
    yield ("correlated", corr_b,
           pd.DataFrame({"u": v, "w": -0.8 * v + 0.6 * rng.normal(0, 1, m),
                         "e": rng.exponential(1, m)}), [], {})
    yield ("huge_values",
           pd.DataFrame({"h": rng.normal(0, 1, 500) * 1e300, "t": rng.normal(0, 1, 500) * 1e-300}),
           pd.DataFrame({"h": rng.normal(0.1, 1, 400) * 1e300, "t": rng.normal(0, 2, 400) * 1e-300}),
           [], {})


def main():
    out_dir = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 20261125
    rng = np.random.default_rng(seed)
    for name, train, serving, categorical, roles in cases(rng):
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        # repr() of a float is its shortest round-trip form: driftd reads the
        # exact same doubles.
        train.to_csv(os.path.join(d, "train.csv"), index=False, float_format=lambda v: repr(v))
        serving.to_csv(os.path.join(d, "serving.csv"), index=False, float_format=lambda v: repr(v))
        train_r = read(os.path.join(d, "train.csv"), categorical)
        serving_r = read(os.path.join(d, "serving.csv"), categorical)
        args = []
        if categorical:
            args += ["--categorical", ",".join(categorical)]
        for role in ("prediction", "label", "id", "timestamp"):
            if role in roles:
                args += ["--" + role, roles[role]]
        case = {"build_args": args, "expected": expected(train_r, serving_r, categorical, roles)}
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(case, f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
