#!/usr/bin/python3
"""Runs scripts/demo with a built driftd and checks what it prints against
its own output files, and its story against the data.

    test_demo.py DRIFTD_BINARY REPO_ROOT

- The baseline summary names the rows and columns the baseline file has.
- The check's --fail-on-drift line says the exit status the check had,
  for the reason its own verdict line gives; the HTML report it names is
  there, with the same verdict.
- Each live view (window, rows, drifting count, dataset drift, each row's
  value and DRIFT mark, labels joined) equals that window's line in the
  windows log; the final count equals the log's length.
- The alerts shown are the alerts log's; they fire on the drifting stream,
  never while it is stable, and data drift resolves once it has recovered.
- The story the demo tells (scripts/demo, data/demo/make_demo_stream.py):
  stable for 15 minutes, then drift, a new market from minute 35 to 60
  (country drifts, and the dataset), recovered from minute 60 (nothing
  drifts), labels 10 minutes after predictions.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

DRIFTD = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])
T0 = 1795341600000  # the stream's first event (make_demo_stream.py)
MINUTE = 60000
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += not cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_of_day(ms):
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000))


def live_views(text):
    """Every live view the demo printed: a dict per window shown."""
    views = []
    for block in re.split(r"(?m)^(?=driftd live: )", text)[1:]:
        lines = block.split("\n")
        head = re.match(r"driftd live: model (\S+) v(\S+)\s+window (\S+)-(\S+) UTC \((\d+) rows\)"
                        r"\s+events (\d+)\s+windows (\d+)", lines[0])
        drifting = re.match(r"drifting: (\d+)/(\d+) features(\s+DATASET DRIFT)?$", lines[1])
        if not head or not drifting:
            views.append(None)
            continue
        rows = []
        labels = None
        for line in lines[3:]:
            if line.startswith("labels joined in this window: "):
                m = re.match(r"labels joined in this window: (\d+)", line)
                labels = int(m.group(1)) if m else 0
                break
            m = re.match(r"(\S+)(?: \((prediction|label)\))?\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s*"
                         r"(DRIFT)?$", line)
            rows.append(m.groups() if m else None)
        views.append({"start": head.group(3), "end": head.group(4), "rows": int(head.group(5)),
                      "drifted": int(drifting.group(1)), "compared": int(drifting.group(2)),
                      "dataset_drift": drifting.group(3) is not None, "table": rows,
                      "labels": labels})
    return views


def main():
    out = tempfile.mkdtemp(prefix="driftd-demo-")
    env = dict(os.environ, DRIFTD_DEMO_BINARY=DRIFTD, DRIFTD_DEMO_OUT=out,
               DRIFTD_DEMO_PORT=str(free_port()), DRIFTD_DEMO_SPEED="600")
    r = subprocess.run([os.path.join(ROOT, "scripts", "demo")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    text = r.stdout
    check(r.returncode == 0, f"scripts/demo exits 0 ({r.stderr.strip()[-300:]})")

    # The baseline it built.
    with open(os.path.join(out, "baseline.json")) as f:
        baseline = json.load(f)
    m = re.search(r"baseline of (\S+) from (\S+), (\d+) rows", text)
    check(m is not None and m.group(1) == "fraud@3" and m.group(2) == baseline["input"]["file"]
          and int(m.group(3)) == baseline["input"]["rows"],
          f"the baseline summary names the file's model, input and rows ({m and m.group(0)})")
    numeric = re.search(r"(\d+) numeric features: (.*)", text)
    names = [c["name"] for c in baseline["columns"]
             if c["name"] not in baseline["roles"].values()]
    check(numeric is not None and
          sorted(numeric.group(2).split(", ") + re.search(r"categorical features: (.*)",
                                                            text).group(1).split(", "))
          == sorted(names), f"the summary lists the baseline's features ({sorted(names)})")

    # The check's verdict and the exit status it says.
    verdict = re.search(r"\d+ of \d+ features drift \(share .*\): (no dataset drift|DATASET DRIFT)",
                        text)
    claim = re.search(r"\(--fail-on-drift: exit (\d)", text)
    check(verdict is not None and claim is not None and
          (claim.group(1) == "1") == (verdict.group(1) == "DATASET DRIFT"),
          f"the --fail-on-drift line agrees with the check's verdict "
          f"({verdict and verdict.group(0)}; exit {claim and claim.group(1)})")
    rc = subprocess.run([DRIFTD, "check", "--baseline", os.path.join(out, "baseline.json"),
                         "--input", os.path.join(ROOT, "data/demo/serving.csv"), "--rules",
                         os.path.join(ROOT, "config/check.example.toml"), "--fail-on-drift"],
                        capture_output=True).returncode
    check(claim is not None and int(claim.group(1)) == rc,
          f"and with the exit status the check has ({rc})")
    page = re.search(r"open in a browser: (\S+)\)", text)
    html = open(page.group(1)).read() if page and os.path.exists(page.group(1)) else ""
    check(html.startswith("<!DOCTYPE html>") and
          ("No dataset drift" if verdict and verdict.group(1) == "no dataset drift"
           else "Dataset drift") in html,
          f"the HTML report it names is there, with the same verdict ({page and page.group(1)})")
    check(re.search(r"as a page: http://127\.0\.0\.1:\d+/v1/models/fraud/report", text),
          "it names the daemon's report page")

    # The live views against the windows log.
    with open(os.path.join(out, "state", "windows.jsonl")) as f:
        windows = [json.loads(line) for line in f]
    by_start = {time_of_day(w["window"]["start"]): w for w in windows}
    views = live_views(text)
    check(len(views) >= 5 and None not in views, f"the demo shows live windows ({len(views)})")
    wrong = []
    for v in filter(None, views):
        w = by_start.get(v["start"])
        if w is None or time_of_day(w["window"]["end"]) != v["end"]:
            wrong.append(f"{v['start']}: no such window")
            continue
        perf = (w.get("performance") or {}).get("current")
        if (v["rows"], v["drifted"], v["compared"], v["dataset_drift"]) != (
                w["rows"], w["features_drifted"], w["features_compared"], w["dataset_drift"]):
            wrong.append(f"{v['start']}: counts")
        if v["labels"] != (perf["rows"] if perf else 0):
            wrong.append(f"{v['start']}: labels {v['labels']}")
        for row in v["table"]:
            if row is None:
                wrong.append(f"{v['start']}: an unreadable row")
                continue
            name, role, method, value, mark = row
            f = w["features"].get(name)
            # "-" is how the view shows a statistic the window has none of (null).
            same_value = f is not None and (
                (value == "-") == (f["drift_value"] is None) and
                (value == "-" or abs(float(value) - f["drift_value"]) <= 5e-5))
            if (f is None or f["drift_method"] != method or (f.get("role") != "feature") !=
                    (role is not None) or not same_value or bool(mark) != f["drift"]):
                wrong.append(f"{v['start']}: {name}")
    check(not wrong, f"every live view equals its window in the windows log {wrong[:5]}")
    done = re.search(r"== done: (\d+) windows", text)
    check(done is not None and int(done.group(1)) == len(windows),
          f"the final count is the windows log's ({len(windows)})")

    # The alerts it shows: the alerts log's, as they are there.
    with open(os.path.join(out, "state", "alerts.jsonl")) as f:
        logged = [json.loads(line) for line in f if line.strip()]
    alerts = [a for a in logged if a["kind"] == "alert"]
    triggers = [a for a in logged if a["kind"] == "trigger"]
    section = text.split("== alerts", 1)[-1].split("== retraining triggers", 1)[0]
    shown = re.findall(r"^(\d\d:\d\d:\d\d) UTC  (firing|resolved)\s+(\S+) \((\w+)\)  (.*)$",
                       section, re.M)
    check(shown == [(time_of_day(a["window"]["end"]), a["state"], a["rule"], a["severity"],
                     a["annotations"].get("summary", "")) for a in alerts],
          f"the alerts shown are the alerts log's ({len(shown)} shown, {len(alerts)} logged)")
    check(any(a["state"] == "firing" for a in alerts) and
          all(a["window"]["end"] > T0 + 15 * MINUTE for a in alerts),
          "the retrain rules fire on the drifting stream, never while it is stable "
          f"({sorted({a['rule'] for a in alerts})})")
    drift_changes = [(a["state"], a["window"]["end"]) for a in alerts if a["rule"] == "data_drift"]
    check(drift_changes and drift_changes[-1][0] == "resolved" and
          drift_changes[-1][1] > T0 + 60 * MINUTE and
          any(state == "firing" and end <= T0 + 60 * MINUTE for state, end in drift_changes),
          f"data_drift fires in the drift and resolves once the stream has recovered "
          f"({[(s, time_of_day(e)) for s, e in drift_changes]})")

    # The retraining trigger: made when data drift fired, received signed.
    received = text.split("== retraining triggers", 1)[-1].split("== done", 1)[0]
    got = re.findall(r"^(\d\d:\d\d:\d\d) UTC  retrain fraud v3 because (\S+) \(signature "
                     r"verified\); drifting: .*; key (\S+)$", received, re.M)
    check(len(triggers) >= 1 and got == [(time_of_day(t["window"]["end"]), t["because"][0]["rule"],
                                          t["idempotency_key"]) for t in triggers],
          f"a signed retraining trigger arrives at the local receiver ({len(got)} shown, "
          f"{len(triggers)} logged)")

    # The story.
    stable = [w for w in windows if w["window"]["end"] <= T0 + 15 * MINUTE and w["rows"] > 0]
    check(len(stable) >= 3 and all(w["features_drifted"] == 0 for w in stable),
          f"stable for 15 minutes: no feature drifts ({len(stable)} windows)")
    sudden = [w for w in windows
              if w["window"]["start"] >= T0 + 35 * MINUTE and w["window"]["end"] <= T0 + 60 * MINUTE]
    check(len(sudden) >= 3 and all(w["features"]["country"]["drift"] and w["dataset_drift"]
                                   for w in sudden),
          f"a new market from minute 35: country drifts, and the dataset ({len(sudden)} windows)")
    recovered = [w for w in windows
                 if w["window"]["start"] >= T0 + 60 * MINUTE and w["window"]["end"] <= T0 + 80 * MINUTE]
    check(len(recovered) >= 3 and all(not w["dataset_drift"] and w["features_drifted"] == 0
                                      for w in recovered),
          f"recovered from minute 60: no feature drifts ({len(recovered)} windows)")
    early = [w for w in windows if w["window"]["end"] <= T0 + 10 * MINUTE]
    later = [w for w in windows
             if w["window"]["start"] >= T0 + 10 * MINUTE and w["window"]["end"] <= T0 + 80 * MINUTE]
    check(early and all(not (w.get("performance") or {}).get("current") for w in early) and
          later and all((w["performance"].get("current") or {}).get("rows", 0) > 0 for w in later),
          "labels arrive 10 minutes after predictions: none in the first 10 minutes, then each "
          "window has some")
    if failures:
        print(text)
        sys.exit(1)


if __name__ == "__main__":
    main()
