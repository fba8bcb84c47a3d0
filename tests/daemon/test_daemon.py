#!/usr/bin/python3
"""End-to-end tests of `driftd run` and `driftd config check` on real files,
real HTTP and real signals.

    test_daemon.py DRIFTD_BINARY TRAINING_CSV EXAMPLE_CONFIG
                   (data/demo/train.csv, config/driftd.example.toml)

- config check: unknown keys, wrong types, bad window sizes, missing
  baselines are errors naming the key and line (exit 2).
- a file source read to its end: every window equals the batch `driftd check`
  on the same rows (PSI, JS, Hellinger, moments exactly; KS D within 1/G);
  bad lines are dead-lettered with offset and reason, and counted.
- HTTP: /healthz, /readyz, /metrics (Prometheus text), /v1/models, the drift
  snapshot, 404s; SIGHUP with a broken config keeps the old one running;
  SIGTERM drains, checkpoints and exits 0.
- crash safety: SIGKILL at random moments, restart each time; the windows
  equal those of an uninterrupted run (same ids, same content, none missing).
- delayed labels: per-window performance equals sklearn's on the joined pairs.
- a second reference baseline: each window also reports against it, equal
  to `driftd check` with that baseline; metrics labelled by its name.
"""
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_common  # noqa: E402
from daemon_common import (check, check_same_windows, free_port, http_get,  # noqa: E402
                           kill_repeatedly, make_baseline, make_events, read_windows,
                           rechecksummed_baseline,
                           wait_for)

daemon_common.init(sys.argv[1], sys.argv[2])
DRIFTD = daemon_common.DRIFTD
EXAMPLE = os.path.abspath(sys.argv[3])
def write_config(work, port, extra_source="", window='type = "time"\nsize = "10m"\nstep = "5m"',
                 interval="200ms"):
    source = f'name = "events"\ntype = "file"\npath = "events.jsonl"\n{extra_source}\n'
    return daemon_common.write_config(work, port, source, window, interval)


def write_rows_csv(path, rows):
    """The rows make_events returned, as the CSV `driftd check` reads."""
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["amount", "age", "tenure_days", "country", "device", "score"])
        for x in rows:
            wr.writerow([x["amount"], x["age"], x["tenure_days"], x["country"], x["device"],
                         x["score"]])


