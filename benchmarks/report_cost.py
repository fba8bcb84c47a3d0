#!/usr/bin/python3
"""What the HTML report adds to `driftd check`: the same check on the same
files, `--format json` and `--format html --out FILE`, run alternately.

    /usr/bin/python3 benchmarks/report_cost.py build/release/driftd [--rows 1000000]
        [--features 20] [--runs 7] [--dir /tmp/driftd-bench] [--max-ratio 1.05]

The data is benchmarks/check_vs_numpy.py's (1M serving rows x 20 columns
against a 200k-row baseline), with every fifth column categorical so the
report's category bars are drawn too. Each side's
time is the median of its runs, taken in turns, so a noisy neighbour slows
both alike. With --max-ratio the script exits 1 when html / json is above
it (issue 18's target: at most 5% more).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_vs_numpy import make_data  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driftd")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--dir", default="/tmp/driftd-bench")
    ap.add_argument("--max-ratio", type=float, default=0.0)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    train = os.path.join(a.dir, f"report_train_{a.baseline_rows}x{a.features}.csv")
    serving = os.path.join(a.dir, f"report_serving_{a.rows}x{a.features}.csv")
    if not os.path.exists(train):
        make_data(train, a.baseline_rows, a.features, 0, 1, categorical_every=5)
    if not os.path.exists(serving):
        make_data(serving, a.rows, a.features, 1, 2, categorical_every=5)
    categorical = ",".join(f"f{j}" for j in range(a.features) if j % 5 == 4)
    baseline = os.path.join(a.dir, "report_baseline.json")
    subprocess.run([a.driftd, "baseline", "build", "--input", train, "--out", baseline,
                    "--categorical", categorical], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    page = os.path.join(a.dir, "report.html")
    for p in (train, serving):
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass
    base = [a.driftd, "check", "--baseline", baseline, "--input", serving]
    sides = {"json": base + ["--format", "json", "--out", os.path.join(a.dir, "report.json")],
             "html": base + ["--format", "html", "--out", page]}
    times = {k: [] for k in sides}
    for _ in range(a.runs):
        for name, cmd in sides.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t0)
    j, h = statistics.median(times["json"]), statistics.median(times["html"])
    print(f"data: {a.baseline_rows} baseline + {a.rows} serving rows x {a.features} columns "
          f"({categorical.count(',') + 1} categorical)")
    print(f"check --format json : {j:7.3f} s  (median of {a.runs})")
    print(f"check --format html : {h:7.3f} s  (median of {a.runs}; page {os.path.getsize(page) / 1e3:.0f} kB)")
    print(f"ratio html / json   : {h / j:7.3f}")
    if a.max_ratio and h / j > a.max_ratio:
        print(f"FAIL: the HTML report costs {100 * (h / j - 1):.1f}% over json "
              f"(limit {100 * (a.max_ratio - 1):.0f}%)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
