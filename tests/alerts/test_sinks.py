#!/usr/bin/python3
"""Alert sinks end to end, on the demo's stream, with a real HTTP receiver
that checks each webhook's Standard Webhooks signature with its own HMAC:
- a receiver down at first gets every alert once it is up, in the order
  they were made, each signed, each body the alerts log's line; the log
  sink's file holds the same lines;
- a receiver that hangs past the sink's timeout or answers bytes that are
  not HTTP: each a failed attempt, retried (not dead-lettered), the daemon
  ready meanwhile; a sound receiver then gets every alert, in order;
- HTTPS: a receiver whose certificate no CA vouches for is refused by
  default (retried, nothing delivered); with `ca_file` naming its CA every
  alert arrives, signed;
- a receiver that refuses one for good (400) gets it once: it is
  dead-lettered, not retried, and the others still arrive in order;
- SIGKILLs at random moments during delivery: every alert arrives at least
  once, a repeat is the same message (same webhook-id, same body);
- GET /v1/alerts lists the alerts firing, the metrics count deliveries;
- a reload that changes the sinks is refused (sinks change at a restart);
- a missing secret is a start-up error naming its variable; a damaged
  outbox is refused at start-up, naming the file.

    test_sinks.py DRIFTD TRAIN_CSV ROOT
"""
import base64
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_common as dc  # noqa: E402
from daemon_common import check  # noqa: E402
import alert_common as ac  # noqa: E402

ROOT = None
SECRET = "whsec_" + base64.b64encode(b"driftd test signing key, 32 b.").decode()

RULES = """
[[rules]]
name = "feature_shift"
condition = "psi > 0.2"
min_rows = 500
annotations.summary = "{{feature}} PSI {{value}}"

[[rules]]
name = "many_drifting"
condition = "count(feature: drift) >= 2"
severity = "critical"
"""


def sinks(hook_port):
    return f"""
[[sinks]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:{hook_port}/hook"
secret_env = "DRIFTD_TEST_WEBHOOK_SECRET"
timeout = "2s"
backoff_initial = "100ms"
backoff_max = "400ms"
headers = {{ X-Team = "risk" }}

[[sinks]]
name = "audit"
type = "log"
path = "audit.jsonl"
"""


class Receiver:
    """A webhook receiver on 127.0.0.1: verifies each request's signature
    (its own HMAC code) and records (webhook-id, body) in arrival order.
    `answer(n, id)` gives the status for the n-th request."""

    def __init__(self, port, answer=lambda n, msg_id: 200, delay=0.0, tls=None):
        self.port, self.answer, self.delay = port, answer, delay
        self.received, self.bad_signatures, self.requests = [], 0, 0
        self.lock = threading.Lock()
        key = base64.b64decode(SECRET[len("whsec_"):])

        def handle(path, headers, body):
            msg_id = headers.get("webhook-id", "")
            ts = headers.get("webhook-timestamp", "")
            want = "v1," + base64.b64encode(
                hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
            got = headers.get("webhook-signature", "").split(" ")
            with self.lock:
                n = self.requests
                self.requests += 1
                ok = want in got and abs(time.time() - int(ts or 0)) < 300 and \
                    headers.get("X-Team") == "risk"
                if not ok:
                    self.bad_signatures += 1
            if self.delay:
                time.sleep(self.delay)
            status = self.answer(n, msg_id) if ok else 401
            if status == 200:
                with self.lock:
                    self.received.append((msg_id, body.decode()))
            return status, b"ok" if status == 200 else b"no"

        self.http = ac.HttpReceiver(handle, port, tls)

    def stop(self):
        self.http.stop()


def setup(work, hook_port, follow=False):
    dc.make_baseline(work)
    # The stream's first hour: it ends in the sudden drift, with alerts
    # still firing (the recovery that resolves them is left out).
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "data/demo/make_demo_stream.py"),
                    os.path.join(work, "stream.jsonl"), "--minutes", "60"], check=True)
    path = dc.write_config(work, dc.free_port(),
                           'name = "stream"\ntype = "file"\npath = "stream.jsonl"\n'
                           f'follow = {"true" if follow else "false"}',
                           'type = "time"\nsize = "5m"')
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        # [[sinks]] tables anywhere; the rules after the model tables.
        f.write(sinks(hook_port) + text + RULES)
    return path