# ---------------------------------------------------------------- config check
def test_config_check(work):
    make_baseline(work)
    good = write_config(work, free_port())
    r = subprocess.run([DRIFTD, "config", "check", good], capture_output=True, text=True)
    check(r.returncode == 2 and "cannot open" in r.stderr and "events.jsonl" in r.stderr,
          f"config check refuses a file source that run could not open ({r.stderr.strip()})")
    open(os.path.join(work, "events.jsonl"), "w").close()
    r = subprocess.run([DRIFTD, "config", "check", good], capture_output=True, text=True)
    check(r.returncode == 0 and "ok" in r.stdout, "config check accepts a valid file")
    shutil.copy(EXAMPLE, os.path.join(work, "example.toml"))
    # The rule file it names, beside it (as in config/).
    shutil.copy(os.path.join(os.path.dirname(EXAMPLE), "retrain.rules.toml"), work)
    r = subprocess.run([DRIFTD, "config", "check", os.path.join(work, "example.toml")],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"the documented example config is valid ({r.stderr.strip()})")
    base = open(good).read()
    def at(text, fragment):
        """The 1-based line of `fragment` in `text`: the line the error must name."""
        return next(i for i, l in enumerate(text.splitlines(), 1) if fragment in l)

    cases = []
    for name, old, new, needle, where in [
        ("unknown key", 'dir = "state"', 'dir = "state"\ncheckpoint_intervall = "1s"',
         "state.checkpoint_intervall: unknown key", "checkpoint_intervall"),
        ("bad type", 'type = "file"', 'type = "file"\nfollow = "yes"',
         "sources[0].follow: expected true or false", 'follow = "yes"'),
        ("missing baseline", 'baseline = "baseline.json"', 'baseline = "nope.json"',
         "models[0].baseline", "nope.json"),
        ("step not dividing size", 'step = "5m"', 'step = "7m"',
         "models[0].window.step: must be positive and divide size", 'step = "7m"'),
        ("bad duration", 'size = "10m"', 'size = "10 minutes"', "models[0].window.size",
         "10 minutes"),
        ("unknown source type", 'type = "file"', 'type = "ftp"',
         "sources[0].type: expected \"file\"", "ftp"),
        ("unknown file format", 'type = "file"', 'type = "file"\nformat = "xml"',
         "sources[0].format: expected \"jsonl\" or \"csv\"", "xml"),
        ("wrong model in baseline", 'name = "fraud"', 'name = "churn"',
         "baseline is for model 'fraud'", 'baseline = "baseline.json"'),
        ("missing source file", 'path = "events.jsonl"', 'path = "nope.jsonl"', "cannot open",
         None),
        ("state dir under a file", 'dir = "state"', 'dir = "events.jsonl/state"',
         "not a writable directory", None),
    ]:
        text = base.replace(old, new)
        cases.append((name, text, needle, at(text, where) if where else None))
    syntax = base + "\n[[models]\n"
    cases.append(("TOML syntax", syntax, f"bad.toml:{len(syntax.splitlines())}:10: ", None))
    for name, text, needle, line in cases:
        path = os.path.join(work, "bad.toml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([DRIFTD, "config", "check", path], capture_output=True, text=True)
        where = f"bad.toml:{line}:" if line else ""
        check(r.returncode == 2 and needle in r.stderr and where in r.stderr,
              f"config check: {name} -> exit 2 naming key and line ({r.stderr.strip()[:150]})")
        r2 = subprocess.run([DRIFTD, "run", "--config", path], capture_output=True, text=True,
                            timeout=30)
        check(r2.returncode == 2, f"run refuses to start on: {name}")


# ------------------------------------------------------------ batch agreement
def test_windows_match_batch_check(work):
    make_baseline(work)
    rows = make_events(os.path.join(work, "events.jsonl"), 30000, seed=5, bad_every=5000)
    cfg = write_config(work, free_port())
    r = subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=work,
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"run --exit-when-done exits 0 ({r.stderr[-300:]})")
    logs = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{")]
    check(len(logs) > 0 and all({"ts", "level", "msg"} <= set(l) for l in logs),
          "logs are JSON lines with ts, level, msg")
    levels = {l["level"] for l in logs}
    check("warn" in levels and levels <= {"trace", "debug", "info", "warn", "error", "critical"},
          f"levels spelled as log_level spells them ({sorted(levels)})")
    closes = [l for l in logs if l["msg"].startswith("window closed")]
    windows = read_windows(work)
    check(len(windows) == len(closes) and len(windows) > 0,
          f"one info line per window close ({len(closes)} lines, {len(windows)} windows)")
    # 30000 events 50 ms apart = 1500 s: windows of 10 min every 5 min.
    ids = [w["window"]["id"] for w in windows]
    check(len(ids) == len(set(ids)), "window ids are unique")
    # Ends at 5, 10, ..., 30 min (the first and last partial).
    check(len(windows) == 6, f"6 sliding windows over 25 minutes ({len(windows)})")
    for w in windows[:3]:
        start, end = w["window"]["start"], w["window"]["end"]
        sub = [x for x in rows if start <= x["ts"] < end]
        check(w["rows"] == len(sub), f"window {w['window']['id']} holds its {len(sub)} rows")
        csv_path = os.path.join(work, "sub.csv")
        write_rows_csv(csv_path, sub)
        out = subprocess.run([DRIFTD, "check", "--baseline", os.path.join(work, "baseline.json"),
                              "--input", csv_path, "--format", "json"], capture_output=True,
                             text=True)
        batch = json.loads(out.stdout)
        worst = 0.0
        check(set(batch["features"]) - set(w["features"]) == {"label"},
              "windows hold every column but the label (joined later)")
        for col, fb in batch["features"].items():
            if col == "label":
                continue
            fw = w["features"][col]
            for key in ["psi", "jensen_shannon", "hellinger", "mean_shift", "std_ratio",
                        "skewness", "l_infinity", "chi2_statistic", "new_category_rate",
                        "missing_rate"]:
                if key in fb and fb[key] is not None:
                    worst = max(worst, abs(fw[key] - fb[key]) / max(1e-12, abs(fb[key])))
            if fb.get("ks_statistic") is not None:
                check(abs(fw["ks_statistic"] - fb["ks_statistic"]) <= 1 / 512,
                      f"{w['window']['id']} {col}: KS D within 1/512 of the exact value")
        check(worst < 1e-6, f"{w['window']['id']}: bins, moments, categories agree with check "
                            f"(largest relative difference {worst:.2e})")
    dead = [json.loads(l) for l in open(os.path.join(work, "state", "dead-letter.jsonl"))]
    check(len(dead) == 12 and {d["reason"] for d in dead} == {"invalid_json", "unknown_model"},
          f"bad lines are dead-lettered with their reason ({len(dead)})")
    check(all("offset" in d and "event" in d for d in dead), "dead letters carry offset and event")
    with open(os.path.join(work, "events.jsonl"), "rb") as f:
        data = f.read()
    check(all(data[d["offset"]:].startswith(d["event"].encode()) for d in dead),
          "a dead letter's offset points at its line")


# ---------------------------------------------------------------- CSV events
def test_csv_file_source(work):
    """The same events as CSV rows (format by the .csv path) give the same
    windows as JSON lines; broken rows are dead-lettered as they were read."""
    make_baseline(work)
    make_events(os.path.join(work, "events.jsonl"), 20000, seed=8)
    header = ["model", "model_version", "id", "ts", "amount", "age", "tenure_days", "country",
              "device", "prediction"]
    bad_rows = ['fraud,3,req-x,1,2.5\n', 'fraud,3,"req-y,1764115200000,1,2,3,DE,ios,0.5\n']
    bad_offsets = []
    with open(os.path.join(work, "events.jsonl")) as src, \
            open(os.path.join(work, "events.csv"), "w", newline="") as out:
        wr = csv.writer(out, lineterminator="\n")
        wr.writerow(header)
        for i, line in enumerate(src):
            ev = json.loads(line)
            f = ev["features"]
            wr.writerow([ev["model"], ev["model_version"], ev["id"], ev["ts"], f["amount"],
                         f["age"], f["tenure_days"], f["country"], f["device"],
                         ev["prediction"]])
            if i in (5000, 12000):
                out.flush()
                bad_offsets.append(out.tell())
                out.write(bad_rows[len(bad_offsets) - 1])
    runs = {}
    for name, path in [("jsonl", "events.jsonl"), ("csv", "events.csv")]:
        d = os.path.join(work, name)
        os.makedirs(d)
        shutil.copy(os.path.join(work, "baseline.json"), d)
        os.symlink(os.path.join(work, path), os.path.join(d, path))
        source = f'name = "events"\ntype = "file"\npath = "{path}"\n'
        cfg = daemon_common.write_config(d, free_port(), source,
                                         'type = "time"\nsize = "10m"\nstep = "5m"', "200ms")
        r = subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=d,
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"{name}: run --exit-when-done exits 0 ({r.stderr[-300:]})")
        runs[name] = read_windows(d)
    check(len(runs["csv"]) > 0 and runs["csv"] == runs["jsonl"],
          f"CSV rows give the windows JSON lines give ({len(runs['csv'])} windows)")
    dead = [json.loads(l) for l in open(os.path.join(work, "csv", "state", "dead-letter.jsonl"))]
    check(len(dead) == 2 and all(d["reason"] == "invalid_json" for d in dead),
          f"broken CSV rows are dead-lettered ({len(dead)})")
    check([d["offset"] for d in dead] == bad_offsets and
          [d["event"] + "\n" for d in dead] == bad_rows,
          "a CSV dead letter keeps the row as read, at its offset")
    check("fields" in dead[0]["detail"] and "quote" in dead[1]["detail"],
          f"the reasons say what is wrong ({dead[0]['detail']}; {dead[1]['detail']})")


