#!/usr/bin/python3
"""Retraining triggers and the sinks that carry them, on the demo's stream
with the shipped retrain rules, each receiver a real HTTP or Kafka peer:
- the Airflow recipe: the exact request Airflow's stable REST API takes
  (POST /api/v1/dags/retrain_fraud/dagRuns, basic auth, JSON with
  dag_run_id and conf = the trigger); a receiver that answers 409 for a run
  id it has seen, as Airflow does: SIGKILLs during delivery, restarted each
  time, and every trigger of the alerts log started exactly one DAG run;
- the Argo Events recipe: a webhook sink to the event source's endpoint
  (POST /retrain), signed; the fields the recipe's Sensor reads are there;
- the kafka sink: with the brokers down (through the SIGKILLed runs and
  into the last) it retries and delivers nothing; once they are up, every
  alert and trigger is on the topic (librdkafka's mock cluster), read back
  with kcat, keyed by model, with the driftd-key header;
- the slack sink: a message per notification with its key figures;
- GET /v1/triggers and /v1/alerts/history list them with their deliveries;
  the trigger counter and the delivery latency histogram in /metrics.

    test_triggers.py DRIFTD TRAIN_CSV ROOT MOCK_KAFKA
"""
import base64
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "kafka"))
import daemon_common as dc  # noqa: E402
from mock_cluster import MockCluster  # noqa: E402
from daemon_common import check  # noqa: E402
import alert_common as ac  # noqa: E402

ROOT = MOCK = None
SECRET = "whsec_" + base64.b64encode(b"argo events signing key, 32 by.").decode()
AIRFLOW_AUTH = "Basic " + base64.b64encode(b"driftd:airflow-pass").decode()


class Receiver:
    """An HTTP receiver on 127.0.0.1 recording (path, headers, body);
    `answer(path, headers, body)` gives the status."""

    def __init__(self, answer=lambda p, h, b: 200, delay=0.0):
        self.requests = []
        self.lock = threading.Lock()

        def handle(path, headers, body):
            if delay:
                time.sleep(delay)
            with self.lock:
                status = answer(path, headers, body)
                self.requests.append((path, dict(headers), body.decode()))
            return status, b"{}"

        self.http = ac.HttpReceiver(handle)
        self.port = self.http.port

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, _, b in self.requests]

    def stop(self):
        self.http.stop()


class Airflow:
    """Airflow's POST /api/v1/dags/{dag_id}/dagRuns as its API documents it:
    401 without the credentials, 400 without a JSON object, 409 for a
    dag_run_id that exists, 200 with the new run otherwise."""

    def __init__(self):
        self.runs = {}  # dag_run_id -> conf
        self.bad = []
        self.receiver = Receiver(self.answer, delay=0.1)

    def answer(self, path, headers, body):
        if path != "/api/v1/dags/retrain_fraud/dagRuns":
            self.bad.append("path " + path)
            return 404
        if headers.get("Authorization") != AIRFLOW_AUTH:
            self.bad.append("auth")
            return 401
        if headers.get("Content-Type") != "application/json":
            self.bad.append("content type")
            return 415
        try:
            req = json.loads(body)
        except ValueError:
            self.bad.append("json")
            return 400
        if set(req) - {"dag_run_id", "conf", "note", "logical_date"} or \
                not isinstance(req.get("conf"), dict):
            self.bad.append("fields " + str(sorted(req)))
            return 400
        if req["dag_run_id"] in self.runs:
            return 409
        self.runs[req["dag_run_id"]] = req["conf"]
        return 200






