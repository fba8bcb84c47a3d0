#!/usr/bin/python3
"""The Grafana dashboards and Prometheus rules in dashboards/, proven on
Debian's Prometheus scraping a real driftd:

    test_dashboards.py DRIFTD_BINARY MOCK_KAFKA_BINARY PROJECT_DIR

- the committed dashboard JSON is what dashboards/generate.py writes;
  its structure holds: schema version, unique uids and panel ids, every
  panel and target on the ${datasource} variable, every $variable defined,
  grid positions inside 24 columns and not overlapping;
- the rules pass `promtool check rules` and their `promtool test rules`
  unit tests;
- Prometheus on 127.0.0.1 scrapes driftd (the demo stream replayed from a
  file for fraud@3, with a second reference, alert rules and a webhook
  sink; a canary fraud@4 read from Kafka, librdkafka's mock cluster) and
  evaluates the rules; then every PromQL expression of every panel,
  variable query and recording rule, with the template variables filled
  in, returns data through Prometheus's HTTP API; every alerting rule's
  expression runs without error on series that exist, and the dataset
  drift alert goes pending;
- the series cap: with max_metric_features = 4, exactly 4 (model, feature)
  combinations have per-feature series and the rest are counted.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, os.path.join(HERE, "..", "alerts"))
sys.path.insert(0, os.path.join(HERE, "..", "kafka"))
import daemon_common as dc  # noqa: E402
from daemon_common import check  # noqa: E402
import alert_common as ac  # noqa: E402
from mock_cluster import MockCluster  # noqa: E402

DRIFTD = os.path.abspath(sys.argv[1])
MOCK = os.path.abspath(sys.argv[2])
ROOT = os.path.abspath(sys.argv[3])
DASHBOARDS = os.path.join(ROOT, "dashboards")
RULES = os.path.join(DASHBOARDS, "prometheus", "driftd.rules.yml")
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}


def load_dashboards():
    out = {}
    for name in sorted(os.listdir(os.path.join(DASHBOARDS, "grafana"))):
        if name.endswith(".json"):
            with open(os.path.join(DASHBOARDS, "grafana", name)) as f:
                out[name] = json.load(f)
    return out


def test_structure(work):
    r = subprocess.run([sys.executable, os.path.join(DASHBOARDS, "generate.py"), "--check"],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"the committed dashboards are generate.py's output {r.stderr}")
    boards = load_dashboards()
    check(len(boards) == 3, f"three dashboards ({sorted(boards)})")
    uids = [b["uid"] for b in boards.values()]
    check(len(set(uids)) == len(uids), "dashboard uids are unique")
    ds = {"type": "prometheus", "uid": "${datasource}"}
    for name, b in boards.items():
        check(b.get("schemaVersion", 0) >= 36, f"{name}: schemaVersion {b.get('schemaVersion')}")
        variables = {v["name"]: v for v in b["templating"]["list"]}
        check(variables.get("datasource", {}).get("type") == "datasource" and
              variables["datasource"].get("query") == "prometheus",
              f"{name}: a Prometheus data-source variable")
        ids = [p["id"] for p in b["panels"]]
        check(len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids),
              f"{name}: panel ids unique")
        cells = set()
        overlap = outside = 0
        bad_ds = []
        undefined = set()
        for p in b["panels"]:
            g = p["gridPos"]
            if g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24 or g["h"] < 1:
                outside += 1
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    overlap += (x, y) in cells
                    cells.add((x, y))
            if p["type"] == "row":
                continue
            if p.get("datasource") != ds:
                bad_ds.append(p["title"])
            check(p.get("targets"), f"{name}: panel '{p['title']}' has queries")
            for t in p["targets"]:
                if t.get("datasource") != ds:
                    bad_ds.append(p["title"] + " (target)")
                for var in re.findall(r"\$(\w+)", t["expr"]):
                    if var not in variables and var not in GRAFANA_BUILTINS:
                        undefined.add(var)
        for v in variables.values():
            if v["type"] == "query":
                if v.get("datasource") != ds:
                    bad_ds.append("variable " + v["name"])
                for var in re.findall(r"\$(\w+)", v["query"]["query"]):
                    if var not in variables:
                        undefined.add(var)
        check(outside == 0 and overlap == 0, f"{name}: panels inside the grid, none overlapping")
        check(not bad_ds, f"{name}: every panel, target and variable uses ${{datasource}} {bad_ds}")
        check(not undefined, f"{name}: every $variable is defined {sorted(undefined)}")


def test_rules(work):
    r = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
    check(r.returncode == 0, f"promtool check rules {r.stdout[-300:]}{r.stderr[-300:]}")
    r = subprocess.run(["promtool", "test", "rules", "driftd.rules.test.yml"],
                       cwd=os.path.dirname(RULES), capture_output=True, text=True)
    check(r.returncode == 0, f"promtool test rules {r.stdout[-600:]}{r.stderr[-300:]}")


class Prometheus:
    """Debian's prometheus on 127.0.0.1, scraping driftd every second and
    evaluating the rules every second."""

    def __init__(self, work, target_port):
        self.port = dc.free_port()
        config = os.path.join(work, "prometheus.yml")
        shutil.copy(RULES, os.path.join(work, "driftd.rules.yml"))
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [driftd.rules.yml]
scrape_configs:
  - job_name: driftd
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")
        self.log = open(os.path.join(work, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        ready = dc.wait_for(lambda: dc.http_get(self.port, "/-/ready")[0] == 200, timeout=60)
        check(ready, "Prometheus starts on 127.0.0.1")

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(
            params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def query(self, expr):
        return self.api("query", query=expr)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def has_data(answer):
    if answer.get("status") != "success":
        return False
    data = answer["data"]
    if data["resultType"] in ("scalar", "string"):
        return True
    return any(v["value"][1] not in ("NaN",) for v in data["result"])


def label_values(prom, query):
    """Grafana's label_values(selector, label) (or label_values(label)),
    through the series API."""
    m = re.fullmatch(r"label_values\((?:(.+),\s*)?(\w+)\)", query.strip())
    selector, label = m.group(1), m.group(2)
    if selector is None:
        answer = prom.api(f"label/{label}/values")
        return answer.get("data", []) if answer.get("status") == "success" else None
    answer = prom.api("series", **{"match[]": selector})
    if answer.get("status") != "success":
        return None
    return sorted({s[label] for s in answer["data"] if label in s})


def fill(expr, values):
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace("$" + name, value)
    return expr


def demo_inputs(work):
    """fraud@3 and fraud@4 baselines of the demo's training data, a second
    reference from its serving data, and the demo stream: fraud@3's events
    (with a few bad lines) in a file, fraud@4's first 30 minutes for Kafka."""
    for version in ("3", "4"):
        subprocess.run([DRIFTD, "baseline", "build", "--input",
                        os.path.join(ROOT, "data", "demo", "train.csv"),
                        "--out", os.path.join(work, f"baseline{version}.json"),
                        "--categorical", "country,device", "--prediction", "score",
                        "--label", "label", "--id", "request_id", "--model", "fraud",
                        "--model-version", version], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([DRIFTD, "baseline", "build", "--input",
                    os.path.join(ROOT, "data", "demo", "serving.csv"),
                    "--out", os.path.join(work, "serving_week.json"),
                    "--categorical", "country,device", "--prediction", "score",
                    "--label", "label", "--id", "request_id", "--model", "fraud",
                    "--model-version", "3"], check=True, stdout=subprocess.DEVNULL)
    stream = os.path.join(work, "stream.jsonl")
    subprocess.run([sys.executable, os.path.join(ROOT, "data", "demo", "make_demo_stream.py"),
                    stream], check=True)
    with open(stream) as f:
        lines = f.readlines()
    with open(os.path.join(work, "events.jsonl"), "w") as f:
        for i, line in enumerate(lines):
            f.write(line)
            if i % 20000 == 19999:
                f.write('{"model": "fraud", "ts": \n')  # invalid JSON: dead-lettered
    t_end = json.loads(lines[0])["ts"] + 30 * 60000
    with open(os.path.join(work, "canary.jsonl"), "w") as f:
        for line in lines:
            e = json.loads(line)
            if e["ts"] < t_end:
                e["model_version"] = "4"
                f.write(json.dumps(e) + "\n")


def test_live(work):
    demo_inputs(work)
    kafka = MockCluster(MOCK, {"canary": 2})
    receiver = ac.HttpReceiver(lambda path, headers, body: (200, b"ok"))
    kafka.produce("canary", os.path.join(work, "canary.jsonl"))
    port = dc.free_port()
    os.environ["DRIFTD_TEST_SECRET"] = "whsec_" + "A" * 32
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write(f"""rule_files = ["{ROOT}/config/retrain.rules.toml"]

[server]
listen = "127.0.0.1:{port}"

[state]
dir = "state"
checkpoint_interval = "1s"

[[sinks]]
name = "receiver"
type = "webhook"
url = "http://127.0.0.1:{receiver.port}/alerts"
secret_env = "DRIFTD_TEST_SECRET"

[[sources]]
name = "events"
type = "file"
path = "events.jsonl"
follow = true
replay_speed = 120

[[sources]]
name = "canary"
type = "kafka"
brokers = "{kafka.bootstrap}"
topics = ["canary"]
group_id = "driftd-dashboards"

[[models]]
name = "fraud"
version = "3"
baseline = "baseline3.json"
reference = "serving_week.json"
reference_name = "serving_week"
[models.window]
type = "time"
size = "10m"
step = "2m"

[[models]]
name = "fraud"
version = "4"
baseline = "baseline4.json"
[models.window]
type = "time"
size = "10m"
step = "2m"
""")
    driftd = subprocess.Popen([DRIFTD, "run", "--config", "driftd.toml"], cwd=work,
                              stderr=open(os.path.join(work, "driftd.log"), "w"))
    prom = None
    try:
        check(dc.wait_for(lambda: dc.http_get(port, "/readyz")[0] == 200, timeout=60),
              "driftd is ready")
        status, text = dc.http_get(port, "/metrics")
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                              text=True)
        check(status == 200 and lint.returncode == 0,
              f"promtool accepts /metrics {lint.stdout[:300]}{lint.stderr[:300]}")
        # Every family /metrics serves is in the README's metric reference.
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        documented = set(re.findall(r"`((?:driftd|process)_\w+?)(?:<\w+>)?`", readme))
        prefixes = {m for m in re.findall(r"`((?:driftd|process)_\w+_)<\w+>`", readme)}
        served = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
        undocumented = sorted(n for n in served if n not in documented and
                              not any(n.startswith(p) for p in prefixes))
        check(not undocumented, f"the README's metric reference has every family {undocumented}")
        prom = Prometheus(work, port)

        def drifting_with_labels():
            a = prom.query('sum(driftd_alerts_firing{model="fraud",model_version="3"})')
            b = prom.query('driftd_model_performance_accuracy{model="fraud",model_version="3"}')
            c = prom.query('driftd_model_window_rows{model="fraud",model_version="4"}')
            return (has_data(a) and float(a["data"]["result"][0]["value"][1]) > 0 and
                    has_data(b) and has_data(c))
        check(dc.wait_for(drifting_with_labels, timeout=120),
              "Prometheus sees an alert firing, performance and the canary's windows")
        time.sleep(3)  # a few more scrapes: rates over them

        # Every variable query, then every panel's expressions.
        values = {"datasource": "", **GRAFANA_BUILTINS}
        order = ["model", "model_version", "feature"]
        boards = load_dashboards()
        empty = []
        queried = 0
        model_board = boards["driftd-model.json"]
        variables = {v["name"]: v for v in model_board["templating"]["list"]}
        for name in order:
            q = fill(variables[name]["query"]["query"], values)
            got = label_values(prom, q)
            queried += 1
            if not got:
                empty.append(f"variable {name}: {q}")
                continue
            if name == "model":
                values[name] = "fraud" if "fraud" in got else got[0]
            elif name == "model_version":
                values[name] = "3" if "3" in got else got[0]
            else:
                values[name] = "|".join(re.escape(v) for v in got)  # "All"
        check("feature" in values and "amount" in values["feature"].split("|"),
              f"the feature variable lists the features ({values.get('feature')})")
        for bname, b in boards.items():
            for p in b["panels"]:
                for t in p.get("targets", []):
                    expr = fill(t["expr"], values)
                    answer = prom.query(expr)
                    queried += 1
                    if not has_data(answer):
                        empty.append(f"{bname} '{p['title']}': {expr} -> "
                                     f"{answer.get('error') or 'no data'}")
        # The recording rules' series, and every alerting rule's expression.
        groups = prom.api("rules")["data"]["groups"]
        names = set(prom.api("label/__name__/values")["data"])
        alert_errors = []
        for g in groups:
            for rule in g["rules"]:
                queried += 1
                if rule["type"] == "recording":
                    if not has_data(prom.query(rule["name"])):
                        empty.append(f"recording rule {rule['name']}: no data")
                    continue
                answer = prom.query(rule["query"])
                if answer.get("status") != "success" or rule.get("health") != "ok":
                    alert_errors.append(f"{rule['name']}: {answer.get('error')} "
                                        f"{rule.get('lastError', '')}")
                for metric in re.findall(r"\b((?:driftd_|process_)\w+|\w+:\w+(?::\w+)*)",
                                         rule["query"]):
                    if metric not in names:
                        alert_errors.append(f"{rule['name']}: no series {metric}")
        print(f"     {queried} queries")
        check(not empty, "every panel, variable and recording rule returns data" +
              "".join("\n       " + e for e in empty))
        check(not alert_errors, "every alerting rule runs on series that exist" +
              "".join("\n       " + e for e in alert_errors))

        def dataset_drift_alert():
            for a in prom.api("alerts")["data"]["alerts"]:
                if (a["labels"]["alertname"] == "DriftdDatasetDrift" and
                        a["labels"].get("model_version") == "3"):
                    return True
            return False
        check(dc.wait_for(dataset_drift_alert, timeout=60),
              "DriftdDatasetDrift goes pending for fraud@3")
    finally:
        if prom:
            prom.stop()
        driftd.send_signal(signal.SIGTERM)
        driftd.wait(timeout=60)
        kafka.stop()
        receiver.stop()