# ---------------------------------------------------------- HTTP and signals
def test_http_and_signals(work):
    make_baseline(work)
    make_events(os.path.join(work, "events.jsonl"), 20000, seed=7, bad_every=10000)
    port = free_port()
    cfg = write_config(work, port, extra_source="follow = true")
    proc = subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work, stderr=subprocess.PIPE,
                            text=True)
    try:
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200), "/readyz turns 200")
        check(http_get(port, "/healthz") == (200, "ok\n"), "/healthz says ok")
        check(wait_for(lambda: "driftd_source_events_received_total{source=\"events\",type=\"file\"} 20004"
                       in http_get(port, "/metrics")[1]), "/metrics counts every line read")
        status, text = http_get(port, "/metrics")
        check(status == 200 and "# TYPE driftd_feature_psi gauge" in text,
              "/metrics is Prometheus text with drift gauges")
        check('driftd_source_events_rejected_total{source="events",type="file",reason="unknown_model"} 2'
              in text, "rejections are counted by reason")
        check('driftd_feature_psi{model="fraud",model_version="3",feature="amount",'
              'role="feature"}' in text, "per-feature PSI is exported")
        # Debian's prometheus package (scripts/deps.sh installs it) lints the exposition.
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
        check(r.returncode == 0, f"promtool accepts /metrics ({r.stdout[:200]}{r.stderr[:200]})")
        status, body = http_get(port, "/v1/models")
        models = json.loads(body)["models"]
        check(status == 200 and models[0]["name"] == "fraud" and models[0]["events"] == 20000,
              "/v1/models lists the model and its events")
        status, body = http_get(port, "/v1/models/fraud/drift")
        snap = json.loads(body)
        check(status == 200 and snap["window"]["id"].startswith("fraud@3/t/") and
              "features" in snap and snap["rows"] > 0, "/v1/models/fraud/drift is the snapshot")
        check(http_get(port, "/v1/models/nobody/drift")[0] == 404, "unknown model: 404")
        check(http_get(port, "/nowhere")[0] == 404, "unknown path: 404")
        # Follow: appended events are read.
        with open(os.path.join(work, "events.jsonl"), "a") as f:
            f.write(json.dumps({"model": "fraud", "model_version": "3", "id": "late-1",
                                "ts": 1764115200000 + 20000 * 50,
                                "features": {"amount": 5.0}, "prediction": 0.1}) + "\n")
        check(wait_for(lambda: json.loads(http_get(port, "/v1/models")[1])["models"][0]["events"]
                       == 20001), "follow picks up appended events")
        # A broken config on SIGHUP is refused; the daemon keeps running.
        good = open(cfg).read()
        with open(cfg, "w") as f:
            f.write(good.replace('step = "5m"', 'step = "7m"'))
        proc.send_signal(signal.SIGHUP)
        check(wait_for(lambda: "driftd_config_reload_failures_total 1"
                       in http_get(port, "/metrics")[1]), "SIGHUP with a bad config is refused")
        check(http_get(port, "/healthz")[0] == 200, "and the old configuration keeps serving")
        # A crafted baseline (invalid JSON under a correct checksum) crashed
        # the daemon on SIGHUP: refused like any bad config.
        text = open(os.path.join(work, "baseline.json")).read()
        crafted = rechecksummed_baseline(text.replace('"settings": {', '"settings": {"bins": , ', 1))
        with open(os.path.join(work, "crafted.json"), "w") as f:
            f.write(crafted)
        with open(cfg, "w") as f:
            f.write(good.replace('baseline = "baseline.json"', 'baseline = "crafted.json"'))
        proc.send_signal(signal.SIGHUP)
        check(wait_for(lambda: "driftd_config_reload_failures_total 2"
                       in http_get(port, "/metrics")[1]), "SIGHUP with a crafted baseline is refused")
        check(proc.poll() is None and http_get(port, "/healthz")[0] == 200,
              "the daemon lives on with the old configuration")
        with open(os.path.join(work, "events.jsonl"), "a") as f:
            f.write(json.dumps({"model": "fraud", "model_version": "3", "id": "late-2",
                                "ts": 1764115200000 + 20001 * 50,
                                "features": {"amount": 6.0}, "prediction": 0.1}) + "\n")
        check(wait_for(lambda: json.loads(http_get(port, "/v1/models")[1])["models"][0]["events"]
                       == 20002), "and keeps reading events")
        with open(cfg, "w") as f:
            f.write(good)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        check(rc == 0, f"SIGTERM drains, checkpoints and exits 0 (exit {rc})")
        check(os.path.exists(os.path.join(work, "state", "checkpoint.bin")),
              "a checkpoint exists after SIGTERM")
        err = proc.stderr.read()
        check("reload refused" in err and "step" in err, "the refused reload is logged with why")
        check("crafted.json: not valid JSON at settings.bins" in err,
              "the crafted baseline's refusal names the file and the field")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- crash safety