def metric(text, name, labels):
    """The value of one sample of a Prometheus text page, or None."""
    for line in text.splitlines():
        if line.startswith(name + "{" + labels + "}"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_triggers(work):
    dc.make_baseline(work)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "data/demo/make_demo_stream.py"),
                    os.path.join(work, "stream.jsonl")], check=True)
    airflow = Airflow()
    argo = Receiver()
    slack = Receiver()
    mock = MockCluster(MOCK, {"driftd-notifications": 2})
    bootstrap = mock.bootstrap
    # The brokers are down through every SIGKILLed run and the first
    # seconds of the last one: the kafka sink retries, loses nothing.
    mock.brokers("down")
    dc.write_config(work, dc.free_port(),
                    'name = "stream"\ntype = "file"\npath = "stream.jsonl"\nfollow = false',
                    'type = "time"\nsize = "5m"')
    with open(os.path.join(work, "driftd.toml")) as f:
        text = f.read()
    rules = os.path.join(ROOT, "config", "retrain.rules.toml")
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write(f"""rule_files = ["{rules}"]

[[sinks]]
name = "dags"
type = "airflow"
url = "http://127.0.0.1:{airflow.receiver.port}"
dag_id = "retrain_fraud"
username = "driftd"
password_env = "DRIFTD_TEST_AIRFLOW_PASSWORD"
backoff_initial = "100ms"
backoff_max = "300ms"

[[sinks]]
name = "argo"
type = "webhook"
url = "http://127.0.0.1:{argo.port}/retrain"
secret_env = "DRIFTD_TEST_ARGO_SECRET"

[[sinks]]
name = "bus"
type = "kafka"
brokers = "{bootstrap}"
topic = "driftd-notifications"
timeout = "1s"
backoff_initial = "100ms"
backoff_max = "500ms"

[[sinks]]
name = "chat"
type = "slack"
url_env = "DRIFTD_TEST_SLACK_URL"

[[triggers]]
name = "retrain"
on = ["schema_changed", "data_drift", "accuracy_drop"]
cooldown = "10m"
max_per_day = 3
sinks = ["dags", "argo", "bus", "chat"]
""" + text)
    env = dict(os.environ, DRIFTD_TEST_AIRFLOW_PASSWORD="airflow-pass",
               DRIFTD_TEST_ARGO_SECRET=SECRET,
               DRIFTD_TEST_SLACK_URL=f"http://127.0.0.1:{slack.port}/services/T0/B0/x")

    def start():
        return subprocess.Popen([dc.DRIFTD, "run", "--config", "driftd.toml"], cwd=work, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    rng = random.Random(5)
    try:
        for _ in range(5):
            proc = start()
            time.sleep(rng.uniform(0.3, 1.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        proc = start()
        check(dc.wait_for(lambda: dc.http_get(ac.api_port(work), "/readyz")[0] == 200, timeout=60),
              "the last run starts")
        triggers = []

        def unique(records):
            """The alerts log is at least once (a line written before a
            SIGKILL is written again by the replay): one per key, and every
            repeat identical."""
            by_key = {}
            for r in records:
                if by_key.setdefault(r["key"], r) != r:
                    by_key[r["key"]] = None
            return list(by_key.values())

        def all_started():
            triggers[:] = unique(ac.log_records(work, "trigger"))
            return triggers and len(airflow.runs) >= len(triggers) and \
                sum(json.loads(b)["kind"] == "trigger" for _, _, b in argo.requests) >= len(triggers)
        check(dc.wait_for(all_started, timeout=90),
              f"every trigger reached Airflow and Argo ({len(triggers)} triggers)")
        time.sleep(1)
        check(not airflow.bad, f"each request is one Airflow's API takes ({airflow.bad[:3]})")
        check(None not in triggers, "a trigger written again to the alerts log is identical")
        keys = [t["idempotency_key"] for t in triggers]
        check(sorted(c["idempotency_key"] for c in airflow.runs.values()) == sorted(keys),
              f"one DAG run per trigger, after the SIGKILLs ({len(airflow.runs)} runs, "
              f"{len(airflow.receiver.requests)} requests)")
        check(all(rid.startswith("driftd__trigger_retrain_fraud_3_") for rid in airflow.runs),
              "run ids from the idempotency keys")
        t = triggers[0]
        check(t["because"][0]["rule"] in ("schema_changed", "data_drift", "accuracy_drop") and
              t["window"]["rows"] > 0 and t["baseline"]["file"] == "baseline.json" and
              "drifting_features" in t["evidence"],
              "a trigger carries why, the window, the evidence and the baseline")
        key = base64.b64decode(SECRET[len("whsec_"):])
        good = 0
        # Rules with no `sinks` go to every sink that takes alerts: argo too.
        to_argo = [r for r in argo.requests if json.loads(r[2])["kind"] == "trigger"]
        for path, headers, body in to_argo:
            want = "v1," + base64.b64encode(hmac.new(
                key, f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode(),
                hashlib.sha256).digest()).decode()
            b = json.loads(body)
            good += path == "/retrain" and want in headers["webhook-signature"].split(" ") and \
                b["kind"] == "trigger" and b["model"]["name"] == "fraud" and \
                "idempotency_key" in b and "window" in b
        check(good == len(to_argo) and {json.loads(b)["idempotency_key"] for _, _, b in to_argo}
              == set(keys), "Argo's event source gets each trigger, signed")

        alerts = unique(ac.log_records(work, "alert"))
        check(dc.wait_for(lambda: len(slack.requests) >= len(alerts) + len(triggers), timeout=60),
              "slack gets a message per alert and trigger")
        texts = [b["text"] for b in slack.bodies()]
        check(any("*Retraining triggered* (retrain) for model *fraud*" in x for x in texts) and
              any("*FIRING*" in x for x in texts), "with the key figures")

        bus = 'sink="bus",type="kafka"'
        seen = {}

        def bus_retrying():
            _, text = dc.http_get(ac.api_port(work), "/metrics")
            for outcome in ("failed", "delivered"):
                seen[outcome] = metric(text, "driftd_alert_deliveries_total",
                                       f'{bus},outcome="{outcome}"')
            seen["queue"] = metric(text, "driftd_alert_delivery_queue", bus)
            return (seen["failed"] or 0) >= 2
        # An attempt ends when librdkafka times the message out (timeout = 1s).
        check(dc.wait_for(bus_retrying, timeout=30) and seen["delivered"] == 0 and
              (seen["queue"] or 0) > 0,
              f"while the brokers are down, the kafka sink retries and delivers nothing ({seen})")
        mock.brokers("up")
        want = {json.dumps(x, separators=(",", ":")) for x in alerts + triggers}
        got = set()

        def on_topic():
            r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", "driftd-notifications", "-e",
                                "-q", "-f", "%k\t%h\t%s\n"], capture_output=True, text=True,
                               timeout=60)
            for line in r.stdout.splitlines():
                k, h, v = line.split("\t", 2)
                if k == "fraud" and "driftd-key=" in h:
                    got.add(v)
            return want <= got
        check(dc.wait_for(on_topic, timeout=60),
              f"once the brokers are back, the kafka topic holds every alert and trigger, keyed "
              f"by model ({len(got)} of {len(want)})")

        status, body = dc.http_get(ac.api_port(work), "/v1/triggers?limit=1000")
        listed = json.loads(body)["triggers"] if status == 200 else []
        check(sorted(x["notification"]["idempotency_key"] for x in listed) == sorted(keys),
              "GET /v1/triggers lists them")
        check(all({d["sink"] for d in x["deliveries"]} == {"dags", "argo", "bus", "chat"} and
                  all(d["state"] == "delivered" for d in x["deliveries"]) for x in listed),
              "each with its deliveries")
        status, body = dc.http_get(ac.api_port(work), "/v1/alerts/history?limit=2")
        page = json.loads(body) if status == 200 else {}
        check(len(page.get("alerts", [])) == min(2, len(alerts)) and
              (len(alerts) <= 2 or page["next_before"] is not None),
              "GET /v1/alerts/history pages through the alerts")
        check(dc.http_get(ac.api_port(work), "/v1/triggers?limit=0")[0] == 400,
              "a bad limit is a 400")
        _, text = dc.http_get(ac.api_port(work), "/metrics")
        check('driftd_retrain_triggers_total{model="fraud",model_version="3",outcome="sent"}'
              in text, "the triggers are counted (since the start)")
        check('driftd_alert_delivery_latency_seconds_count{sink="dags",type="airflow"}' in text,
              "and the delivery latency")

        def all_delivered():
            status, body = dc.http_get(ac.api_port(work), "/v1/alerts/history?limit=1000")
            return status == 200 and all(d["state"] == "delivered" for x in
                                         json.loads(body)["alerts"] for d in x["deliveries"])
        check(dc.wait_for(all_delivered, timeout=60), "every alert is delivered to every sink")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        check(proc.returncode == 0, "SIGTERM: exit 0" + ("" if proc.returncode == 0 else err[-400:]))
        check("airflow-pass" not in err and "services/T0" not in err,
              "no password and no Slack URL in the log")

        # Bounded history: restarted with a retention of 1 s, the daemon's
        # first prune forgets every delivered notification but each alert's
        # newest (which a restart re-sends while it fires).
        time.sleep(1.5)
        with open(os.path.join(work, "driftd.toml")) as f:
            config = f.read()
        with open(os.path.join(work, "driftd.toml"), "w") as f:
            f.write(config.replace('dir = "state"',
                                   'dir = "state"\noutbox_retention = "1s"\noutbox_keep = 0'))
        newest = {}
        for a in alerts:
            newest[(a["rule"], a.get("feature", ""))] = a["key"]
        proc = start()

        def pruned():
            status, body = dc.http_get(ac.api_port(work), "/v1/alerts/history?limit=1000")
            t_status, t_body = dc.http_get(ac.api_port(work), "/v1/triggers?limit=1000")
            if status != 200 or t_status != 200:
                return False
            kept = sorted(x["notification"]["key"] for x in json.loads(body)["alerts"])
            return kept == sorted(newest.values()) and json.loads(t_body)["triggers"] == []
        check(dc.wait_for(pruned, timeout=30),
              f"outbox_retention: the history keeps each alert's newest change only "
              f"({len(newest)} of {len(alerts)})")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        check(proc.returncode == 0, "and stops cleanly")
    finally:
        if proc.poll() is None:
            proc.kill()
        mock.stop()
        for r in (airflow.receiver, argo, slack):
            r.stop()


def test_bad_config(work):
    dc.make_baseline(work)
    dc.write_config(work, dc.free_port(), 'name = "s"\ntype = "file"\npath = "x.jsonl"',
                    'type = "time"\nsize = "5m"')
    with open(os.path.join(work, "driftd.toml")) as f:
        text = f.read()

    def refused(extra):
        with open(os.path.join(work, "driftd.toml"), "w") as f:
            f.write(extra + text + '\n[[rules]]\nname = "r"\ncondition = "psi > 0.2"\n')
        r = subprocess.run([dc.DRIFTD, "config", "check", "driftd.toml"], cwd=work,
                           capture_output=True, text=True)
        return r.returncode, r.stderr.strip()

    rc, err = refused('[[triggers]]\nname = "t"\non = ["nope"]\n')
    check(rc == 2 and "triggers[0].on: no rule named 'nope'" in err, f"an unknown rule ({err})")
    rc, err = refused('[[sinks]]\nname = "am"\ntype = "alertmanager"\nurl = "http://x"\n'
                      '[[triggers]]\nname = "t"\non = ["r"]\nsinks = ["am"]\n')
    check(rc == 2 and "sink 'am' (type alertmanager) takes alerts, not retraining triggers" in err,
          f"a trigger to a sink that takes alerts only ({err})")
    text = text.replace('dir = "state"', 'dir = "state"\noutbox_retention = "0s"')
    rc, err = refused("")
    check(rc == 2 and "state: outbox_retention must be positive" in err,
          f"an outbox retention of nothing ({err})")


def main():
    global ROOT, MOCK
    dc.init(sys.argv[1], sys.argv[2])
    ROOT = os.path.abspath(sys.argv[3])
    MOCK = os.path.abspath(sys.argv[4])
    dc.run_tests([test_triggers, test_bad_config])


if __name__ == "__main__":
    main()
