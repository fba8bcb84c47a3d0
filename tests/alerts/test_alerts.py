#!/usr/bin/python3
"""Alert rules end to end, on the demo's stream (stable for 15 minutes, then
gradual drift, then a sudden one from minute 35):
- the daemon judges its rules at each window close and writes each change
  to state/alerts.jsonl and its log; every firing agrees with the window's
  statistics in the windows log, and nothing fires while the stream is
  stable;
- `driftd rules replay` on that windows log finds the same changes;
- a restart fires nothing again; SIGKILLs at random moments lose no alert
  (each change of an uninterrupted run is there, a repeat is identical);
- `driftd rules check` prints the rules parsed; a bad rule is an error
  naming file, line, key and column; `rules test` exits 1 with a diff.

    test_alerts.py DRIFTD TRAIN_CSV ROOT
"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import daemon_common as dc  # noqa: E402
from daemon_common import check  # noqa: E402

ROOT = None
T0 = 1795341600000  # the demo stream's start (make_demo_stream.py)
MINUTE = 60000

RULES = """
[[rules]]
name = "feature_shift"
condition = "psi > 0.2"
resolve = "psi < 0.1"
min_rows = 500
labels = { team = "risk" }
annotations.summary = "{{feature}} PSI {{value}} (threshold {{threshold}})"

