#!/usr/bin/python3
"""What alert rules cost the daemon: the same 1M events on 10 models, with
no rules and with 100 (every model runs all of them), alternated.

    /usr/bin/python3 benchmarks/rules_cost.py BUILD [--rounds 8] [--events 1000000] [--storm]

The daemon benchmark's events (daemon_vs_simdjson.py), dealt round-robin to
models bench0..bench9 (one baseline each, count windows of 10,000 events:
100 window closes in all). Each round runs the config without rules, then
the one with 100 rules (the order flips every round); the CPU seconds of
each run (user + sys, start-up and the final checkpoint included) are
kept. Printed: median CPU seconds and events per CPU second of each, the
ratio, the alert changes the rules made. Both runs' windows logs must be
byte-identical (rules change no statistic), else it exits 1.
"""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_vs_simdjson import make, write_config as write_config_for  # noqa: E402

MODELS = 10


def rules_toml(storm=False):
    """100 rules: a spread of per-feature and per-model conditions.

    Default: thresholds and `for` as production rules have them, so that on
    this stable stream few alerts change (most windows raise nothing).
    `storm`: every p-value rule without `for`, at thresholds the stream's
    noise crosses, so that alerts fire and resolve at most window closes
    (thousands of changes): the cost of each change, not of the rules."""
    out = []
    if storm:
        per_feature = ["psi > {t}", "ks_p_value < {t} / 10 and rows >= 500",
                       "jensen_shannon > {t}", "wasserstein > {t} * 3",
                       "missing_rate > baseline_missing_rate + {t}"]
    else:
        # A p-value alone flags the stream's small real shift (0.1 sigma)
        # at 10,000 rows: production rules pair it with an effect size.
        per_feature = ["psi > {t}", "ks_p_value < {t} / 200 and ks_statistic > {t} / 2",
                       "jensen_shannon > {t}", "wasserstein > {t} * 3",
                       "missing_rate > baseline_missing_rate + {t}"]
    per_model = ["drift_share >= {t}", "any feature: psi > {t}", "count(feature: psi > {t}) >= 2",
                 "features_drifted > {t} * 10", "all feature: psi < {t}"]
    for i in range(50):
        t = round(0.2 + 0.01 * (i // 5), 3)
        hold = "" if storm else "for = 2\n"
        out.append(f'[[rules]]\nname = "f{i}"\ncondition = "{per_feature[i % 5].format(t=t)}"\n'
                   f'{hold}annotations.summary = "{{{{feature}}}} {{{{value}}}}"\n')
        out.append(f'[[rules]]\nname = "m{i}"\ncondition = "{per_model[i % 5].format(t=t)}"\n')
    return "\n".join(out)


def write_config(dirname, name, with_rules, storm=False):
    write_config_for(dirname, name, events="events10.jsonl",
                     models=[f"bench{m}" for m in range(MODELS)], window_size=10000,
                     extra=rules_toml(storm) if with_rules else "")


def run(driftd, work, config, count_instructions=False):
    """One run: (CPU seconds, or instructions executed under callgrind;
    the windows log; alert changes)."""
    shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [driftd, "run", "--config", os.path.join(work, config), "--exit-when-done"]
    if count_instructions:
        # Valgrind runs no AVX-512: the AVX2 kernels, in both runs alike.
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                           check=True, cwd=work, capture_output=True, text=True,
                           env=dict(os.environ, DRIFTD_SIMD_TARGET="AVX2"))
        m = re.search(r"Collected : (\d+)", r.stderr)
        cost = int(m.group(1))
    else:
        subprocess.run(cmd, check=True, cwd=work, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cost = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(os.path.join(work, "state", "windows.jsonl"), "rb") as f:
        windows = f.read()
    alerts_path = os.path.join(work, "state", "alerts.jsonl")
    alerts = sum(1 for _ in open(alerts_path)) if os.path.exists(alerts_path) else 0
    return cost, windows, alerts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--dir", default="/tmp/driftd-rules-bench")
    ap.add_argument("--storm", action="store_true",
                    help="rules whose alerts change at most window closes (see rules_toml)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count the instructions of one run of each under callgrind "
                         "(no timing noise)")
    ap.add_argument("--max-ratio", type=float,
                    help="exit 1 when with rules / without is above this (the rounds' CPU ratio, and "
                         "instructions when counted)")
    args = ap.parse_args()
    driftd = os.path.abspath(os.path.join(args.build, "driftd"))
    os.makedirs(args.dir, exist_ok=True)
    events = os.path.join(args.dir, "events.jsonl")
    if not os.path.exists(events) or sum(1 for _ in open(events)) != args.events:
        make(args.dir, args.events)
    with open(events) as src, open(os.path.join(args.dir, "events10.jsonl"), "w") as out:
        for i, line in enumerate(src):
            out.write(line.replace('"model":"bench"', f'"model":"bench{i % MODELS}"', 1))
    for m in range(MODELS):
        subprocess.run([driftd, "baseline", "build", "--input", os.path.join(args.dir, "train.csv"),
                        "--out", os.path.join(args.dir, f"baseline{m}.json"), "--model",
                        f"bench{m}", "--model-version", "1", "--categorical", "country,device,plan"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    write_config(args.dir, "none.toml", False)
    write_config(args.dir, "rules.toml", True, args.storm)
    cpu = {"none.toml": [], "rules.toml": []}
    windows, alerts = {}, 0
    for k in range(args.rounds):
        for config in (("none.toml", "rules.toml") if k % 2 == 0 else ("rules.toml", "none.toml")):
            secs, log, n_alerts = run(driftd, args.dir, config)
            cpu[config].append(secs)
            windows[config] = log
            if config == "rules.toml":
                alerts = n_alerts
    if windows["none.toml"] != windows["rules.toml"]:
        print("FAIL: the windows logs differ with rules")
        return 1
    none, rules = statistics.median(cpu["none.toml"]), statistics.median(cpu["rules.toml"])
    # Each round's two runs are next to each other in time: their ratio
    # drifts less with the host's speed than the medians do.
    pairs = statistics.median(r / n for r, n in zip(cpu["rules.toml"], cpu["none.toml"]))
    label = "100 rules" + (" (storm)" if args.storm else "")
    print(f"{args.events} events, {MODELS} models, {args.rounds} rounds (median CPU seconds)")
    print(f"  no rules:  {none:.3f} s  ({args.events / none / 1e6:.2f} M events per CPU s)")
    print(f"  {label}: {rules:.3f} s  ({args.events / rules / 1e6:.2f} M events per CPU s), "
          f"{alerts} alert changes")
    print(f"  with rules / without: {rules / none:.3f} (medians), {pairs:.3f} (median of the "
          f"rounds' ratios)")
    worst = pairs
    if args.instructions:
        counted = {c: run(driftd, args.dir, c, count_instructions=True)[0]
                   for c in ("none.toml", "rules.toml")}
        ratio = counted["rules.toml"] / counted["none.toml"]
        print(f"  instructions (callgrind, AVX2): {counted['none.toml'] / 1e9:.3f} G without, "
              f"{counted['rules.toml'] / 1e9:.3f} G with: {ratio:.4f}")
        worst = max(worst, ratio)
    if args.max_ratio is not None and worst > args.max_ratio:
        print(f"FAIL: with rules / without is {worst:.3f}, above {args.max_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