def env():
    return dict(os.environ, DRIFTD_TEST_WEBHOOK_SECRET=SECRET)


def start(work):
    return subprocess.Popen([dc.DRIFTD, "run", "--config", "driftd.toml"], cwd=work, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)






def metrics(work):
    """{'name{labels}': value} of the daemon's /metrics."""
    _, text = dc.http_get(ac.api_port(work), "/metrics")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def settled_alerts(work):
    """The alerts once the stream is judged to its end (their count holds
    for 2 s, and there are some)."""
    last, since = None, time.time()
    end = time.time() + 90
    while time.time() < end:
        lines = ac.log_lines(work)
        if lines != last:
            last, since = lines, time.time()
        elif lines and time.time() - since >= 2:
            return lines
        time.sleep(0.1)
    return last or []


def test_receiver_down_then_up(work):
    port = dc.free_port()
    setup(work, port)
    proc = start(work)
    lines = settled_alerts(work)  # meanwhile the receiver is down: many attempts, each refused
    check(len(lines) >= 2, "alerts are made")
    receiver = Receiver(port)
    try:
        check(dc.wait_for(lambda: len(receiver.received) >= len(lines), timeout=60),
              f"once the receiver is up it gets every alert ({len(receiver.received)} of {len(lines)})")
        time.sleep(0.5)
        bodies = [b for _, b in receiver.received]
        check(bodies == lines, "each once, in the order they were made, the alerts log's lines")
        check(receiver.bad_signatures == 0, "every signature verifies (Standard Webhooks, HMAC-SHA256)")
        ids = [i for i, _ in receiver.received]
        check(len(set(ids)) == len(ids) and all(i.startswith("msg_") for i in ids),
              "each has its own webhook-id")
        with open(os.path.join(work, "state", "audit.jsonl")) as f:
            audit = [line.rstrip("\n") for line in f]
        check(audit == lines, "the log sink's file holds the same lines")
        m = metrics(work)
        hook = 'sink="hook",type="webhook"'
        check(m.get(f'driftd_alert_deliveries_total{{{hook},outcome="delivered"}}') == len(lines)
              and m.get(f'driftd_alert_deliveries_total{{{hook},outcome="failed"}}', 0) >= 1
              and m.get(f'driftd_alert_deliveries_total{{{hook},outcome="dead"}}') == 0
              and m.get(f"driftd_alert_delivery_queue{{{hook}}}") == 0,
              "the metrics count the deliveries, the failed attempts and the queue")
        # The alerts still firing: each alert's last change is a firing one.
        last = {}
        for a in map(json.loads, lines):
            last[(a["rule"], a.get("feature", ""))] = a
        firing = [a for a in last.values() if a["state"] == "firing"]
        fired = sum(1 for a in firing if a["rule"] == "feature_shift")
        check(m.get('driftd_alerts_firing{model="fraud",model_version="3",rule="feature_shift",'
                    'severity="warning"}') == fired,
              f"and the alerts firing ({fired} for feature_shift)")
        status, body = dc.http_get(ac.api_port(work), "/v1/alerts")
        active = json.loads(body)["alerts"] if status == 200 else []
        want = sorted((a["rule"], a.get("feature", ""), a["window"]["id"]) for a in firing)
        check(sorted((a["rule"], a.get("feature", ""), a["fired_window"]) for a in active
                     if a["state"] == "firing") == want,
              f"GET /v1/alerts lists the firing alerts ({len(active)} active)")
    finally:
        rc, err = ac.stop_daemon(proc)
        receiver.stop()
    check(rc == 0, "SIGTERM: exit 0")
    check("sink hook: POST http://127.0.0.1:" in err and "retrying in" in err,
          "the refused attempts are logged, with the retry")
    check("DRIFTD_TEST_WEBHOOK_SECRET" not in err and SECRET not in err,
          "the secret is never logged")


class BadReceiver:
    """A TCP peer on the webhook's port that misbehaves: each connection
    either hangs (reads the request, then says nothing for `hang_s`) or
    answers garbage that is not HTTP, in turn."""

    def __init__(self, port, hang_s):
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.stopping = False

        def serve():
            while not self.stopping:
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    return
                n = self.connections
                self.connections += 1
                threading.Thread(target=self.misbehave, args=(conn, n, hang_s),
                                 daemon=True).start()
        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def misbehave(self, conn, n, hang_s):
        try:
            conn.recv(65536)
            if n % 2 == 0:
                time.sleep(hang_s)
            else:
                conn.sendall(b"\x00\xffthis is not HTTP\r\n\r\n{]")
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(timeout=5)


