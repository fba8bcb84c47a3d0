#!/usr/bin/python3
"""The daemon when its disk fails it: the state dir on a small tmpfs that
the test fills, frees, makes read-only and writable again, with a real
ENOSPC and EROFS from the kernel.

    test_faults.py DRIFTD_BINARY TRAINING_CSV

- disk full under the windows log and the dead-letter file: reading
  pauses, /readyz says why, no checkpoint moves past an unwritten window;
  a SIGKILL while full and a restart once space is back give exactly the
  windows of an uninterrupted run; no line of either file is torn or glued
  to the next; without a kill, reading resumes by itself when space returns.
- a read-only state dir (the logs elsewhere): checkpoints fail, /readyz
  turns 503 with the reason, reading goes on, and /readyz is back to 200
  once the dir is writable.
- HTTP ingest while the windows log cannot be written: 503 with
  Retry-After and the reason; every event answered 2xx is in the windows.
- SIGKILL while a checkpoint is being written (its temp file seen in the
  state dir), several times: each restart resumes from the last whole
  checkpoint, removes the temp file, and the windows equal an
  uninterrupted run's.
- a second daemon on the same state dir is refused, naming the first's pid.

Mounting a tmpfs needs root or a user namespace: the script runs itself
under `unshare -rm` when it is not root (Debian's util-linux).
"""
import http.client
import json
import os
import subprocess
import sys
import time

if os.geteuid() != 0 and not os.environ.get("DRIFTD_FAULTS_UNSHARED"):
    os.execvpe("unshare", ["unshare", "-rm", sys.executable] + sys.argv,
               {**os.environ, "DRIFTD_FAULTS_UNSHARED": "1"})

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_common  # noqa: E402
from daemon_common import (check, check_same_windows, free_port, http_get,  # noqa: E402
                           make_baseline, make_events, read_windows, wait_for)

daemon_common.init(sys.argv[1], sys.argv[2])
DRIFTD = daemon_common.DRIFTD


class SmallDisk:
    """A tmpfs of `size` at `path`, to fill, free and remount."""

    def __init__(self, path, size="16m"):
        self.path = path
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)
        self.filler = os.path.join(path, "filler")

    def fill(self):
        with open(self.filler, "ab") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 16))
                    f.flush()
            except OSError:
                pass

    def free(self):
        if os.path.exists(self.filler):
            os.remove(self.filler)

    def read_only(self, ro):
        subprocess.run(["mount", "-o", "remount," + ("ro" if ro else "rw"), self.path],
                       check=True)

    def close(self):
        subprocess.run(["umount", "-l", self.path])


def write_config(work, port, source, window='type = "count"\nsize = 1000', state_extra=""):
    return daemon_common.write_config(work, port, source, window, state_extra=state_extra)


def start(work, cfg):
    return subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work,
                            stderr=open(os.path.join(work, "err.log"), "a"))


def stop(proc):
    proc.terminate()
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def metric(port, name):
    _, text = http_get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def all_lines_whole(path):
    """Every line of a JSON-lines file parses, none torn or glued."""
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        return False
    try:
        for line in data.splitlines():
            json.loads(line)
    except ValueError:
        return False
    return True


def append_lines(path, lines):
    with open(path, "a") as f:
        f.writelines(lines)


