#!/usr/bin/python3
"""The HTTP server under hostile and careless clients, over real sockets on
127.0.0.1, and its authentication and TLS.

    test_http_limits.py DRIFTD_BINARY TRAINING_CSV

- 1,000 idle sockets and a slowloris attack (headers dripped a byte at a
  time) at once: a well-behaved client is still served (ingest and API),
  /healthz and /readyz answer at once, the attackers are closed by the
  header and idle deadlines or evicted at max_connections, all counted.
- bodies: 2 MiB with Content-Length is taken (Beast's 1 MiB default once
  dropped it with no answer), over max_body_bytes is 413 with a readable
  body, chunked likewise; a stalled body and a client that reads no answer
  are closed by their deadlines; a 20 KB header gets 431.
- bearer tokens: ingest and /v1 need one, /metrics and probes as set,
  401 with WWW-Authenticate, the token never in a log line; listening
  beyond loopback without one is warned about.
- TLS with a certificate made by openssl here: curl and Python verify it;
  a plain-HTTP client gets nothing.
- /v1/models shows no absolute paths.
"""
import http.client
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_common  # noqa: E402
from daemon_common import check, free_port, http_get, make_baseline, wait_for  # noqa: E402

daemon_common.init(sys.argv[1], sys.argv[2])
DRIFTD = daemon_common.DRIFTD

GOOD = json.dumps({"model": "fraud", "model_version": "3", "id": "a", "ts": 1764115200000,
                   "features": {"amount": 3.5, "country": "DE"}, "prediction": 0.2})


def write_config(work, port, server="", source_extra="", listen_host="127.0.0.1"):
    path = os.path.join(work, "driftd.toml")
    with open(path, "w") as f:
        f.write(f"""[server]
listen = "{listen_host}:{port}"
{server}

[state]
dir = "state"
checkpoint_interval = "1s"

[[sources]]
name = "ingest"
type = "http"
durable = false
{source_extra}

[[models]]
name = "fraud"
version = "3"
baseline = "baseline.json"
[models.window]
type = "count"
size = 1000
""")
    return path


def start(work, cfg, env=None):
    err = open(os.path.join(work, "err.log"), "a")
    return subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work, stderr=err,
                            env={**os.environ, **(env or {})})


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def metric(port, name, labels=""):
    _, text = http_get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + ("{" + labels + "}" if labels else " ")) or \
                (labels and line.startswith(name + "{") and labels in line):
            return float(line.rsplit(" ", 1)[1])
    return None


def request(port, method, path, body=None, headers=None, timeout=5, context=None, chunked=False):
    """(status, body text, headers) over a fresh connection, or (None, error, {})."""
    try:
        if context is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                               context=context)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        r = conn.getresponse()
        data = r.read().decode(errors="replace")
        conn.close()
        return r.status, data, dict(r.getheaders())
    except (OSError, http.client.HTTPException) as e:
        return None, str(e), {}


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


# ------------------------------------------------------- idle sockets, slowloris
def test_idle_and_slowloris(work):
    make_baseline(work)
    port = free_port()
    cfg = write_config(work, port, server='max_connections = 200\nheader_timeout = "1500ms"\n'
                                          'idle_timeout = "2s"')
    proc = start(work, cfg)
    raise_fd_limit(4096)
    idle, loris = [], []
    stop_loris = threading.Event()
    try:
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200), "ready")
        for _ in range(1000):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            idle.append(s)
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            loris.append(s)

        def drip():
            # One byte of a header every 200 ms from every slowloris socket.
            header = b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 4000
            at = 0
            while not stop_loris.is_set():
                for s in loris:
                    try:
                        s.send(header[at:at + 1])
                    except OSError:
                        pass
                at = (at + 1) % len(header)
                stop_loris.wait(0.2)

        dripper = threading.Thread(target=drip)
        dripper.start()
        time.sleep(0.5)
        # A well-behaved client, repeatedly, while the attack runs.
        served, probes, slowest_probe = 0, 0, 0.0
        for i in range(20):
            t = time.time()
            status, _, _ = request(port, "GET", "/healthz", timeout=5)
            slowest_probe = max(slowest_probe, time.time() - t)
            probes += status == 200
            status, body, _ = request(port, "POST", "/v1/predictions", body=GOOD.encode(),
                                      timeout=5)
            served += status == 202
            status, _, _ = request(port, "GET", "/v1/models", timeout=5)
            served += status == 200
            time.sleep(0.1)
        check(served == 40, f"a good client is served during the attack ({served} of 40)")
        check(probes == 20 and slowest_probe < 1.0,
              f"/healthz answers at once ({probes} of 20, slowest {slowest_probe:.2f} s)")
        check(http_get(port, "/readyz")[0] == 200, "/readyz stays 200")
        evicted = metric(port, "driftd_http_connections_closed_total", 'reason="evicted"')
        check(evicted is not None and evicted > 0,
              f"connections past max_connections evict the longest-waiting ({evicted})")
        # The deadlines close what eviction left: idle sockets within the
        # header timeout, slowloris within it from its first byte.
        check(wait_for(lambda: (metric(port, "driftd_http_connections_open") or 999) <= 5,
                       timeout=10),
              f"idle and slowloris sockets are closed by the deadlines "
              f"({metric(port, 'driftd_http_connections_open')} open)")
        timeouts = metric(port, "driftd_http_connections_closed_total", 'reason="timeout_header"')
        check(timeouts is not None and timeouts > 0, f"header timeouts are counted ({timeouts})")
    finally:
        stop_loris.set()
        for s in idle + loris:
            s.close()
        check(stop(proc) == 0, "SIGTERM: exit 0")


