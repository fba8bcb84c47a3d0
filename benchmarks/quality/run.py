#!/usr/bin/python3
"""How good driftd's drift verdicts are, on labelled streams anyone can
regenerate, beside the peers' default rules on the same windows.

    benchmarks/quality/run.py DRIFTD [--sizes 1000,10000] [--json OUT]
                              [--stable-windows 1000] [--reps 5] [--quick]

Streams (benchmarks/quality/scenarios.py): for each population, a stable
stream (every window drawn from the baseline's population) and, on the
synthetic population, one stream per change of known size starting at a
known window. driftd runs as a daemon (`driftd run --exit-when-done`) on
each stream, piped to it as CSV events, in count windows of SIZE events;
its verdicts are read from the windows log. The peers (peers.py, labelled
re-implementations with scipy) judge the same windows.

Scores:
- stable: false alarms per 1,000 windows, an alarm being a window in which
  any feature is flagged (per model: what pages someone);
- changes: the detection delay, in windows after the change's first window
  (0: flagged in it), of the changed feature being flagged, median over
  the repetitions, and the misses (not flagged within --post-windows).

The table printed last is the one the README shows. Targets (issue 19):
at most 1 false alarm per 1,000 windows; every change within 1 window at
10k and within 5 at 1k; the ramp before it reaches 0.2 sigma.
"""
import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
import scenarios  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1767225600000  # 2026-01-01T00:00:00Z: event times (count windows ignore them)


def ensure_flights():
    path = scenarios.find_flights()
    if not os.path.exists(path):
        os.makedirs(os.path.join(HERE, ".data"), exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", os.path.join(HERE, ".data"), "--no-save",
                        "--no-audit", "--no-fund", "vega-datasets@3.2.1"], check=True,
                       stdout=subprocess.DEVNULL)
    return path