def test_disk_full_windows_log(work):
    make_baseline(work)
    events = os.path.join(work, "all.jsonl")
    make_events(events, 10000, seed=41, bad_every=700)
    lines = open(events).readlines()
    # The uninterrupted run.
    ref = os.path.join(work, "ref")
    os.makedirs(ref)
    os.symlink(os.path.join(work, "baseline.json"), os.path.join(ref, "baseline.json"))
    os.symlink(events, os.path.join(ref, "events.jsonl"))
    cfg = write_config(ref, free_port(), 'name = "events"\ntype = "file"\npath = "events.jsonl"')
    subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=ref, check=True,
                   stderr=subprocess.DEVNULL, timeout=120)
    expected = {w["window"]["id"]: w for w in read_windows(ref)}

    disk = SmallDisk(os.path.join(work, "state"))
    try:
        live = os.path.join(work, "events.jsonl")
        half = len(lines) // 2
        append_lines(live, lines[:half])
        port = free_port()
        cfg = write_config(work, port,
                           'name = "events"\ntype = "file"\npath = "events.jsonl"\nfollow = true')
        proc = start(work, cfg)
        check(wait_for(lambda: len(read_windows(work)) >= 4, timeout=60), "windows close")
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200), "ready")
        ckpt = os.path.join(work, "state", "checkpoint.bin")
        check(wait_for(lambda: os.path.exists(ckpt), timeout=30), "a first checkpoint")
        disk.fill()
        append_lines(live, lines[half:])
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 503, timeout=30),
              "a full disk under the windows log: /readyz 503")
        status, why = http_get(port, "/readyz")
        check("windows log" in why and "No space left" in why, f"and says why ({why.strip()})")
        check((metric(port, "driftd_windows_log_pending_windows") or 0) >= 1,
              "the unwritten window waits, counted")
        before = os.stat(ckpt).st_mtime_ns
        time.sleep(1.0)
        check(os.stat(ckpt).st_mtime_ns == before, "no checkpoint moves past it")
        # Killed while full; restarted once space is back.
        proc.kill()
        proc.wait()
        disk.free()
        proc = start(work, cfg)
        check(wait_for(lambda: len({w["window"]["id"] for w in read_windows(work)}) >=
                       len(expected) - 1, timeout=60),
              "the restart makes the windows the kill left unwritten")
        check(stop(proc) == 0, "SIGTERM: exit 0")
        # Once more without follow, to the end: the last window closes at EOF,
        # as in the uninterrupted run.
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace("follow = true", "follow = false"))
        subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=work,
                       stderr=open(os.path.join(work, "err.log"), "a"), timeout=120)
        check_same_windows(work, expected, min_windows=9)
        check(all_lines_whole(os.path.join(work, "state", "windows.jsonl")),
              "no windows-log line is torn or glued to the next")
        check(all_lines_whole(os.path.join(work, "state", "dead-letter.jsonl")),
              "no dead letter is torn or glued to the next")
        dead = [json.loads(l) for l in open(os.path.join(work, "state", "dead-letter.jsonl"))]
        check(len({(d["offset"]) for d in dead}) == 2 * (10000 // 700),
              f"every bad line is dead-lettered ({len(dead)} letters, "
              f"{len({d['offset'] for d in dead})} offsets)")
    finally:
        disk.close()


def test_recovers_without_restart(work):
    make_baseline(work)
    events = os.path.join(work, "all.jsonl")
    make_events(events, 6000, seed=43)
    lines = open(events).readlines()
    disk = SmallDisk(os.path.join(work, "state"))
    try:
        live = os.path.join(work, "events.jsonl")
        append_lines(live, lines[:2000])
        port = free_port()
        cfg = write_config(work, port,
                           'name = "events"\ntype = "file"\npath = "events.jsonl"\nfollow = true')
        proc = start(work, cfg)
        check(wait_for(lambda: len(read_windows(work)) >= 2, timeout=60), "two windows close")
        disk.fill()
        append_lines(live, lines[2000:])
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 503, timeout=30), "full: 503")
        disk.free()
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200, timeout=30),
              "space back: ready again by itself")
        check(wait_for(lambda: len(read_windows(work)) >= 6, timeout=30),
              f"and every window is written ({len(read_windows(work))} of 6)")
        rows = [w["rows"] for w in read_windows(work)]
        check(rows == [1000] * 6, f"each window whole, none twice ({rows})")
        check(stop(proc) == 0, "SIGTERM: exit 0")
    finally:
        disk.close()


def test_read_only_state_dir(work):
    """The state dir remounted read-only (as the kernel does after I/O
    errors); the logs elsewhere: checkpoints fail, /readyz says so, and it
    is ready again once the dir is writable."""
    make_baseline(work)
    events = os.path.join(work, "all.jsonl")
    make_events(events, 4000, seed=45)
    lines = open(events).readlines()
    disk = SmallDisk(os.path.join(work, "state"))
    try:
        live = os.path.join(work, "events.jsonl")
        append_lines(live, lines[:2000])
        port = free_port()
        logs = (f'windows_log = "{work}/windows.jsonl"\n'
                f'dead_letter = "{work}/dead-letter.jsonl"')
        cfg = write_config(work, port,
                           'name = "events"\ntype = "file"\npath = "events.jsonl"\nfollow = true',
                           state_extra=logs)
        proc = start(work, cfg)
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200, timeout=30), "ready")
        check(wait_for(lambda: os.path.exists(os.path.join(work, "state", "checkpoint.bin"))),
              "a first checkpoint")
        disk.read_only(True)
        append_lines(live, lines[2000:])
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 503, timeout=30),
              "a read-only state dir: /readyz 503")
        status, why = http_get(port, "/readyz")
        check("checkpoint" in why and "Read-only" in why, f"and says why ({why.strip()})")
        check((metric(port, "driftd_checkpoint_failures_total") or 0) >= 1,
              "checkpoint failures are counted")
        check(wait_for(lambda: sum(1 for _ in open(os.path.join(work, "windows.jsonl"))) == 4),
              "reading goes on (the windows log can take its lines)")
        disk.read_only(False)
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200, timeout=30),
              "writable again: ready")
        check(stop(proc) == 0, "SIGTERM: exit 0")
    finally:
        disk.close()