# ------------------------------------------------------------------- bodies
def test_bodies_and_deadlines(work):
    make_baseline(work)
    port = free_port()
    cfg = write_config(work, port,
                       server='body_timeout = "1s"\nwrite_timeout = "1s"\nheader_timeout = "2s"',
                       source_extra='max_body_bytes = "4MiB"\nqueue_bytes = "64MiB"')
    proc = start(work, cfg)
    try:
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200), "ready")
        line = GOOD + "\n"
        two_mib = line * (2 * 1024 * 1024 // len(line) + 1)
        status, body, _ = request(port, "POST", "/v1/predictions", body=two_mib.encode(),
                                  timeout=30)
        check(status == 202, f"a 2 MiB body with Content-Length is taken ({status} {body[:80]})")
        five_mib = line * (5 * 1024 * 1024 // len(line) + 1)
        status, body, _ = request(port, "POST", "/v1/predictions", body=five_mib.encode(),
                                  timeout=30)
        check(status == 413 and "max_body_bytes" in body,
              f"over max_body_bytes: 413 with a reason the client reads ({status} {body[:80]})")

        def chunks():
            for _ in range(5 * 1024 * 1024 // len(line) + 1):
                yield line.encode()
        status, body, _ = request(port, "POST", "/v1/predictions", body=chunks(),
                                  headers={"Transfer-Encoding": "chunked"}, timeout=30,
                                  chunked=True)
        check(status == 413, f"a chunked body over the limit: 413 ({status})")
        check((metric(port, "driftd_http_requests_total", 'code="413"') or 0) >= 2,
              "413s are counted")
        # A 20 KB header: 431.
        status, body, _ = request(port, "GET", "/healthz", headers={"X-Big": "a" * 20000})
        check(status == 431, f"a 20 KB header: 431 ({status})")
        # A body that stops coming: closed after body_timeout.
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\"")
        t = time.time()
        s.settimeout(5)
        try:
            got = s.recv(100)
        except OSError:
            got = b""
        s.close()
        check(got == b"" and time.time() - t < 3, f"a stalled body is closed after 1 s ({got!r})")
        check((metric(port, "driftd_http_connections_closed_total", 'reason="timeout_body"') or 0)
              >= 1, "body timeouts are counted")
        # A client that never reads its answers: closed after write_timeout.
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 2000)
        check(wait_for(lambda: (metric(port, "driftd_http_connections_closed_total",
                                       'reason="timeout_write"') or 0) >= 1, timeout=10),
              "a client that reads nothing is closed after write_timeout")
        s.close()
        check(http_get(port, "/healthz")[0] == 200, "and the server serves on")
    finally:
        check(stop(proc) == 0, "SIGTERM: exit 0")


# -------------------------------------------------------------------- auth
def test_bearer_token(work):
    make_baseline(work)
    token = "s3cret-token-0123456789abcdef"
    with open(os.path.join(work, "token"), "w") as f:
        f.write(token + "\n")
    port = free_port()
    cfg = write_config(work, port, server='[server.auth]\ntoken_file = "token"')
    proc = start(work, cfg)
    try:
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200),
              "ready (probes open by default)")
        status, _, headers = request(port, "POST", "/v1/predictions", body=GOOD.encode())
        check(status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer"),
              f"ingest without a token: 401 with WWW-Authenticate ({status})")
        status, _, _ = request(port, "POST", "/v1/predictions", body=GOOD.encode(),
                               headers={"Authorization": "Bearer " + token[:-1] + "x"})
        check(status == 401, f"a wrong token: 401 ({status})")
        status, _, _ = request(port, "POST", "/v1/predictions", body=GOOD.encode(),
                               headers={"Authorization": "Bearer " + token})
        check(status == 202, f"the token: 202 ({status})")
        check(request(port, "GET", "/v1/models")[0] == 401, "/v1/models needs the token")
        status, body, _ = request(port, "GET", "/v1/models",
                                  headers={"Authorization": "Bearer " + token})
        models = json.loads(body)["models"] if status == 200 else []
        check(status == 200 and models and "/" not in models[0]["baseline"],
              f"/v1/models shows no absolute path ({models[0]['baseline'] if models else body})")
        check(request(port, "GET", "/metrics")[0] == 200, "/metrics is open by default")
        check((metric(port, "driftd_http_unauthorized_requests_total") or 0) >= 3,
              "401s are counted")
    finally:
        check(stop(proc) == 0, "SIGTERM: exit 0")
    # Protected metrics and probes, the token from the environment.
    port = free_port()
    cfg = write_config(work, port, server='[server.auth]\ntoken_env = "DRIFTD_TEST_TOKEN"\n'
                                          'metrics = "protected"\nhealth = "protected"')
    proc = start(work, cfg, env={"DRIFTD_TEST_TOKEN": token})
    try:
        auth = {"Authorization": "Bearer " + token}
        check(wait_for(lambda: request(port, "GET", "/readyz", headers=auth)[0] == 200),
              "ready, asked with the token")
        check(request(port, "GET", "/healthz")[0] == 401, "protected probes need it")
        check(request(port, "GET", "/metrics")[0] == 401, "protected /metrics needs it")
        check(request(port, "GET", "/metrics", headers=auth)[0] == 200, "and takes it")
    finally:
        check(stop(proc) == 0, "SIGTERM: exit 0")
    log = open(os.path.join(work, "err.log")).read()
    check(token not in log, "the token is in no log line")
    r = subprocess.run([DRIFTD, "config", "check", cfg], cwd=work, capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "DRIFTD_TEST_TOKEN"})
    check(r.returncode == 2 and "DRIFTD_TEST_TOKEN" in r.stderr,
          f"a missing token variable is a config error naming it ({r.stderr.strip()[:160]})")
    # Beyond loopback without a token: warned.
    port = free_port()
    cfg = write_config(work, port, listen_host="0.0.0.0")
    proc = start(work, cfg)
    try:
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200), "ready on 0.0.0.0")
    finally:
        stop(proc)
    check("beyond loopback without authentication" in open(os.path.join(work, "err.log")).read(),
          "listening beyond loopback without auth is warned about")


