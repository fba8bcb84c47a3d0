#!/usr/bin/python3
"""Two builds of driftd on the daemon benchmark's file run, alternated.

    /usr/bin/python3 benchmarks/daemon_ab.py BUILD_A BUILD_B [--rounds 12] [--events 1000000]

The same 1M events and config as daemon_vs_simdjson.py (its data, made once
in --dir); each round runs A then B (the order flips every round), and the
CPU seconds of each run (user + sys, start-up and the final checkpoint
included) are kept. Printed: best, first quartile and median per build, the
B/A ratio of each, and how many rounds B won. Both builds' windows logs
must be byte-identical, else it exits 1: a speed change must not be a
behaviour change. This host's speed drifts by 10-30% between minutes, so
compare builds this way, not by two separate runs.
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


def run(driftd, work):
    shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([driftd, "run", "--config", os.path.join(work, "driftd.toml"),
                    "--exit-when-done"], check=True, cwd=work)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--dir", default="/tmp/driftd-daemon-bench")
    args = ap.parse_args()
    builds = [os.path.abspath(os.path.join(d, "driftd")) for d in (args.a, args.b)]
    os.makedirs(args.dir, exist_ok=True)
    events = os.path.join(args.dir, "events.jsonl")
    if not os.path.exists(events) or sum(1 for _ in open(events)) != args.events:
        make(args.dir, args.events)
    subprocess.run([builds[0], "baseline", "build", "--input", os.path.join(args.dir, "train.csv"),
                    "--out", os.path.join(args.dir, "baseline.json"), "--model", "bench",
                    "--model-version", "1", "--categorical", "country,device,plan"], check=True,
                   stderr=subprocess.DEVNULL)
    write_config(args.dir)
    cpu = [[], []]
    logs = []
    for k in range(args.rounds):
        for i in ((0, 1) if k % 2 == 0 else (1, 0)):
            cpu[i].append(run(builds[i], args.dir))
            if k == 0:
                kept = os.path.join(args.dir, f"windows-{i}.jsonl")
                shutil.copy(os.path.join(args.dir, "state", "windows.jsonl"), kept)
                logs.append(kept)
    same = filecmp.cmp(*sorted(logs), shallow=False)

    def q1(xs):
        return sorted(xs)[len(xs) // 4]
    for name, f in (("best", min), ("q1", q1), ("median", statistics.median)):
        a, b = f(cpu[0]), f(cpu[1])
        print(f"{name:6}  A {a:.3f} s  B {b:.3f} s  B/A {b / a:.3f}  "
              f"({args.events / a / 1e6:.2f} -> {args.events / b / 1e6:.2f} M events/s per core)")
    wins = sum(1 for x, y in zip(cpu[0], cpu[1]) if y < x)
    print(f"B faster in {wins} of {args.rounds} rounds; windows logs "
          f"{'byte-identical' if same else 'DIFFER'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
