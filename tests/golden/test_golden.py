#!/usr/bin/python3
"""Byte-for-byte guards of driftd's outputs, for changes that must not
change behaviour (refactors, moves, speed work).

    test_golden.py DRIFTD_BINARY REPO_ROOT [--update]

- The windows log of a fixed event stream (numeric columns with ties,
  missing values and type errors; a categorical column gaining new
  categories; events out of order, some past the allowed lateness; delayed
  labels; a second reference baseline), in sliding time windows, equals
  tests/golden/windows.jsonl byte for byte.
- `driftd check --format json` on every reference case of tests/data/reference
  equals tests/golden/check/<case>.json byte for byte.

Both run on the scalar kernels (DRIFTD_SIMD_TARGET=scalar): the SIMD targets
sum in other orders, so their last bits differ by CPU; each SIMD kernel is
held to its scalar reference by the unit tests. --update rewrites the golden
files; do it only for a change meant to change the output, and say why in
its commit.
"""
import difflib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

DRIFTD = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])
UPDATE = "--update" in sys.argv[3:]
GOLDEN = os.path.join(ROOT, "tests", "golden")
ENV = dict(os.environ, DRIFTD_SIMD_TARGET="scalar")
T0 = 1764115200000  # 2025-11-26T00:00:00Z
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += not cond


def write_stream(path, n=6000):
    """The fixed stream. Only Random.random() is used: its sequence for a
    seed is stable across Python versions (choice() and friends are not)."""
    rng = random.Random(20261202)
    countries = ["DE", "FR", "US", "IT", "ES"]
    labels = []  # (time, event)
    with open(path, "w") as f:
        for i in range(n):
            drift = i / n
            ts = T0 + i * 300  # 30 minutes in all
            if rng.random() < 0.01:
                ts -= 40000 if rng.random() < 0.5 else 5000  # past / within allowed_lateness
            features = {
                "amount": round(rng.random() * (40 + 40 * drift), 1),  # ties
                "age": float(int(18 + rng.random() * 60)),
                "tenure_days": round(-300 * (1 - drift / 2) * math.log(1 - rng.random() * 0.999),
                                     1),
                "device": ["ios", "android", "web"][int(rng.random() * 3)],
            }
            pool = countries + (["BR"] if drift > 0.4 else []) + (["XX", "YY"] if drift > 0.8 else [])
            features["country"] = pool[int(rng.random() * len(pool))]
            u = rng.random()
            if u < 0.03:
                features["age"] = None  # missing
            elif u < 0.05:
                del features["tenure_days"]  # absent
            elif u < 0.06:
                features["amount"] = "n/a"  # a type error
            score = round(min(1.0, max(0.0, 0.2 + 0.3 * drift + (rng.random() - 0.5) * 0.3)), 4)
            event = {"model": "fraud", "model_version": "3", "id": f"g-{i}", "ts": ts,
                     "features": features, "prediction": score}
            f.write(json.dumps(event, separators=(",", ":")) + "\n")
            if rng.random() < 0.7:
                y = 1 if rng.random() < score else 0
                labels.append((ts + 60000, {"model": "fraud", "id": f"g-{i}", "label": y,
                                            "ts": ts + 60000}))
            while labels and labels[0][0] <= ts:
                f.write(json.dumps(labels.pop(0)[1], separators=(",", ":")) + "\n")
        for _, event in labels:
            f.write(json.dumps(event, separators=(",", ":")) + "\n")


def build_baseline(src, out):
    subprocess.run([DRIFTD, "baseline", "build", "--input", src, "--out", out, "--categorical",
                    "country,device", "--prediction", "score", "--label", "label", "--id",
                    "request_id", "--model", "fraud", "--model-version", "3"],
                   check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def compare(actual, golden_path, what):
    if UPDATE:
        os.makedirs(os.path.dirname(golden_path), exist_ok=True)
        with open(golden_path, "wb") as f:
            f.write(actual)
        print(f"updated {os.path.relpath(golden_path, ROOT)}")
        return
    with open(golden_path, "rb") as f:
        expected = f.read()
    same = actual == expected
    check(same, f"{what} equals {os.path.relpath(golden_path, ROOT)} byte for byte "
                f"({len(actual)} bytes)")
    if not same:
        diff = difflib.unified_diff(expected.decode().replace(",", ",\n").splitlines(),
                                    actual.decode().replace(",", ",\n").splitlines(),
                                    "golden", "now", n=1, lineterm="")
        print("\n".join(list(diff)[:40]))


def test_windows_log(work):
    build_baseline(os.path.join(ROOT, "data", "demo", "train.csv"),
                   os.path.join(work, "baseline.json"))
    build_baseline(os.path.join(ROOT, "data", "demo", "serving.csv"),
                   os.path.join(work, "week.json"))
    write_stream(os.path.join(work, "events.jsonl"))
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write("""[server]
listen = "127.0.0.1:0"

[state]
dir = "state"

[[sources]]
name = "events"
type = "file"
path = "events.jsonl"

[[models]]
name = "fraud"
version = "3"
baseline = "baseline.json"
reference = "week.json"
reference_name = "last_week"
[models.window]
type = "time"
size = "5m"
step = "1m"
allowed_lateness = "10s"
[models.labels]
ttl = "10m"
threshold = 0.4
""")
    r = subprocess.run([DRIFTD, "run", "--config", os.path.join(work, "driftd.toml"),
                        "--exit-when-done"], cwd=work, env=ENV, capture_output=True, text=True,
                       timeout=300)
    check(r.returncode == 0, f"the daemon reads the stream to its end ({r.stderr[-300:]})")
    with open(os.path.join(work, "state", "windows.jsonl"), "rb") as f:
        log = f.read()
    windows = [json.loads(line) for line in log.splitlines()]
    rows = sum(w["rows"] for w in windows)
    check(len(windows) >= 30 and
          any((w["features"]["country"].get("new_category_rate") or 0) > 0 for w in windows)
          and any((w["performance"].get("current") or {}).get("rows", 0) > 0 for w in windows)
          and all("reference" in w for w in windows if w["rows"] > 0),
          f"the stream exercises what it is for ({len(windows)} windows, {rows} rows in them: "
          f"new categories, labels joined, the second reference)")
    compare(log, os.path.join(GOLDEN, "windows.jsonl"), "the windows log")


def test_check_reports(work):
    cases_dir = os.path.join(ROOT, "tests", "data", "reference")
    for name in sorted(os.listdir(cases_dir)):
        d = os.path.join(cases_dir, name)
        with open(os.path.join(d, "case.json")) as f:
            case = json.load(f)
        base = os.path.join(work, f"{name}.json")
        subprocess.run([DRIFTD, "baseline", "build", "--input", os.path.join(d, "train.csv"),
                        "--out", base, *case["build_args"]], check=True, env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run([DRIFTD, "check", "--baseline", base, "--input",
                              os.path.join(d, "serving.csv"), "--format", "json"], env=ENV,
                             check=True, capture_output=True).stdout
        compare(out, os.path.join(GOLDEN, "check", f"{name}.json"), f"check on {name}")


def main():
    work = tempfile.mkdtemp(prefix="driftd-golden-")
    try:
        test_windows_log(work)
        test_check_reports(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{failures} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
