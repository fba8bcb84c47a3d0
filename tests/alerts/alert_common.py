"""What the alert tests share: event streams in phases of serving that
looks like training (rows of the training data, resampled) or drifts
(amounts eight times larger, a new market), in event time; the daemon's
alerts log; its API port; HTTP receivers for the sinks; stopping a daemon."""
import csv
import http.server
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import threading


class HttpReceiver:
    """An HTTP server on 127.0.0.1, serving in a thread, for the sinks'
    requests: `handle(path, headers, body)` runs for each POST and returns
    (status, reply bytes). `port`: 0 picks a free one. `tls`: (certificate
    file, key file) to serve HTTPS."""

    def __init__(self, handle, port=0, tls=None):
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, reply = handle(self.path, self.headers, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the daemon was killed while it waited for the answer

        if not port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def self_signed_certificate(work):
    """A certificate for 127.0.0.1 (its own CA) and its key, made with
    openssl in work: (certificate file, key file)."""
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def stop_daemon(proc, timeout=30):
    """SIGTERM, then its exit status and stderr (killed after `timeout` s)."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


def log_lines(work):
    """The alerts log's lines, as they are there."""
    p = os.path.join(work, "state", "alerts.jsonl")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def log_records(work, kind=None):
    """The alerts log's records (of one kind: "alert" or "trigger")."""
    return [r for r in map(json.loads, log_lines(work)) if kind is None or r["kind"] == kind]


def api_port(work):
    """The daemon's port, from driftd.toml in work."""
    with open(os.path.join(work, "driftd.toml")) as f:
        return int(f.read().split('listen = "127.0.0.1:', 1)[1].split('"', 1)[0])


def training_rows(train_csv):
    with open(train_csv) as f:
        return list(csv.DictReader(f))


def write_phases(path, rows, t0, phases, rate=2.0, seed=7, mode="w"):
    """Appends (mode "a") or writes events: `phases` is a list of (minutes,
    drifted). One event every 1/rate seconds of event time; returns the
    event time after the last one."""
    rng = random.Random(seed)
    ts = t0
    step = int(1000 / rate)
    with open(path, mode) as f:
        for minutes, drifted in phases:
            for _ in range(int(minutes * 60 * rate)):
                r = rng.choice(rows)
                amount = float(r["amount"]) * (8 if drifted else 1)
                country = "BR" if drifted and rng.random() < 0.5 else r["country"]
                features = {"amount": amount, "country": country, "device": r["device"]}
                for k in ("age", "tenure_days"):
                    features[k] = float(r[k]) if r[k] else None  # missing in training too
                ev = {"model": "fraud", "model_version": "3", "id": f"e{ts}", "ts": ts,
                      "features": features, "prediction": float(r["score"])}
                f.write(json.dumps(ev) + "\n")
                ts += step
    return ts