def test_http_ingest_paused(work):
    make_baseline(work)
    disk = SmallDisk(os.path.join(work, "state"))
    try:
        port = free_port()
        log_dir = os.path.join(work, "ingest-log")  # the ingest log is not on the small disk
        cfg = write_config(work, port,
                           f'name = "http"\ntype = "http"\nlog_dir = "{log_dir}"',
                           window='type = "count"\nsize = 100')
        proc = start(work, cfg)
        check(wait_for(lambda: http_get(port, "/readyz")[0] == 200), "ready")
        ev = json.dumps({"model": "fraud", "model_version": "3", "ts": 1764115200000,
                         "features": {"amount": 1.0}, "prediction": 0.1})
        body = "\n".join([ev] * 100)
        acked = [0]

        def post():
            """Every 202 is counted: the events it answers must reach a window."""
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/v1/predictions", body=body.encode())
            r = conn.getresponse()
            text = r.read().decode()
            conn.close()
            if r.status == 202:
                acked[0] += 100
            return r.status, text, r.getheader("Retry-After")

        post()
        check(wait_for(lambda: len(read_windows(work)) == 1), "a window closes")
        disk.fill()
        for _ in range(3):  # these close windows the log cannot take
            post()
        check(wait_for(lambda: post()[0] == 503, timeout=30), "then ingest answers 503")
        status, text, retry = post()
        check(status == 503 and retry == "1" and "windows log" in text,
              f"with Retry-After and the reason ({status} {retry} {text.strip()[:120]})")
        disk.free()
        check(wait_for(lambda: post()[0] == 202, timeout=30), "space back: 202 again")
        check(stop(proc) == 0, "SIGTERM: exit 0")
        rows = sum(w["rows"] for w in read_windows(work))
        check(rows == acked[0], f"every answered event is in a window ({rows} of {acked[0]})")
    finally:
        disk.close()


def test_kill_during_checkpoint(work):
    make_baseline(work)
    events = os.path.join(work, "events.jsonl")
    make_events(events, 60000, seed=44, step_ms=20, bad_every=9000)
    # Sliding windows of many panes: a larger checkpoint, longer to write.
    window = 'type = "time"\nsize = "20m"\nstep = "1m"'
    ref = os.path.join(work, "ref")
    os.makedirs(ref)
    for name in ("baseline.json", "events.jsonl"):
        os.symlink(os.path.join(work, name), os.path.join(ref, name))
    source = 'name = "events"\ntype = "file"\npath = "events.jsonl"\nreplay_speed = 100'
    cfg = write_config(ref, free_port(), source.replace("replay_speed = 100", ""), window)
    subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=ref, check=True,
                   stderr=subprocess.DEVNULL, timeout=120)
    expected = {w["window"]["id"]: w for w in read_windows(ref)}
    # Paced at 100x event time (the 20 minutes of events last 12 s) so that
    # checkpoints come while it is read.
    cfg = write_config(work, free_port(), source, window)
    state = os.path.join(work, "state")
    os.makedirs(state, exist_ok=True)
    caught = cut_short = 0
    for _ in range(8):
        proc = start(work, cfg)
        deadline = time.time() + 30
        tmp = None
        while time.time() < deadline and proc.poll() is None and tmp is None:
            tmp = next((n for n in os.listdir(state) if n.startswith("checkpoint.bin.tmp.")),
                       None)
        proc.kill()
        proc.wait()
        if tmp is None:
            break
        caught += 1
        cut_short += os.path.exists(os.path.join(state, tmp))
        if caught >= 4 and cut_short >= 1:
            break
    check(caught >= 3, f"killed while a checkpoint was being written, {caught} times")
    check(cut_short >= 1, f"before its rename, {cut_short} times (its temp file left)")
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("replay_speed = 100", ""))
    r = subprocess.run([DRIFTD, "run", "--config", cfg, "--exit-when-done"], cwd=work,
                       timeout=300, stderr=open(os.path.join(work, "err.log"), "a"))
    check(r.returncode == 0, "the restart after the last kill runs to the end")
    check(not [n for n in os.listdir(state) if n.startswith("checkpoint.bin.tmp.")],
          "and removes the temp files of cut-short checkpoints")
    check_same_windows(work, expected, min_windows=10)


def test_one_daemon_per_state_dir(work):
    make_baseline(work)
    open(os.path.join(work, "events.jsonl"), "w").close()
    cfg = write_config(work, free_port(),
                       'name = "events"\ntype = "file"\npath = "events.jsonl"\nfollow = true')
    first = start(work, cfg)
    try:
        check(wait_for(lambda: os.path.exists(os.path.join(work, "state", "lock"))),
              "the first daemon takes the state dir")
        time.sleep(0.5)
        r = subprocess.run([DRIFTD, "run", "--config", cfg], cwd=work, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 2 and "in use by another driftd" in r.stderr and
              f"pid {first.pid}" in r.stderr,
              f"a second daemon on it is refused, naming the first ({r.stderr.strip()[-160:]})")
        check(first.poll() is None, "and the first goes on")
    finally:
        check(stop(first) == 0, "SIGTERM: exit 0")
    port = free_port()
    cfg = write_config(work, port,
                       'name = "events"\ntype = "file"\npath = "events.jsonl"\nfollow = true')
    again = start(work, cfg)
    check(wait_for(lambda: http_get(port, "/readyz")[0] == 200),
          "once it is gone, a new one starts")
    stop(again)


if __name__ == "__main__":
    daemon_common.run_tests([test_disk_full_windows_log, test_recovers_without_restart,
                             test_read_only_state_dir, test_http_ingest_paused,
                             test_kill_during_checkpoint,
                             test_one_daemon_per_state_dir])