def test_series_cap(work):
    dc.init(DRIFTD, os.path.join(ROOT, "data", "demo", "train.csv"))
    dc.make_baseline(work)
    dc.make_events(os.path.join(work, "events.jsonl"), 3000, seed=3)
    port = dc.free_port()
    cfg = dc.write_config(work, port, 'name = "events"\ntype = "file"\npath = "events.jsonl"\n'
                          'follow = true', 'type = "count"\nsize = 1000')
    with open(cfg) as f:
        text = f.read().replace("[server]\n", "[server]\nmax_metric_features = 4\n", 1)
    with open(cfg, "w") as f:
        f.write(text)
    proc = subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work,
                            stderr=subprocess.DEVNULL)
    try:
        check(dc.wait_for(lambda: 'driftd_model_windows_closed_total{model="fraud",'
                          'model_version="3"} 3' in dc.http_get(port, "/metrics")[1]),
              "windows close")
        _, text = dc.http_get(port, "/metrics")
        drift = [l for l in text.splitlines() if l.startswith("driftd_feature_drift{")]
        psi = {re.search(r'feature="([^"]+)"', l).group(1) for l in text.splitlines()
               if l.startswith("driftd_feature_psi{")}
        dropped = re.search(r"^driftd_metric_features_dropped (\S+)$", text, re.M)
        check(len(drift) == 4 and len(psi) <= 4,
              f"per-feature series for 4 features only ({len(drift)} drift series)")
        check(dropped is not None and float(dropped.group(1)) >= 1,
              f"the rest are counted ({dropped.group(0) if dropped else None})")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    dc.run_tests([test_structure, test_rules, test_live, test_series_cap])