def test_kill9_file_source(work):
    make_baseline(work)
    make_events(os.path.join(work, "events.jsonl"), 300000, seed=11, step_ms=20, bad_every=20000)
    window = 'type = "time"\nsize = "10m"\nstep = "2m"\nallowed_lateness = "30s"'
    # The uninterrupted run.
    ref = os.path.join(work, "ref")
    os.makedirs(ref)
    shutil.copy(os.path.join(work, "baseline.json"), ref)
    os.symlink(os.path.join(work, "events.jsonl"), os.path.join(ref, "events.jsonl"))
    cfg = write_config(ref, free_port(), window=window, interval="50ms")
    subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=ref, check=True,
                   stderr=subprocess.DEVNULL, timeout=300)
    expected = {w["window"]["id"]: w for w in read_windows(ref)}
    # The killed runs.
    crash = os.path.join(work, "crash")
    os.makedirs(crash)
    shutil.copy(os.path.join(work, "baseline.json"), crash)
    os.symlink(os.path.join(work, "events.jsonl"), os.path.join(crash, "events.jsonl"))
    def start():
        cfg = write_config(crash, free_port(), window=window, interval="50ms")
        return subprocess.Popen([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=crash,
                                stderr=subprocess.DEVNULL)

    def finish():
        cfg = write_config(crash, free_port(), window=window, interval="50ms")
        return subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=crash,
                              stderr=subprocess.DEVNULL, timeout=300)

    kills = kill_repeatedly(start, finish, random.Random(3), (0.01, 0.15), max_kills=80)
    check(kills >= 3, f"the daemon was killed mid-stream {kills} times")
    check_same_windows(crash, expected)


