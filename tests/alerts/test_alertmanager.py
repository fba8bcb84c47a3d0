#!/usr/bin/python3
"""driftd's alertmanager sink against a real Alertmanager (Debian's
prometheus-alertmanager, started on 127.0.0.1 by the test and stopped
after), which routes to a webhook receiver of the test:
- a drifting feature's alert shows in Alertmanager's API (GET
  /api/v2/alerts) with driftd's labels and annotations, startsAt at the
  window that fired it;
- while it fires it stays there well past the time each send is valid
  for (4 x repeat_interval): driftd says it again, updatedAt moves on;
- driftd SIGKILLed while it fires: the alert expires in Alertmanager;
  driftd restarted: the alert is back at once (the outbox knows what was
  firing), with the same startsAt;
- once serving looks like training again, the alert resolves: gone from
  the API, and Alertmanager's resolved notification carries endsAt at the
  window that resolved it (a resolve, not an expiry).

    test_alertmanager.py DRIFTD TRAIN_CSV
"""
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, HERE)
import daemon_common as dc  # noqa: E402
from daemon_common import check  # noqa: E402
import alert_common as ac  # noqa: E402

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
REPEAT_S = 1


class Notifications:
    """Alertmanager's webhook notifications, as it sends them."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()

        def handle(path, headers, body):
            with self.lock:
                self.received.append(json.loads(body))
            return 200, b""

        self.http = ac.HttpReceiver(handle)
        self.port = self.http.port

    def firing(self, feature):
        with self.lock:
            return sum(1 for n in self.received for a in n["alerts"]
                       if a["status"] == "firing" and a["labels"].get("feature") == feature)

    def resolved(self):
        with self.lock:
            return [a for n in self.received for a in n["alerts"] if a["status"] == "resolved"]

    def stop(self):
        self.http.stop()


class Alertmanager:
    def __init__(self, work, hook_port):
        self.port = dc.free_port()
        cfg = os.path.join(work, "alertmanager.yml")
        with open(cfg, "w") as f:
            f.write(f"""route:
  receiver: test
  group_by: ['alertname', 'feature']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: http://127.0.0.1:{hook_port}/am
        send_resolved: true
