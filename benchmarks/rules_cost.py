#!/usr/bin/python3
"""What alert rules cost the daemon: the same 1M events on 10 models, with
no rules and with 100 (every model runs all of them), alternated.

    /usr/bin/python3 benchmarks/rules_cost.py BUILD [--rounds 8] [--events 1000000]

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
import filecmp
import os
import resource
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_vs_simdjson import make  # noqa: E402

MODELS = 10


def rules_toml():
    """100 rules: a spread of per-feature and per-model conditions."""
    out = []
    per_feature = ["psi > {t}", "ks_p_value < {t} / 10 and rows >= 500", "jensen_shannon > {t}",
                   "wasserstein > {t} * 3", "missing_rate > baseline_missing_rate + {t}"]
    per_model = ["drift_share >= {t}", "any feature: psi > {t}", "count(feature: psi > {t}) >= 2",
                 "features_drifted > {t} * 10", "all feature: psi < {t}"]
    # Thresholds of real rules (0.2 and up for PSI): on this stable stream
    # few fire, as in production, where most windows raise nothing.
    for i in range(50):
        t = round(float(os.environ.get("T0", "0.2")) + 0.01 * (i // 5), 3)
        out.append(f'[[rules]]\nname = "f{i}"\ncondition = "{per_feature[i % 5].format(t=t)}"\n'
                   f'annotations.summary = "{{{{feature}}}} {{{{value}}}}"\n')
        out.append(f'[[rules]]\nname = "m{i}"\ncondition = "{per_model[i % 5].format(t=t)}"\n')
    return "\n".join(out)


def write_config(dirname, name, with_rules):
    models = "".join(f"""
[[models]]
name = "bench{m}"
version = "1"
baseline = "baseline{m}.json"
[models.window]
type = "count"
size = 10000
""" for m in range(MODELS))
    with open(os.path.join(dirname, name), "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:0"
log_level = "warn"
[state]
dir = "state"
[[sources]]
name = "events"
type = "file"
path = "events10.jsonl"
{models}
{rules_toml() if with_rules else ""}
""")


def run(driftd, work, config):
    shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([driftd, "run", "--config", os.path.join(work, config), "--exit-when-done"],
                   check=True, cwd=work, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.path.join(work, "state", "windows.jsonl"), "rb") as f:
        windows = f.read()
    alerts_path = os.path.join(work, "state", "alerts.jsonl")
    alerts = sum(1 for _ in open(alerts_path)) if os.path.exists(alerts_path) else 0
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), windows, alerts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--dir", default="/tmp/driftd-rules-bench")
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
    write_config(args.dir, "rules.toml", True)
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
    print(f"{args.events} events, {MODELS} models, {args.rounds} rounds (median CPU seconds)")
    print(f"  no rules:  {none:.3f} s  ({args.events / none / 1e6:.2f} M events per CPU s)")
    print(f"  100 rules: {rules:.3f} s  ({args.events / rules / 1e6:.2f} M events per CPU s), "
          f"{alerts} alert changes")
    print(f"  with rules / without: {rules / none:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