# ---------------------------------------------------------------- delayed labels
def test_delayed_labels(work):
    """Labels 200 events after their prediction: each window's performance is
    sklearn's on the pairs whose label arrived in it."""
    from sklearn import metrics as skm
    make_baseline(work)
    rows = make_events(os.path.join(work, "preds.jsonl"), 20000, seed=13, step_ms=30)
    rng = random.Random(14)
    labels = {}
    with open(os.path.join(work, "preds.jsonl")) as f:
        preds = f.read().splitlines()
    with open(os.path.join(work, "events.jsonl"), "w") as out:
        for i, line in enumerate(preds):
            out.write(line + "\n")
            j = i - 200
            if j >= 0 and j % 4 != 0:  # every fourth prediction never gets a label
                y = 1 if rng.random() < rows[j]["score"] else 0
                ts = rows[i]["ts"] + 1
                labels[j] = (y, ts)
                out.write(json.dumps({"model": "fraud", "id": f"req-{j}", "label": y,
                                      "ts": ts}) + "\n")
        out.write(json.dumps({"model": "fraud", "id": "req-5", "label": "yes"}) + "\n")
        out.write(json.dumps({"model": "fraud", "label": 1}) + "\n")
    cfg = write_config(work, free_port(),
                       window='type = "time"\nsize = "2m"\nstep = "2m"\n'
                              '[models.labels]\nttl = "1h"\nthreshold = 0.3')
    subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=work, check=True,
                   stderr=subprocess.DEVNULL, timeout=300)
    windows = read_windows(work)
    with_perf = [w for w in windows if w["performance"].get("current")]
    check(len(with_perf) >= 4, f"windows report performance once labels arrive ({len(with_perf)})")
    worst = 0.0
    auc_worst = 0.0
    for w in with_perf:
        start, end = w["window"]["start"], w["window"]["end"]
        pairs = [(rows[j]["score"], y) for j, (y, ts) in labels.items() if start <= ts < end]
        s = [p for p, _ in pairs]
        y = [t for _, t in pairs]
        cur = w["performance"]["current"]
        if cur["rows"] != len(pairs):
            worst = float("inf")
            continue
        pred = [1 if p >= 0.3 else 0 for p in s]
        want = {"accuracy": skm.accuracy_score(y, pred),
                "precision": skm.precision_score(y, pred, zero_division=0),
                "recall": skm.recall_score(y, pred, zero_division=0),
                "f1": skm.f1_score(y, pred, zero_division=0),
                "log_loss": skm.log_loss(y, s, labels=[0, 1])}
        for k, v in want.items():
            worst = max(worst, abs(cur[k] - v) / max(abs(v), 1e-12))
        if len(set(y)) == 2:
            auc_worst = max(auc_worst, abs(cur["roc_auc"] - skm.roc_auc_score(y, s)))
    check(worst < 1e-9, f"accuracy, precision, recall, f1, log_loss equal sklearn's on the joined "
                        f"pairs (worst relative difference {worst:.2e})")
    check(auc_worst < 0.005, f"roc_auc within 0.005 of sklearn's ({auc_worst:.2e})")
    check(all("label" in w["features"] and w["features"]["label"]["role"] == "label"
              for w in with_perf), "each window with labels reports label drift")
    with open(os.path.join(work, "state", "dead-letter.jsonl")) as f:
        dead = [json.loads(line) for line in f]
    check(sum(d["reason"] == "bad_label" for d in dead) == 2,
          "a label that is not a number, and a label without an id, are dead-lettered")


