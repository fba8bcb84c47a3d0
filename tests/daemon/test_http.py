#!/usr/bin/python3
"""End-to-end tests of HTTP ingest (the sidecar mode): POST /v1/predictions
and /v1/labels on a running driftd, over real HTTP on 127.0.0.1.

    test_http.py DRIFTD_BINARY TRAINING_CSV

- the same events posted as NDJSON and as JSON arrays give the same windows
  as the file source; labels posted later join their predictions.
- a body with bad lines: 400 naming each line and its reason, the good lines
  accepted (the response counts them), the bad ones dead-lettered; 413 over
  max_body_bytes; 405 for GET; Expect: 100-continue; promtool lints /metrics.
- durable = true: the daemon is SIGKILLed at random moments while a client
  posts; every event acknowledged with a 2xx is counted after the restarts,
  and none more than once (at most the unanswered requests' events extra,
  each such request whole or not at all).
- durable = false: SIGTERM applies what was accepted before exiting.
"""
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_common  # noqa: E402
from daemon_common import (check, free_port, http_get, make_baseline, make_events,  # noqa: E402
                           read_windows, wait_for)

daemon_common.init(sys.argv[1], sys.argv[2])
DRIFTD = daemon_common.DRIFTD


def write_http_config(work, port, window, extra="", interval="200ms"):
    source = f'name = "ingest"\ntype = "http"\n{extra}\n'
    return daemon_common.write_config(work, port, source, window, interval)


def start(work, cfg, log="err.log"):
    err = open(os.path.join(work, log), "a")
    proc = subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work, stderr=err)
    return proc


def wait_ready(port, proc, timeout=30):
    return wait_for(lambda: proc.poll() is None and http_get(port, "/readyz")[0] == 200,
                    timeout=timeout)


def post(conn, path, body, headers=None):
    """(status, parsed JSON body, headers) of one POST on a kept-alive connection."""
    conn.request("POST", path, body=body.encode(),
                 headers={"Content-Type": "application/x-ndjson", **(headers or {})})
    r = conn.getresponse()
    data = r.read().decode()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = data
    return r.status, parsed, dict(r.getheaders())


def lines_of(path):
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def baseline_and_events(work, n, seed, step_ms=20):
    """The model's baseline and n events in work; returns the event lines."""
    make_baseline(work)
    events = os.path.join(work, "events.jsonl")
    make_events(events, n, seed=seed, step_ms=step_ms)
    return lines_of(events)


def post_lines(port, lines, per_request):
    """Posts lines in NDJSON bodies of per_request on one connection; returns
    (events acknowledged with 202, statuses)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    acked, statuses = 0, []
    for i in range(0, len(lines), per_request):
        status, reply, _ = post(conn, "/v1/predictions", "\n".join(lines[i:i + per_request]))
        statuses.append(status)
        acked += reply.get("accepted", 0) if status == 202 else 0
    conn.close()
    return acked, statuses


def metric(port, name):
    _, text = http_get(port, "/metrics")
    total = 0.0
    found = False
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


def stop(proc, sig=signal.SIGTERM, timeout=60):
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=timeout)


def window_key(w):
    """A window's content without what depends on arrival (none should)."""
    return json.dumps(w, sort_keys=True)


# ---------------------------------------------------------------- config
def test_config(work):
    make_baseline(work)
    base = open(write_http_config(work, free_port(), 'type = "count"\nsize = 10')).read()
    cases = [
        ('durable = "yes"', "sources[0].durable: expected true or false"),
        ('max_body_bytes = "8 MiB"', "sources[0].max_body_bytes: '8 MiB': unknown unit"),
        ('max_body_bytes = "8MiB"\nqueue_bytes = "1MiB"',
         "sources[0].queue_bytes: must be at least max_body_bytes"),
        ('path = "x"', "sources[0].path: unknown key"),
        ('segment_bytes = 1000', "sources[0].segment_bytes: must be at least 1MiB"),
        ('queue_bytes = "3GiB"', "sources[0].queue_bytes: must be at most 2GiB"),
    ]
    for extra, needle in cases:
        path = os.path.join(work, "bad.toml")
        with open(path, "w") as f:
            f.write(base.replace('type = "http"', 'type = "http"\n' + extra))
        r = subprocess.run([DRIFTD, "config", "check", path], capture_output=True, text=True)
        check(r.returncode == 2 and needle in r.stderr and "bad.toml:1" in r.stderr,
              f"config check refuses '{extra}' naming key and line ({r.stderr.strip()[:120]})")
    with open(os.path.join(work, "bad.toml"), "w") as f:
        f.write(base.replace("[[models]]", '[[sources]]\nname = "second"\ntype = "http"\n\n[[models]]'))
    r = subprocess.run([DRIFTD, "config", "check", os.path.join(work, "bad.toml")],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "more than one source of type" in r.stderr,
          f"one http source at most ({r.stderr.strip()[:120]})")