def test_receiver_hangs_or_answers_garbage(work):
    port = dc.free_port()
    setup(work, port)
    bad = BadReceiver(port, hang_s=5)  # the sink's timeout is 2 s
    proc = start(work)
    receiver = None
    try:
        lines = settled_alerts(work)
        check(len(lines) >= 2, "alerts are made")
        check(dc.wait_for(lambda: bad.connections >= 4, timeout=60),
              f"the sink keeps trying a receiver that hangs or answers garbage "
              f"({bad.connections} attempts)")
        m = metrics(work)
        hook = 'sink="hook",type="webhook"'
        check(m.get(f'driftd_alert_deliveries_total{{{hook},outcome="failed"}}', 0) >= 3 and
              m.get(f'driftd_alert_deliveries_total{{{hook},outcome="delivered"}}') == 0 and
              m.get(f'driftd_alert_deliveries_total{{{hook},outcome="dead"}}') == 0,
              "each bad answer is a failed attempt, retried, not a dead letter")
        check(dc.http_get(ac.api_port(work), "/readyz")[0] == 200,
              "and the daemon stays ready meanwhile")
        bad.stop()
        receiver = Receiver(port)
        check(dc.wait_for(lambda: len(receiver.received) >= len(lines), timeout=60),
              f"a sound receiver then gets every alert ({len(receiver.received)} of {len(lines)})")
        time.sleep(0.5)
        check([b for _, b in receiver.received] == lines, "each once, in order")
    finally:
        rc, err = ac.stop_daemon(proc)
        bad.stop()
        if receiver:
            receiver.stop()
    check(rc == 0, "SIGTERM: exit 0")
    check("timed out" in err.lower() or "timeout" in err.lower(),
          "the hanging receiver's timeout is logged")


def test_https_verifies_the_receiver(work):
    port = dc.free_port()
    path = setup(work, port)
    cert, key = ac.self_signed_certificate(work)
    with open(path) as f:
        text = f.read().replace(f"http://127.0.0.1:{port}/hook", f"https://127.0.0.1:{port}/hook")
    with open(path, "w") as f:
        f.write(text)
    receiver = Receiver(port, tls=(cert, key))
    proc = start(work)
    try:
        lines = settled_alerts(work)
        m = {}
        hook = 'sink="hook",type="webhook"'

        def refused():
            m.update(metrics(work))
            return m.get(f'driftd_alert_deliveries_total{{{hook},outcome="failed"}}', 0) >= 2
        check(dc.wait_for(refused, timeout=60) and not receiver.received and
              m.get(f'driftd_alert_deliveries_total{{{hook},outcome="delivered"}}') == 0,
              "HTTPS to a certificate no CA vouches for: refused by default, retried, nothing "
              "delivered")
        rc, err = ac.stop_daemon(proc)
        check(rc == 0 and "certificate" in err.lower(), "the log says why (the certificate)")
        with open(path, "w") as f:
            f.write(text.replace('secret_env = "DRIFTD_TEST_WEBHOOK_SECRET"',
                                 f'secret_env = "DRIFTD_TEST_WEBHOOK_SECRET"\nca_file = "{cert}"'))
        proc = start(work)
        check(dc.wait_for(lambda: len(receiver.received) >= len(lines), timeout=60),
              f"with ca_file naming its CA, every alert arrives over HTTPS, signed "
              f"({len(receiver.received)} of {len(lines)}, {receiver.bad_signatures} bad)")
        check([b for _, b in receiver.received] == lines and receiver.bad_signatures == 0,
              "each once, in order")
    finally:
        ac.stop_daemon(proc)
        receiver.stop()