# --------------------------------------------------------------------- TLS
def test_tls(work):
    make_baseline(work)
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True)
    port = free_port()
    cfg = write_config(work, port,
                       server=f'[server.tls]\ncert_file = "cert.pem"\nkey_file = "key.pem"')
    proc = start(work, cfg)
    try:
        ctx = ssl.create_default_context(cafile=cert)
        check(wait_for(lambda: request(port, "GET", "/readyz", context=ctx)[0] == 200),
              "ready over TLS")
        status, body, _ = request(port, "POST", "/v1/predictions", body=GOOD.encode(),
                                  context=ctx)
        check(status == 202, f"ingest over TLS, certificate verified ({status} {body[:80]})")
        out = subprocess.run(["curl", "-s", "--cacert", cert, f"https://127.0.0.1:{port}/healthz"],
                             capture_output=True, text=True, timeout=10)
        check(out.stdout == "ok\n", f"curl verifies and reads /healthz ({out.stdout!r})")
        status, _, _ = request(port, "GET", "/healthz", timeout=3)
        check(status is None, "plain HTTP to the TLS port gets no answer")
        bad = subprocess.run(["curl", "-s", f"https://127.0.0.1:{port}/healthz"],
                             capture_output=True, text=True, timeout=10)
        check(bad.returncode != 0, "an unverified certificate is refused by a verifying client")
    finally:
        check(stop(proc) == 0, "SIGTERM: exit 0")


if __name__ == "__main__":
    daemon_common.run_tests([test_idle_and_slowloris, test_bodies_and_deadlines,
                             test_bearer_token, test_tls])