# ------------------------------------------------------ same windows as a file
def test_ingest_equals_file(work):
    make_baseline(work)
    events = os.path.join(work, "events.jsonl")
    make_events(events, 12000, seed=21, step_ms=50)
    window = 'type = "count"\nsize = 3000'
    # The reference: the file source on the same events.
    ref = os.path.join(work, "ref")
    os.makedirs(ref)
    os.symlink(os.path.join(work, "baseline.json"), os.path.join(ref, "baseline.json"))
    os.symlink(events, os.path.join(ref, "events.jsonl"))
    src = 'name = "events"\ntype = "file"\npath = "events.jsonl"\n'
    ref_cfg = daemon_common.write_config(ref, free_port(), src, window)
    subprocess.run([DRIFTD, "run", "--config", ref_cfg, "--exit-when-done"], cwd=ref, check=True,
                   stderr=subprocess.DEVNULL, timeout=120)
    expected = read_windows(ref)

    port = free_port()
    cfg = write_http_config(work, port, window)
    proc = start(work, cfg)
    try:
        check(wait_ready(port, proc), "the daemon with an http source becomes ready")
        lines = lines_of(events)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses = []
        accepted = 0
        for i in range(0, len(lines), 500):
            chunk = lines[i:i + 500]
            # Alternate NDJSON and JSON arrays.
            body = "\n".join(chunk) + "\n" if (i // 500) % 2 == 0 else "[" + ",".join(chunk) + "]"
            status, reply, _ = post(conn, "/v1/predictions", body)
            statuses.append(status)
            accepted += reply.get("accepted", 0) if isinstance(reply, dict) else 0
        check(set(statuses) == {202}, f"every batch is answered 202 ({sorted(set(statuses))})")
        check(accepted == len(lines), f"the answers count every event ({accepted})")
        check(wait_for(lambda: len(read_windows(work)) >= len(expected), timeout=60),
              f"{len(expected)} count windows close")
        got = read_windows(work)
        check([window_key(w) for w in got] == [window_key(w) for w in expected],
              "every window equals the file source's on the same events")
        # Labels posted later join their predictions (one per line, keep-alive).
        labels = "\n".join(json.dumps({"model": "fraud", "id": f"req-{k}", "label": k % 2,
                                       "ts": 1764115200000 + 12000 * 50})
                           for k in range(11000, 12000))
        status, reply, _ = post(conn, "/v1/labels", labels)
        check(status == 202 and reply == {"accepted": 1000}, f"1000 labels accepted ({reply})")
        check(wait_for(lambda: (metric(port, "driftd_source_label_events_total") or 0) >= 1000),
              "the labels reach the model")
        # promtool lints the exposition with the ingest families in it.
        _, text = http_get(port, "/metrics")
        for name in ("driftd_ingest_events_total", "driftd_ingest_queue_bytes",
                     "driftd_ingest_log_fsyncs_total", "driftd_http_requests_total"):
            check(name in text, f"/metrics has {name}")
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                              text=True)
        check(lint.returncode == 0, f"promtool accepts /metrics {lint.stdout}{lint.stderr}")
        conn.close()
    finally:
        check(stop(proc) == 0, "SIGTERM: exit 0")