def test_rejected_once_is_dead_lettered(work):
    port = dc.free_port()
    setup(work, port)
    first = []

    def answer(n, msg_id):
        if not first:
            first.append(msg_id)
        return 400 if msg_id == first[0] else 200

    receiver = Receiver(port, answer)
    proc = start(work)
    try:
        lines = settled_alerts(work)
        check(len(lines) >= 2, "alerts are made")
        check(dc.wait_for(lambda: len(receiver.received) >= len(lines) - 1, timeout=60),
              "the others arrive")
        time.sleep(1)
        check([b for _, b in receiver.received] == lines[1:], "in order, after the refused one")
        check(receiver.requests == len(lines), "the refused one was tried once: a 400 is not retried")
    finally:
        rc, err = ac.stop_daemon(proc)
        receiver.stop()
    check("refused" in err and "for good, dead-lettered in the outbox: HTTP 400" in err,
          "and is logged as dead-lettered with the answer")


def test_kill9_during_delivery(work):
    port = dc.free_port()
    setup(work, port)
    receiver = Receiver(port, delay=0.15)
    rng = random.Random(11)
    kills = 0
    try:
        while kills < 6:
            proc = start(work)
            time.sleep(rng.uniform(0.2, 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        proc = start(work)
        check(dc.wait_for(lambda: dc.http_get(ac.api_port(work), "/readyz")[0] == 200, timeout=60),
              "the last run starts")
        lines = []

        def all_there():
            lines[:] = ac.log_lines(work)
            keys = {json.loads(b)["key"] for _, b in receiver.received}
            return lines and all(json.loads(l)["key"] in keys for l in lines)

        check(dc.wait_for(all_there, timeout=90),
              f"after {kills} SIGKILLs every alert arrived at least once ({len(lines)} alerts)")
        by_id = {}
        same = True
        for msg_id, body in receiver.received:
            same &= by_id.setdefault(msg_id, body) == body
        check(same, "a repeat is the same message: same webhook-id, same body")
        check(len(by_id) == len({json.loads(l)["key"] for l in lines}),
              "one webhook-id per alert")
        rc, err = ac.stop_daemon(proc)
        check(rc == 0, "the last run stops cleanly" + ("" if rc == 0 else f" ({rc}: {err[-300:]})"))
    finally:
        receiver.stop()


def test_reload_keeps_sinks(work):
    port = dc.free_port()
    path = setup(work, port)
    receiver = Receiver(port)
    proc = start(work)
    try:
        check(dc.wait_for(lambda: dc.http_get(ac.api_port(work), "/readyz")[0] == 200, timeout=60),
              "ready")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace('name = "audit"', 'name = "audit2"'))
        proc.send_signal(signal.SIGHUP)
        check(dc.wait_for(lambda: metrics(work).get("driftd_config_reload_failures_total") == 1,
                          timeout=30),
              "a reload that changes [[sinks]] is refused (counted)")
        check(dc.http_get(ac.api_port(work), "/readyz")[0] == 200, "and the daemon goes on")
    finally:
        rc, err = ac.stop_daemon(proc)
        receiver.stop()
    check("[[sinks]] changed (sinks change at a restart)" in err, "and says why")


def test_bad_start(work):
    setup(work, dc.free_port())
    r = subprocess.run([dc.DRIFTD, "config", "check", "driftd.toml"], cwd=work,
                       capture_output=True, text=True)
    check(r.returncode == 2 and "sinks[0].secret_env: the environment variable "
          "DRIFTD_TEST_WEBHOOK_SECRET is not set" in r.stderr,
          f"a missing secret names its variable ({r.stderr.strip()})")
    os.makedirs(os.path.join(work, "state"), exist_ok=True)
    with open(os.path.join(work, "state", "outbox.sqlite"), "wb") as f:
        f.write(b"SQLite format 3\0" + os.urandom(4080))
    r = subprocess.run([dc.DRIFTD, "run", "--config", "driftd.toml"], cwd=work, env=env(),
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "outbox.sqlite" in r.stderr,
          f"a damaged outbox is refused at start-up, naming it ({r.stderr.strip()[-200:]})")


def main():
    global ROOT
    dc.init(sys.argv[1], sys.argv[2])
    ROOT = os.path.abspath(sys.argv[3])
    dc.run_tests([test_receiver_down_then_up, test_receiver_hangs_or_answers_garbage,
                  test_https_verifies_the_receiver,
                  test_rejected_once_is_dead_lettered,
                  test_kill9_during_delivery, test_reload_keeps_sinks, test_bad_start])


if __name__ == "__main__":
    main()