class Driftd:
    def __init__(self, binary, work, rules):
        self.binary = os.path.abspath(binary)
        self.work = work
        self.rules = rules  # extra [models.drift] TOML lines, or ""

    def baseline(self, population, rows):
        csv = os.path.join(self.work, f"{population.name}-train.csv")
        rows.to_csv(csv, index=False, float_format="%.6g")
        out = os.path.join(self.work, f"{population.name}-baseline.json")
        subprocess.run([self.binary, "baseline", "build", "--input", csv, "--out", out,
                        "--model", population.name, "--model-version", "1",
                        "--categorical", ",".join(population.categorical)],
                       check=True, stdout=subprocess.DEVNULL)
        os.remove(csv)
        return out

    def run(self, population, baseline, size, windows):
        """Feeds the windows (DataFrames of `size` rows) and returns, per
        window in order, the parsed windows-log line."""
        state = tempfile.mkdtemp(dir=self.work)
        config = os.path.join(state, "driftd.toml")
        with open(config, "w") as f:
            f.write(f"""
[server]
listen = "127.0.0.1:0"
log_level = "warn"
[state]
dir = "{state}"
checkpoint_interval = "1h"
[[sources]]
name = "stream"
type = "file"
path = "-"
format = "csv"
close_windows_at_end = true
[[models]]
name = "{population.name}"
version = "1"
baseline = "{baseline}"
[models.window]
type = "count"
size = {size}
step = {size}
[models.drift]
{self.rules}
""")
        proc = subprocess.Popen([self.binary, "run", "--config", config, "--exit-when-done"],
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        columns = population.numeric + population.categorical
        proc.stdin.write(("model,ts," + ",".join(columns) + "\n").encode())
        ts = T0
        for w in windows:
            w = w[columns].copy()
            w.insert(0, "ts", np.arange(ts, ts + len(w)))
            w.insert(0, "model", population.name)
            ts += len(w)
            buf = io.StringIO()
            w.to_csv(buf, header=False, index=False, float_format="%.6g")
            proc.stdin.write(buf.getvalue().encode())
        proc.stdin.close()
        err = proc.stderr.read().decode()
        if proc.wait() != 0:
            raise RuntimeError(f"driftd run failed: {err[-2000:]}")
        out = []
        with open(os.path.join(state, "windows.jsonl")) as f:
            for line in f:
                out.append(json.loads(line))
        shutil.rmtree(state)
        out.sort(key=lambda w: w["window"]["start"])
        return out


def flagged(window_line, feature):
    f = window_line["features"].get(feature)
    return bool(f and f.get("drift"))


def any_flagged(window_line):
    return any(f.get("drift") for f in window_line["features"].values())


def stable(driftd, population, baseline_rows, size, n_windows, peer_windows, seed):
    rng = np.random.default_rng(seed)
    judges = [peers.Evidently(baseline_rows, population.numeric, population.categorical),
              peers.NannyML(baseline_rows, population.numeric, population.categorical)]
    peer_alarms = {j.name: 0 for j in judges}

    def windows():
        for i in range(n_windows):
            w = population.sample(rng, size)
            if i < peer_windows:
                for j in judges:
                    peer_alarms[j.name] += any(j.column_drift(w).values())
            yield w

    lines = driftd.run(population, driftd.baseline_path[population.name], size, windows())
    assert len(lines) == n_windows, (len(lines), n_windows)
    alarms = sum(any_flagged(w) for w in lines)
    per_feature, per_test = {}, {}
    for w in lines:
        for name, f in w["features"].items():
            per_feature[name] = per_feature.get(name, 0) + bool(f.get("drift"))
            for reason in f.get("drift_reasons", []):
                key = f"{name}.{reason['test']}"
                per_test[key] = per_test.get(key, 0) + 1
    return {
        "driftd": {"windows": n_windows, "alarms": alarms,
                   "per_1000": 1000.0 * alarms / n_windows, "per_feature": per_feature,
                   "per_test": per_test},
        **{name: {"windows": peer_windows, "alarms": a, "per_1000": 1000.0 * a / peer_windows}
           for name, a in peer_alarms.items()},
    }


def changed(driftd, population, baseline_rows, change, size, reps, pre, post, seed):
    judges = [peers.Evidently(baseline_rows, population.numeric, population.categorical),
              peers.NannyML(baseline_rows, population.numeric, population.categorical)]
    features = change.feature.split("+")
    delays = {"driftd": [], **{j.name: [] for j in judges}}
    for r in range(reps):
        rng = np.random.default_rng(seed + r)
        peer_first = {j.name: None for j in judges}

        def windows():
            for i in range(pre + post):
                w = population.sample(rng, size, change, change.progress(i - pre))
                if i >= pre:
                    for j in judges:
                        if peer_first[j.name] is None:
                            drift = j.column_drift(w)
                            if any(drift.get(f, False) for f in features):
                                peer_first[j.name] = i - pre
                yield w

        lines = driftd.run(population, driftd.baseline_path[population.name], size, windows())
        first = None
        for i, w in enumerate(lines[pre:]):
            if any(flagged(w, f) for f in features) or flagged(w, "_multivariate"):
                first = i
                break
        delays["driftd"].append(first)
        for name, d in peer_first.items():
            delays[name].append(d)
    return {name: summarize_delays(d, post) for name, d in delays.items()}


def summarize_delays(delays, post):
    hits = sorted(d for d in delays if d is not None)
    return {"delays": delays, "misses": len(delays) - len(hits), "post_windows": post,
            "median": hits[len(hits) // 2] if hits else None}


def cell(result, kind):
    if kind == "stable":
        return f"{result['per_1000']:.0f} / 1000 ({result['alarms']} of {result['windows']})"
    if result["median"] is None:
        return f"missed ({result['misses']} of {len(result['delays'])})"
    misses = f", {result['misses']} missed" if result["misses"] else ""
    return f"{result['median']} windows{misses}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("driftd")
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--stable-windows", type=int, default=1000)
    ap.add_argument("--peer-windows", type=int, default=200,
                    help="stable windows the peers judge (their rates are far from 0)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--pre", type=int, default=5, help="stable windows before a change")
    ap.add_argument("--post", type=int, default=20, help="windows a change is given")
    ap.add_argument("--rules", default="", help="[models.drift] TOML lines for driftd")
    ap.add_argument("--only", default="", help="comma-separated stream names to run")
    ap.add_argument("--quick", action="store_true", help="1k only, 100 stable windows, 1 rep")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.stable_windows, args.peer_windows, args.reps = "1000", 100, 50, 1
    sizes = [int(s) for s in args.sizes.split(",")]
    only = set(filter(None, args.only.split(",")))

    work = tempfile.mkdtemp(prefix="driftd-quality-")
    driftd = Driftd(args.driftd, work, args.rules.replace("\\n", "\n"))
    populations = [scenarios.Synthetic(), scenarios.Flights(ensure_flights())]
    driftd.baseline_path, baseline_rows = {}, {}
    rng = np.random.default_rng(1)
    for p in populations:
        rows = p.sample(rng, scenarios.BASELINE_ROWS)
        baseline_rows[p.name] = rows
        driftd.baseline_path[p.name] = driftd.baseline(p, rows)

    results = []
    started = time.time()
    for size in sizes:
        for p in populations:
            name = f"stable {p.name}"
            if only and name not in only:
                continue
            r = stable(driftd, p, baseline_rows[p.name], size, args.stable_windows,
                       args.peer_windows, seed=1000 + size)
            results.append({"stream": name, "size": size, "kind": "stable", "results": r})
            print(f"{name} @ {size}: {json.dumps({k: v['per_1000'] for k, v in r.items()})}",
                  file=sys.stderr)
        for c in scenarios.CHANGES:
            if only and c.name not in only:
                continue
            post = max(args.post, c.ramp_windows + 10) if c.ramp_windows else args.post
            r = changed(driftd, populations[0], baseline_rows["synthetic"], c, size, args.reps,
                        args.pre, post, seed=2000 + size)
            results.append({"stream": c.name, "what": c.what, "size": size, "kind": "change",
                            "results": r})
            print(f"{c.name} @ {size}: "
                  f"{json.dumps({k: v['delays'] for k, v in r.items()})}", file=sys.stderr)
    shutil.rmtree(work)

    judges = ["driftd", "Evidently default", "NannyML default"]
    print(f"\nQuality on labelled streams ({time.time() - started:.0f} s; "
          f"{args.stable_windows} stable windows for driftd, {args.peer_windows} for the peers; "
          f"{args.reps} repetitions of each change)\n")
    print("| stream | events/window | " + " | ".join(judges) + " |")
    print("|---|---:|" + "---|" * len(judges))
    for r in results:
        print(f"| {r['stream']} | {r['size']:,} | " +
              " | ".join(cell(r["results"][j], r["kind"]) for j in judges) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