# ------------------------------------------------------ several sources
def test_several_sources_one_model(work):
    """Two sources giving one model predictions: a warning names both, once.
    Predictions from one source and labels from another: no warning."""
    make_baseline(work)
    make_events(os.path.join(work, "events.jsonl"), 3000, seed=21)
    make_events(os.path.join(work, "more.jsonl"), 3000, seed=22)
    with open(os.path.join(work, "labels.jsonl"), "w") as f:
        for i in range(0, 3000, 3):
            f.write(json.dumps({"model": "fraud", "id": f"req-{i}", "label": i % 2,
                                "ts": 1764115200000 + i * 50 + 1}) + "\n")
    window = 'type = "time"\nsize = "1m"\nstep = "1m"'
    for second, warns in [("more.jsonl", True), ("labels.jsonl", False)]:
        shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
        cfg = write_config(work, free_port(), window=window,
                           extra_source=f'\n[[sources]]\nname = "second"\ntype = "file"\n'
                                        f'path = "{second}"')
        r = subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=work,
                           capture_output=True, text=True, timeout=300)
        lines = [line for line in r.stderr.splitlines() if "gets predictions from sources" in line]
        if warns:
            check(r.returncode == 0 and len(lines) == 1 and "'events'" in lines[0] and
                  "'second'" in lines[0] and '"level":"warn"' in lines[0],
                  f"two sources of predictions for one model: one warning naming both "
                  f"({lines[:1]})")
        else:
            check(r.returncode == 0 and not lines,
                  "predictions from one source and labels from another: no warning")