# --------------------------------------------------------------- bad requests
def test_bad_requests(work):
    make_baseline(work)
    port = free_port()
    cfg = write_http_config(work, port, 'type = "count"\nsize = 100',
                            extra='max_body_bytes = "64KiB"')
    proc = start(work, cfg)
    try:
        check(wait_ready(port, proc), "ready")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        good = json.dumps({"model": "fraud", "model_version": "3", "id": "a", "ts": 1,
                           "features": {"amount": 3.5}, "prediction": 0.2})
        body = "\n".join([good, "{broken", good, '"text"', '{"model": "nobody", "ts": 1}', good])
        status, reply, _ = post(conn, "/v1/predictions", body)
        check(status == 400, f"bad lines: 400 ({status})")
        check(reply.get("accepted") == 3 and reply.get("rejected") == 3,
              f"the good lines are accepted and counted ({reply})")
        errs = {e["line"]: e["reason"] for e in reply.get("errors", [])}
        check(set(errs) == {2, 4, 5} and errs[2].startswith("invalid JSON")
              and "JSON object" in errs[4] and "nobody" in errs[5],
              f"each bad line is named with its reason ({errs})")
        status, reply, _ = post(conn, "/v1/labels", good)
        check(status == 400 and "label event" in reply["errors"][0]["reason"],
              f"/v1/labels refuses a prediction ({reply})")
        conn.request("GET", "/v1/predictions")
        r = conn.getresponse()
        r.read()
        check(r.status == 405 and r.getheader("Allow") == "POST", f"GET: 405 ({r.status})")
        big = "\n".join([good] * 1000)  # about 120 KB
        status, reply, headers = post(conn, "/v1/predictions", big)
        check(status == 413 and "max_body_bytes" in reply["error"],
              f"a body over max_body_bytes: 413 ({status} {reply})")
        conn.close()
        # A client that waits for 100 Continue (curl does for large bodies).
        path = os.path.join(work, "body.ndjson")
        with open(path, "w") as f:
            f.write("\n".join([good] * 400))
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                              "-H", "Expect: 100-continue", "--data-binary", f"@{path}",
                              f"http://127.0.0.1:{port}/v1/predictions"], capture_output=True,
                             text=True, timeout=30)
        code, took = out.stdout.split()
        check(code == "202" and float(took) < 0.9,
              f"Expect: 100-continue is answered at once ({code} in {took} s)")
        # Dead letters: the refused lines with reason and endpoint.
        check(wait_for(lambda: (metric(port, "driftd_source_events_rejected_total") or 0) >= 4),
              "refused lines are counted by reason")
        dl = os.path.join(work, "state", "dead-letter.jsonl")
        check(wait_for(lambda: os.path.exists(dl) and len(lines_of(dl)) >= 4),
              "refused lines are dead-lettered")
        letters = [json.loads(l) for l in lines_of(dl)]
        check({l["reason"] for l in letters} == {"invalid_json", "not_an_object", "unknown_model",
                                                  "bad_label"}
              and all(l["endpoint"] in ("/v1/predictions", "/v1/labels") for l in letters)
              and any(l["event"] == "{broken" for l in letters),
              f"each dead letter has the raw line, reason and endpoint ({letters[:2]})")
    finally:
        check(stop(proc) == 0, "SIGTERM: exit 0")


