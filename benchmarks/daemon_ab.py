#!/usr/bin/python3
"""Two builds of driftd on the same work, alternated.

    /usr/bin/python3 benchmarks/daemon_ab.py BUILD_A BUILD_B [--rounds 12] [--events 1000000]
    /usr/bin/python3 benchmarks/daemon_ab.py BUILD_A BUILD_B --workload check [--rounds 12]

Workloads:
- daemon (the default): the same 1M events and config as
  daemon_vs_simdjson.py (its data, made once in --dir), `driftd run
  --exit-when-done`; both builds' windows logs must be byte-identical.
- check: check_vs_numpy.py's data (200,000 training rows and 1M serving
  rows x 20 columns, 5 of them categorical), `driftd baseline build` then
  `driftd check --format json`; both builds' baselines and reports must be
  byte-identical.
Each round runs A then B (the order flips every round), and the CPU
seconds of each run (user + sys of the child processes, start-up included)
are kept. Printed: best, first quartile and median per build, the B/A
ratio of each, and how many rounds B won; it exits 1 when the outputs
differ (a speed change must not be a behaviour change; --outputs-may-differ
for a change meant to change them) or, with
--max-ratio R, when the median B/A is above R. This host's speed drifts by
10-30% between minutes, so compare builds this way, not by two separate
runs.
"""
import argparse
import filecmp
import os
import resource
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_vs_simdjson import make, write_config  # noqa: E402


def cpu_of(commands, cwd, stdout=None):
    """CPU seconds (user + sys) of running the commands one after another."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for c in commands:
        subprocess.run(c, check=True, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


class DaemonWork:
    def __init__(self, builds, args):
        self.dir = args.dir
        self.units = args.events
        events = os.path.join(args.dir, "events.jsonl")
        if not os.path.exists(events) or sum(1 for _ in open(events)) != args.events:
            make(args.dir, args.events)
        write_config(args.dir)

    def build_baseline(self, driftd):
        # Each build's own baseline (untimed): two builds may write different
        # baseline format versions.
        subprocess.run([driftd, "baseline", "build", "--input",
                        os.path.join(self.dir, "train.csv"), "--out",
                        os.path.join(self.dir, "baseline.json"), "--model", "bench",
                        "--model-version", "1", "--categorical", "country,device,plan"],
                       check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    def run(self, driftd, i, keep):
        self.build_baseline(driftd)
        shutil.rmtree(os.path.join(self.dir, "state"), ignore_errors=True)
        cpu = cpu_of([[driftd, "run", "--config", os.path.join(self.dir, "driftd.toml"),
                       "--exit-when-done"]], self.dir)
        kept = []
        if keep:
            kept.append(os.path.join(self.dir, f"windows-{i}.jsonl"))
            shutil.copy(os.path.join(self.dir, "state", "windows.jsonl"), kept[0])
        return cpu, kept


class CheckWork:
    def __init__(self, builds, args):
        from check_vs_numpy import make_data
        self.dir = args.check_dir
        self.units = 1_000_000
        os.makedirs(self.dir, exist_ok=True)
        self.train = os.path.join(self.dir, "train_ab.csv")
        self.serving = os.path.join(self.dir, "serving_ab.csv")
        if not os.path.exists(self.train):
            make_data(self.train, 200_000, 20, 0, 1, categorical_every=4)
        if not os.path.exists(self.serving):
            make_data(self.serving, self.units, 20, 1, 2, categorical_every=4)

    def run(self, driftd, i, keep):
        # The same paths for both builds (the report names its baseline).
        baseline = os.path.join(self.dir, "baseline.json")
        report = os.path.join(self.dir, "report.json")
        os.environ["SOURCE_DATE_EPOCH"] = "1764115200"  # the same built_at for both
        cpu = cpu_of([[driftd, "baseline", "build", "--input", self.train, "--out", baseline,
                       "--sample-cap", "200001"],
                      [driftd, "check", "--baseline", baseline, "--input", self.serving,
                       "--format", "json", "--out", report]], self.dir)
        kept = []
        if keep:
            for path in (baseline, report):
                kept.append(path.replace(".json", f"-{i}.json"))
                shutil.copy(path, kept[-1])
        return cpu, kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--dir", default="/tmp/driftd-daemon-bench")
    ap.add_argument("--check-dir", default="/tmp/driftd-check-ab")
    ap.add_argument("--workload", choices=("daemon", "check"), default="daemon")
    ap.add_argument("--max-ratio", type=float, default=0.0,
                    help="exit 1 when the median B/A CPU ratio is above this (0: no limit)")
    ap.add_argument("--outputs-may-differ", action="store_true",
                    help="B changes what driftd reports (a new statistic, a new verdict): "
                         "compare the cost only")
    args = ap.parse_args()
    builds = [os.path.abspath(os.path.join(d, "driftd")) for d in (args.a, args.b)]
    os.makedirs(args.dir, exist_ok=True)
    work = (CheckWork if args.workload == "check" else DaemonWork)(builds, args)
    cpu = [[], []]
    outputs = [[], []]
    for k in range(args.rounds):
        for i in ((0, 1) if k % 2 == 0 else (1, 0)):
            t, kept = work.run(builds[i], i, keep=k == 0)
            cpu[i].append(t)
            outputs[i] += kept
    same = all(filecmp.cmp(a, b, shallow=False) for a, b in zip(*outputs))

    def q1(xs):
        return sorted(xs)[len(xs) // 4]
    for name, f in (("best", min), ("q1", q1), ("median", statistics.median)):
        a, b = f(cpu[0]), f(cpu[1])
        print(f"{name:6}  A {a:.3f} s  B {b:.3f} s  B/A {b / a:.3f}  "
              f"({work.units / a / 1e6:.2f} -> {work.units / b / 1e6:.2f} M "
              f"{'rows' if args.workload == 'check' else 'events'}/s per core)")
    wins = sum(1 for x, y in zip(cpu[0], cpu[1]) if y < x)
    ratio = statistics.median(cpu[1]) / statistics.median(cpu[0])
    print(f"B faster in {wins} of {args.rounds} rounds; outputs "
          f"{'byte-identical' if same else 'DIFFER'}")
    if not same and not args.outputs_may_differ:
        sys.exit(1)
    if args.max_ratio and ratio > args.max_ratio:
        print(f"median B/A {ratio:.3f} is above --max-ratio {args.max_ratio}")
        sys.exit(1)


if __name__ == "__main__":
    main()