# ---------------------------------------------------------- second reference
def test_second_reference(work):
    """Each window against training and against a second reference built
    from last week's serving rows: both reports equal `driftd check` with
    that baseline on the window's rows."""
    make_baseline(work)
    week = make_events(os.path.join(work, "week.jsonl"), 8000, seed=41, step_ms=50)
    write_rows_csv(os.path.join(work, "week.csv"), week)
    subprocess.run([DRIFTD, "baseline", "build", "--input", os.path.join(work, "week.csv"),
                    "--out", os.path.join(work, "week.json"), "--categorical", "country,device",
                    "--prediction", "score", "--model", "fraud", "--model-version", "3-week"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = make_events(os.path.join(work, "events.jsonl"), 12000, seed=42, step_ms=50)
    port = free_port()
    cfg = write_config(work, port, window='type = "time"\nsize = "5m"\nstep = "5m"')
    text = open(cfg).read().replace('baseline = "baseline.json"',
                                    'baseline = "baseline.json"\nreference = "week.json"\n'
                                    'reference_name = "last_week"')
    with open(cfg, "w") as f:
        f.write(text)
    proc = subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work,
                            stderr=subprocess.DEVNULL)
    try:
        check(wait_for(lambda: len(read_windows(work)) >= 1, timeout=60), "windows close")
        status, body = http_get(port, "/v1/models")
        ref = json.loads(body)["models"][0]["reference"]
        check(ref["name"] == "last_week" and ref["baseline"].endswith("week.json"),
              f"/v1/models names the reference ({ref})")
        check(wait_for(lambda: 'role="feature",reference="last_week"}' in
                       http_get(port, "/metrics")[1]),
              "/metrics has the reference's series")
        _, metrics = http_get(port, "/metrics")
        check('driftd_feature_psi{model="fraud",model_version="3",feature="amount",'
              'role="feature",reference="last_week"}' in metrics,
              "per-feature PSI against the reference, labelled reference=\"last_week\"")
        lint = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                              capture_output=True, text=True)
        check(lint.returncode == 0, f"promtool accepts it {lint.stdout}{lint.stderr}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    # A restart serves the restored latest window's metrics at once.
    proc = subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work,
                            stderr=subprocess.DEVNULL)
    try:
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200), "the restart is ready")
        _, again = http_get(port, "/metrics")
        check('driftd_feature_psi{model="fraud",model_version="3",feature="amount",'
              'role="feature"}' in again and
              'feature="amount",role="feature",reference="last_week"}' in again,
              "after a restart the latest window's statistics are exported at once")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    windows = read_windows(work)
    check(all(w.get("reference", {}).get("name") == "last_week" for w in windows),
          "every window line carries the reference's report")
    worst = 0.0
    for w in windows[:2]:
        start, end = w["window"]["start"], w["window"]["end"]
        sub = [x for x in rows if start <= x["ts"] < end]
        write_rows_csv(os.path.join(work, "sub.csv"), sub)
        for baseline, report in (("baseline.json", w), ("week.json", w["reference"])):
            out = subprocess.run([DRIFTD, "check", "--baseline", os.path.join(work, baseline),
                                  "--input", os.path.join(work, "sub.csv"), "--format", "json"],
                                 capture_output=True, text=True)
            batch = json.loads(out.stdout)
            check(report["rows"] == batch["rows"] == len(sub),
                  f"{w['window']['id']} vs {baseline}: {len(sub)} rows")
            for col, fb in batch["features"].items():
                if col not in report["features"]:
                    continue
                for key in ("psi", "jensen_shannon", "mean_shift", "chi2_statistic"):
                    if fb.get(key) is not None:
                        fw = report["features"][col][key]
                        worst = max(worst, abs(fw - fb[key]) / max(1e-12, abs(fb[key])))
    check(worst < 1e-6, f"both reports agree with driftd check on the window's rows "
                        f"(largest relative difference {worst:.2e})")
    # Config errors: a reference of another model, or lacking a column.
    for bad, needle in (("other.json", "baseline is for model 'churn'"),
                        ("narrow.json", "the reference lacks column 'device'")):
        src = os.path.join(work, "bad.csv")
        if bad == "other.json":
            write_rows_csv(src, week[:500])
            args = ["--categorical", "country,device", "--model", "churn"]
        else:
            with open(src, "w") as f:
                f.write("amount,age,tenure_days,country,score\n")
                for x in week[:500]:
                    f.write(f"{x['amount']},{x['age']},{x['tenure_days']},{x['country']},"
                            f"{x['score']}\n")
            args = ["--categorical", "country", "--model", "fraud"]
        subprocess.run([DRIFTD, "baseline", "build", "--input", src, "--out",
                        os.path.join(work, bad), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(work, "bad.toml"), "w") as f:
            f.write(text.replace('reference = "week.json"', f'reference = "{bad}"'))
        r = subprocess.run([DRIFTD, "config", "check", os.path.join(work, "bad.toml")],
                           capture_output=True, text=True)
        check(r.returncode == 2 and needle in r.stderr and "models[0].reference" in r.stderr,
              f"config check refuses {bad} naming the key ({r.stderr.strip()[:160]})")


def main():
    daemon_common.run_tests([test_config_check, test_windows_match_batch_check,
                             test_csv_file_source, test_http_and_signals, test_kill9_file_source, test_delayed_labels,
                             test_second_reference, test_several_sources_one_model])


if __name__ == "__main__":
    main()