[[rules]]
name = "many_drifting"
condition = "count(feature: drift) >= 2"
for = 2
severity = "critical"
annotations.summary = "{{model}}@{{version}}: {{value}} features drift"
"""


def setup(work, rules=RULES, speed=0):
    dc.make_baseline(work)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "data/demo/make_demo_stream.py"),
                    os.path.join(work, "stream.jsonl")], check=True)
    path = dc.write_config(work, dc.free_port(),
                           f'name = "stream"\ntype = "file"\npath = "stream.jsonl"\n'
                           f'replay_speed = {speed}',
                           'type = "time"\nsize = "5m"')
    with open(path, "a") as f:
        f.write(rules)
    return path


def run_to_end(work):
    return subprocess.run([dc.DRIFTD, "run", "--config", "driftd.toml", "--exit-when-done"],
                          cwd=work, capture_output=True, text=True, timeout=300)


def read_alerts(work):
    p = os.path.join(work, "state", "alerts.jsonl")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_alerts_follow_the_windows(work):
    setup(work)
    r = run_to_end(work)
    check(r.returncode == 0, "the daemon runs the stream to its end" +
          ("" if r.returncode == 0 else f" ({r.stderr[-300:]})"))
    alerts = read_alerts(work)
    windows = {w["window"]["id"]: w for w in dc.read_windows(work)}
    fired = [a for a in alerts if a["state"] == "firing"]
    check(len(fired) >= 2, f"alerts fire on the drifting stream ({len(fired)} fired)")
    check(all(a["window"]["end"] > T0 + 15 * MINUTE for a in alerts),
          "nothing fires while the stream is stable (its first 15 minutes)")
    check(any(a["rule"] == "feature_shift" and a.get("feature") == "country" and
              a["window"]["start"] >= T0 + 35 * MINUTE for a in fired),
          "the new market (country) fires in the sudden-drift phase")
    agree = True
    for a in alerts:
        w = windows.get(a["window"]["id"])
        if w is None:
            agree = False
            continue
        if a["rule"] == "feature_shift":
            psi = w["features"][a["feature"]]["psi"]
            agree &= (psi > 0.2) if a["state"] == "firing" else (psi < 0.1)
            agree &= a["value"] == psi and a["threshold"] == 0.2
        else:
            drifting = sum(1 for f in w["features"].values() if f["role"] == "feature" and f["drift"])
            agree &= (drifting >= 2) == (a["state"] == "firing")
    check(agree, "every change agrees with its window's statistics in the windows log")
    a = next(x for x in fired if x["rule"] == "feature_shift")
    check(a["labels"] == {"alertname": "feature_shift", "model": "fraud", "model_version": "3",
                          "feature": a["feature"], "severity": "warning", "team": "risk"},
          f"labels: driftd's own and the rule's ({a['labels']})")
    check(a["annotations"]["summary"] == f"{a['feature']} PSI {a['value']:.6g} (threshold 0.2)",
          f"the summary template is rendered ({a['annotations']['summary']})")
    check(a["model"] == {"name": "fraud", "version": "3"} and a["window"]["kind"] == "time",
          "the notification names the model and the window")
    check(len({x["key"] for x in alerts}) == len(alerts), "each change has its own key")
    check("alert firing rule=feature_shift" in r.stderr, "the daemon logs each change")

    replay = subprocess.run([dc.DRIFTD, "rules", "replay", "--config", "driftd.toml", "--windows",
                             "state/windows.jsonl"], cwd=work, capture_output=True, text=True)
    check(replay.returncode == 0, f"rules replay runs ({replay.stderr.strip()})")
    lines = replay.stdout.splitlines()
    n_fired = sum(1 for x in alerts if x["state"] == "firing")
    n_resolved = len(alerts) - n_fired
    check(sum(1 for line in lines if "  firing  " in line) == n_fired and
          sum(1 for line in lines if "  resolved  " in line) == n_resolved,
          f"rules replay finds the daemon's changes ({n_fired} fired, {n_resolved} resolved)")
    check(lines and lines[-1].startswith(f"{len(windows)} windows judged: {n_fired} fired, "
                                         f"{n_resolved} resolved"),
          f"and sums them up ({lines[-1] if lines else ''})")

    before = read_alerts(work)
    r = run_to_end(work)
    check(r.returncode == 0 and read_alerts(work) == before,
          "a restart on the same state fires nothing again")


def test_kill9_loses_no_alert(work):
    setup(work)
    r = run_to_end(work)
    check(r.returncode == 0, "an uninterrupted run")
    expected = {a["key"]: a for a in read_alerts(work)}
    crash = os.path.join(work, "crash")
    os.makedirs(crash)
    setup(crash, speed=0)
    rng = random.Random(7)

    def start():
        return subprocess.Popen([dc.DRIFTD, "run", "--config", "driftd.toml", "--exit-when-done"],
                                cwd=crash, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    kills = dc.kill_repeatedly(start, lambda: run_to_end(crash), rng, (0.05, 0.4), 8)
    got = {}
    differ = 0
    for a in read_alerts(crash):
        if a["key"] in got and got[a["key"]] != a:
            differ += 1
        got[a["key"]] = a
    check(kills > 0, f"killed {kills} times")
    check(differ == 0, "an alert written again is identical")
    check(set(got) == set(expected) and all(got[k] == expected[k] for k in expected),
          f"the same alerts as an uninterrupted run ({len(got)} vs {len(expected)})")


def test_rules_cli(work):
    setup(work)
    r = subprocess.run([dc.DRIFTD, "rules", "check", "driftd.toml"], cwd=work,
                       capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.startswith("driftd.toml: ok (2 rules)\n"),
          f"rules check validates ({r.stdout[:60]!r} {r.stderr.strip()})")
    check("rule feature_shift (warning, one alert per feature)\n  condition: (psi > 0.2)\n"
          "  resolve:   (psi < 0.1)\n" in r.stdout and
          "rule many_drifting (critical, one alert per model)\n" in r.stdout and
          "  runs for:  fraud@3\n" in r.stdout,
          "and prints each rule parsed")
    with open(os.path.join(work, "driftd.toml")) as f:
        text = f.read()
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write(text.replace('condition = "psi > 0.2"', 'condition = "psi > 0.2 and rowz > 5"'))
    line = text[:text.index('condition = "psi > 0.2"')].count("\n") + 1
    for cmd in (["rules", "check", "driftd.toml"], ["config", "check", "driftd.toml"]):
        r = subprocess.run([dc.DRIFTD] + cmd, cwd=work, capture_output=True, text=True)
        check(r.returncode == 2 and
              r.stderr.startswith(f"driftd: error: driftd.toml:{line}: rules[0].condition: "
                                  "column 15: unknown ") and "rows" in r.stderr,
              f"{' '.join(cmd)}: a bad rule names file, line, key and column ({r.stderr.strip()})")

    # A rule that can never be true is valid but warned about, by both
    # commands and in the daemon's log at start-up.
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write(text.replace('condition = "psi > 0.2"', 'condition = "psi > 0.5 and psi < 0.3"'))
    warning = (f"driftd.toml:{line}: rules[0].condition: can never be true (psi in [0, +inf)): "
               "the rule never fires")
    for cmd in (["rules", "check", "driftd.toml"], ["config", "check", "driftd.toml"]):
        r = subprocess.run([dc.DRIFTD] + cmd, cwd=work, capture_output=True, text=True)
        check(r.returncode == 0 and f"driftd: warning: {warning}\n" in r.stderr,
              f"{' '.join(cmd)}: a rule that can never be true is warned about ({r.stderr.strip()})")
    r = run_to_end(work)
    check(r.returncode == 0 and warning in r.stderr and '"level":"warn"' in r.stderr,
          "and the daemon warns at start-up")

    tests = os.path.join(work, "t.toml")
    with open(tests, "w") as f:
        f.write("""[[rules]]
name = "high"
condition = "psi > 0.2"
min_rows = 0
[[tests]]
name = "expects the wrong window"
[[tests.windows]]
features.amount = { psi = 0.3 }
[[tests.expect]]
window = 1
rule = "high"
state = "resolved"
feature = "amount"
""")
    r = subprocess.run([dc.DRIFTD, "rules", "test", tests], capture_output=True, text=True)
    check(r.returncode == 1 and "  FAIL  expects the wrong window\n" in r.stdout and
          "window 1: resolved high for amount: expected, did not happen" in r.stdout and
          "window 1: firing high for amount: happened, not expected" in r.stdout and
          r.stdout.endswith("1 test, 0 passed, 1 failed\n"),
          f"rules test: exit 1 and a diff on a failed test ({r.stdout!r})")


def main():
    global ROOT
    dc.init(sys.argv[1], sys.argv[2])
    ROOT = os.path.abspath(sys.argv[3])
    dc.run_tests([test_alerts_follow_the_windows, test_kill9_loses_no_alert, test_rules_cli])


if __name__ == "__main__":
    main()