""")
        self.log = open(os.path.join(work, "alertmanager.log"), "w")
        self.proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={work}/am-data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT)
        ok = dc.wait_for(lambda: self.get("/-/ready")[0] == 200, timeout=30)
        if not ok:
            self.stop()
            raise RuntimeError("alertmanager did not start: see " + self.log.name)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except OSError:
            return 0, ""

    def alerts(self):
        status, body = self.get("/api/v2/alerts")
        return json.loads(body) if status == 200 else []

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def ms_of(rfc3339):
    return int(datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def start(work):
    return subprocess.Popen([dc.DRIFTD, "run", "--config", "driftd.toml"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)




def test_alertmanager(work):
    dc.make_baseline(work)
    rows = ac.training_rows(dc.TRAIN)
    # Event time two hours ago, on a window boundary.
    t0 = (int(time.time() * 1000) - 2 * 3600 * 1000) // 300000 * 300000
    events = os.path.join(work, "events.jsonl")
    # 15 minutes of drift (three 5-minute windows), then one event that
    # closes the third.
    t = ac.write_phases(events, rows, t0, [(15, True)])
    ac.write_phases(events, rows, t, [(0.01, False)], mode="a")
    dc.write_config(work, dc.free_port(),
                    'name = "stream"\ntype = "file"\npath = "events.jsonl"\nfollow = true',
                    'type = "time"\nsize = "5m"')
    hook = Notifications()
    am = Alertmanager(work, hook.port)
    with open(os.path.join(work, "driftd.toml")) as f:
        text = f.read()
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write(f"""[[sinks]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:{am.port}"
repeat_interval = "{REPEAT_S}s"
backoff_initial = "100ms"
backoff_max = "500ms"
""" + text + """
[[rules]]
name = "feature_shift"
condition = "psi > 0.2"
min_rows = 100
annotations.summary = "{{feature}} PSI {{value}}"
""")
    proc = start(work)
    try:
        def amount_alert():
            for a in am.alerts():
                if a["labels"].get("feature") == "amount":
                    return a
            return None
        check(dc.wait_for(lambda: amount_alert() is not None, timeout=60),
              "the amount alert shows in Alertmanager's API")
        a = amount_alert()
        fired = [x for x in ac.log_records(work, "alert") if x.get("feature") == "amount" and
                 x["state"] == "firing"][0]
        check(a["labels"] == {"alertname": "feature_shift", "model": "fraud", "model_version": "3",
                              "feature": "amount", "severity": "warning"},
              f"with driftd's labels ({a['labels']})")
        check(a["annotations"]["summary"].startswith("amount PSI "), "and annotations")
        check(ms_of(a["startsAt"]) == fired["fired_at"],
              "startsAt is the end of the window that fired it")
        check(a["status"]["state"] == "active", "it is active")
        first_update = a["updatedAt"]
        time.sleep(4 * REPEAT_S + 3)
        a = amount_alert()
        check(a is not None and a["updatedAt"] != first_update,
              "past its validity it is still there: driftd re-sends it while it fires")

        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check(dc.wait_for(lambda: amount_alert() is None, timeout=4 * REPEAT_S + 10),
              "driftd killed: the alert expires in Alertmanager")
        proc = start(work)
        check(dc.wait_for(lambda: amount_alert() is not None, timeout=30),
              "driftd restarted: the alert is back (read from the outbox, re-sent at once)")
        check(ms_of(amount_alert()["startsAt"]) == fired["fired_at"], "with the same startsAt")
        firing_again = [x for x in ac.log_records(work, "alert") if x.get("feature") == "amount"]
        check(len(firing_again) == 1, "and the restart fired nothing twice")
        # Alertmanager tells its receiver of the alert again (it had
        # resolved by expiry); only then is its resolve news to it (a fire
        # and a resolve within one group_interval are not notified at all).
        check(dc.wait_for(lambda: hook.firing("amount") >= 2, timeout=20),
              "Alertmanager notified the alert firing again")

        # Serving looks like training again: three calm windows.
        t = ac.write_phases(events, rows, t + 10, [(15, False)], seed=8, mode="a")
        ac.write_phases(events, rows, t, [(0.01, False)], mode="a")
        check(dc.wait_for(lambda: any(x.get("feature") == "amount" and x["state"] == "resolved"
                                      for x in ac.log_records(work, "alert")), timeout=60),
              "the alert resolves in driftd")
        resolved = [x for x in ac.log_records(work, "alert") if x.get("feature") == "amount" and
                    x["state"] == "resolved"][0]
        check(dc.wait_for(lambda: amount_alert() is None, timeout=10),
              "and is gone from Alertmanager's active alerts")
        check(dc.wait_for(lambda: any(r["labels"].get("feature") == "amount" and
                                      ms_of(r["endsAt"]) == resolved["resolved_at"]
                                      for r in hook.resolved()), timeout=20),
              "Alertmanager's resolved notification has endsAt at the window that resolved it "
              f"({resolved['resolved_at']}; notified: " +
              ", ".join(f"{r['labels'].get('feature')} {r['endsAt']}" for r in hook.resolved()) +
              ")")

        _, text = dc.http_get(ac.api_port(work), "/metrics")
        check('driftd_alert_deliveries_total{sink="am",type="alertmanager",outcome="delivered"}'
              in text, "the deliveries are counted")
    finally:
        _, err = ac.stop_daemon(proc)
        am.stop()
        hook.stop()
    check(proc.returncode == 0, "SIGTERM: exit 0" + ("" if proc.returncode == 0 else err[-500:]))


def main():
    dc.init(sys.argv[1], sys.argv[2])
    dc.run_tests([test_alertmanager])


if __name__ == "__main__":
    main()
