#!/usr/bin/python3
"""The demo's live terminal view: polls a running driftd for its models'
latest windows and prints the worst features, until the daemon's sources
are done (or Ctrl-C); then, given an alerts log, the alerts it holds.

    scripts/demo_watch.py http://127.0.0.1:9108 [--model fraud]
    scripts/demo_watch.py --alerts driftd-state/alerts.jsonl
"""
import json
import sys
import time
import urllib.error
import urllib.request

BOLD, RED, YELLOW, DIM, RESET = "\033[1m", "\033[31;1m", "\033[33m", "\033[2m", "\033[0m"
if not sys.stdout.isatty():
    BOLD = RED = YELLOW = DIM = RESET = ""


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def fmt_time(ms):
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000))


def number(value, width, digits):
    """A statistic right-aligned, or "-" where the window has none (a column
    with no values in it has no PSI): never a made-up 0 or a bare nan."""
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def show(snap, models):
    w = snap["window"]
    lines = [f"{BOLD}driftd live: model {snap['model']['name']} v{snap['model']['version']}"
             f"{RESET}   window {fmt_time(w['start'])}-{fmt_time(w['end'])} UTC "
             f"({snap['rows']} rows)   events {models['events']}   windows {models['windows_closed']}",
             f"drifting: {snap['features_drifted']}/{snap['features_compared']} features"
             + (f"   {RED}DATASET DRIFT{RESET}" if snap["dataset_drift"] else ""),
             f"{'column':<20}{'method':<10}{'value':>9}{'psi':>9}{'ks D':>9}{'missing':>9}"]
    feats = sorted(snap["features"].items(),
                   key=lambda kv: -(kv[1].get("drift_value") or 0) / (kv[1].get("threshold") or 1))
    for name, f in feats[:8]:
        mark = f"{RED}DRIFT{RESET}" if f["drift"] else ""
        val = f.get("drift_value")
        # The prediction and the label are shown, not counted in the share.
        shown = name if f.get("role", "feature") == "feature" else f"{name} ({f['role']})"
        lines.append(f"{shown:<20}{f['drift_method']:<10}{number(val, 9, 4)}"
                     f"{number(f.get('psi'), 9, 4)}{number(f.get('ks_statistic'), 9, 4)}"
                     f"{number(f.get('missing_rate'), 9, 3)}  {mark}")
    perf = (snap.get("performance") or {})
    cur, base = perf.get("current"), perf.get("baseline") or {}
    if cur:
        keys = [k for k in ("accuracy", "f1", "roc_auc", "log_loss", "mae", "rmse", "r2")
                if k in cur]
        lines.append(f"labels joined in this window: {cur['rows']}   " + "   ".join(
            f"{k} {number(cur[k], 0, 3)} (train {number(base.get(k), 0, 3)})"
            for k in keys))
    else:
        lines.append("labels joined in this window: none yet (labels arrive 10 min late)")
    return lines


def show_alerts(path):
    """One line per alert change: when (the window's end), the state, the
    rule, its severity and the summary it rendered."""
    try:
        with open(path) as f:
            alerts = [a for a in map(json.loads, filter(str.strip, f)) if a["kind"] == "alert"]
    except FileNotFoundError:
        alerts = []
    for a in alerts:
        colour = RED if a["state"] == "firing" else DIM
        print(f"{fmt_time(a['window']['end'])} UTC  {colour}{a['state']:<9}{RESET}"
              f"{a['rule']} ({a['severity']})  {a['annotations'].get('summary', '')}")
    if not alerts:
        print("no alert fired")


def main():
    if sys.argv[1] == "--alerts":
        show_alerts(sys.argv[2])
        return
    base = sys.argv[1]
    model = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--model" else "fraud"
    shown = 0
    last_id = None
    while True:
        try:
            models = {m["name"]: m for m in get(base + "/v1/models")["models"]}
            if models[model]["latest_window"] and models[model]["latest_window"] != last_id:
                snap = get(f"{base}/v1/models/{model}/drift")
                last_id = snap["window"]["id"]
                lines = show(snap, models[model])
                if shown and sys.stdout.isatty():
                    sys.stdout.write(f"\033[{shown}A\033[J")
                print("\n".join(lines), flush=True)
                shown = len(lines)
        except (urllib.error.URLError, ConnectionError, KeyError):
            return  # the daemon stopped
        time.sleep(0.5)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