# ------------------------------------------------------------ crash safety
def rng_sample(n, k):
    return random.Random(8).sample(range(n // 10, n - n // 10), k)


def test_kill9_durable(work):
    n = 60000
    lines = baseline_and_events(work, n, seed=31)
    batches = ["\n".join(lines[i:i + 100]) for i in range(0, n, 100)]
    # Kill points: after these many batches (sorted), racing the next request.
    kill_at = sorted(rng_sample(len(batches), 6))
    window = 'type = "time"\nsize = "1m"\nstep = "1m"\nallowed_lateness = "0s"'
    port = free_port()
    cfg = write_http_config(work, port, window, interval="100ms")
    state = {"next": 0, "acked": 0, "unanswered": 0}

    def client():
        # Posts in order until a request fails (the kill): that request's
        # events may or may not have reached the log before it.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while state["next"] < len(batches):
            i = state["next"]
            try:
                status, reply, _ = post(conn, "/v1/predictions", batches[i])
            except (OSError, http.client.HTTPException):
                status, reply = None, None
            state["next"] = i + 1
            if status == 202:
                state["acked"] += reply["accepted"]
            else:
                state["unanswered"] += batches[i].count("\n") + 1
                return

    kills = 0
    proc = None
    while state["next"] < len(batches):
        proc = start(work, cfg)
        if not wait_ready(port, proc):
            check(False, "the restarted daemon becomes ready")
            break
        t = threading.Thread(target=client)
        t.start()
        if kills < len(kill_at):
            # Wait for the client to pass the kill point, then kill it while
            # its next request is in flight (or about to be).
            wait_for(lambda: state["next"] >= kill_at[kills] or not t.is_alive(), timeout=120)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        t.join()
    if proc is None or proc.poll() is not None:
        proc = start(work, cfg)
        check(wait_ready(port, proc), "the last run becomes ready")
    # Close every window with an event an hour later.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    flush = json.dumps({"model": "fraud", "model_version": "3", "ts": 1764115200000 + 3600_000,
                        "features": {"amount": 1.0}, "prediction": 0.5})
    status, _, _ = post(conn, "/v1/predictions", flush)
    check(status == 202, "the closing event is accepted")
    last_end = 1764115200000 + (n - 1) * 20
    check(wait_for(lambda: any(w["window"]["end"] > last_end for w in read_windows(work)),
                   timeout=60), "the last window closes")
    rc = stop(proc)
    with open(os.path.join(work, "err.log")) as f:
        tail = f.read()[-int(os.environ.get("DRIFTD_TEST_TAIL", "400")):]
    check(rc == 0, "SIGTERM after the kills: exit 0" + ("" if rc == 0 else f" (exit {rc}: {tail})"))
    got = {}
    differ = 0
    for w in read_windows(work):
        wid = w["window"]["id"]
        if wid in got and window_key(got[wid]) != window_key(w):
            differ += 1
        got[wid] = w
    counted = sum(w["rows"] for w in got.values())
    acked, unanswered = state["acked"], state["unanswered"]
    check(kills == 6, f"killed mid-stream {kills} times")
    check(differ == 0, "a window written again after a replay has the same content")
    check(acked <= counted <= acked + unanswered,
          f"every acknowledged event is counted, none twice ({acked} acknowledged, {counted} "
          f"counted, {unanswered} in requests the kills left unanswered)")
    # A request is kept all or none (its events are one group in the log):
    # the unanswered requests add whole batches of 100, never a part.
    check((counted - acked) % 100 == 0,
          f"an unanswered request is counted whole or not at all ({counted - acked} extra)")
    log = open(os.path.join(work, "err.log")).read()
    check("replaying" in log, "restarts replay the ingest log")


def test_lost_log_keeps_numbering(work):
    """The ingest log's files are removed between runs while the checkpoint
    stays: events accepted afterwards still survive a kill (numbering
    continues after the checkpoint's position)."""
    lines = baseline_and_events(work, 2000, seed=35)
    port = free_port()
    cfg = write_http_config(work, port, 'type = "count"\nsize = 500', interval="1h")

    def post_range(a, b):
        return set(post_lines(port, lines[a:b], 100)[1]) == {202}

    proc = start(work, cfg)
    check(wait_ready(port, proc) and post_range(0, 1000), "the first 1000 events are accepted")
    check(stop(proc) == 0, "SIGTERM checkpoints them")
    shutil.rmtree(os.path.join(work, "state", "ingest"))
    proc = start(work, cfg)
    check(wait_ready(port, proc) and post_range(1000, 2000),
          "after the log is removed, 1000 more are accepted")
    proc.send_signal(signal.SIGKILL)  # before any checkpoint covers them
    proc.wait()
    proc = start(work, cfg)
    check(wait_for(lambda: len(read_windows(work)) >= 4, timeout=60),
          f"the restart replays them: 4 windows of 500 ({len(read_windows(work))})")
    check(stop(proc) == 0, "SIGTERM: exit 0")
    check("numbering continues" in open(os.path.join(work, "err.log")).read(),
          "the lost log is logged")


def test_sigterm_applies_accepted(work):
    lines = baseline_and_events(work, 8000, seed=33)
    port = free_port()
    cfg = write_http_config(work, port, 'type = "count"\nsize = 1000', extra="durable = false")
    proc = start(work, cfg)
    check(wait_ready(port, proc), "ready (durable = false)")
    acked, _ = post_lines(port, lines, 1000)
    check(stop(proc) == 0, "SIGTERM right after the last 2xx: exit 0")
    rows = sum(w["rows"] for w in read_windows(work))
    check(acked == 8000 and rows == 8000,
          f"every accepted event was applied before exit ({rows} in windows of {acked})")
    check(not os.path.exists(os.path.join(work, "state", "ingest")),
          "durable = false writes no ingest log")


if __name__ == "__main__":
    daemon_common.run_tests([test_config, test_ingest_equals_file, test_bad_requests,
                             test_kill9_durable, test_lost_log_keeps_numbering,
                             test_sigterm_applies_accepted])
