"""Helpers shared by the daemon's end-to-end tests (test_daemon.py,
test_kafka.py): events, baselines, HTTP, polling and the pass/fail tally."""
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DRIFTD = None  # set by init()
TRAIN = None
failures = []


def check(cond, what):
    if cond:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}")
        failures.append(what)


def free_port():
    """A free port below the kernel's ephemeral range: a daemon restarted on
    it never finds it taken by another test's client sockets (which get
    ephemeral ports, and one test opens a thousand of them)."""
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError):
        pass
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(10000, max(10001, low))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_baseline(work):
    """The fraud@3 baseline of the demo's training data, as baseline.json in work."""
    subprocess.run([DRIFTD, "baseline", "build", "--input", TRAIN,
                    "--out", os.path.join(work, "baseline.json"), "--categorical", "country,device",
                    "--prediction", "score", "--label", "label", "--id", "request_id",
                    "--model", "fraud", "--model-version", "3"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_events(path, n, seed, t0=1764115200000, step_ms=50, bad_every=0):
    """Serving-like events with drift growing over time; returns the rows."""
    rng = random.Random(seed)
    rows = []
    with open(path, "w") as f:
        for i in range(n):
            drift = i / n
            amount = round(rng.lognormvariate(3 + drift, 1), 2)
            age = float(rng.randint(18, 80))
            tenure = round(rng.expovariate(1 / (300 - 200 * drift)), 1)
            country = rng.choice(["DE", "FR", "US", "GB"] + (["BR"] if drift > 0.5 else []))
            device = rng.choice(["ios", "android", "web"])
            score = round(min(1, max(0, rng.gauss(0.2 + 0.3 * drift, 0.1))), 4)
            ts = t0 + i * step_ms
            rows.append({"ts": ts, "amount": amount, "age": age, "tenure_days": tenure,
                         "country": country, "device": device, "score": score})
            ev = {"model": "fraud", "model_version": "3", "id": f"req-{i}", "ts": ts,
                  "features": {"amount": amount, "age": age, "tenure_days": tenure,
                               "country": country, "device": device},
                  "prediction": score}
            f.write(json.dumps(ev) + "\n")
            if bad_every and i % bad_every == bad_every - 1:
                f.write('{"model": "fraud", "features": {"amount": 1}, broken\n')
                f.write('{"model": "nobody", "ts": 1, "features": {}}\n')
    return rows


def xxh3_64(data):
    """XXH3-64 of bytes, from Debian's libxxhash (the library driftd links)."""
    lib = ctypes.CDLL("libxxhash.so.0")
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib.XXH3_64bits(data, len(data))


def rechecksummed_baseline(text):
    """A baseline's text with its checksum trailer made right again after an
    edit, as whoever can write the file can do."""
    body = text.encode()[:text.encode().rfind(b'"checksum": "xxh3-64:')]
    return body.decode() + '"checksum": "xxh3-64:%016x"\n}\n' % xxh3_64(body)


def read_windows(work):
    p = os.path.join(work, "state", "windows.jsonl")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(pred, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    return False



def write_config(work, port, source, window, interval="200ms", state_extra=""):
    """driftd.toml in work: one source (the body of its [[sources]] table),
    the fraud@3 model on baseline.json with `window` as its [models.window]
    body (later model tables may follow it); `state_extra`: more [state] keys."""
    path = os.path.join(work, "driftd.toml")
    with open(path, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{port}"

[state]
dir = "state"
checkpoint_interval = "{interval}"
{state_extra}

[[sources]]
{source}
[[models]]
name = "fraud"
version = "3"
baseline = "baseline.json"
[models.window]
{window}
""")
    return path


def kill_repeatedly(start, finish, rng, delay, max_kills):
    """SIGKILLs runs at random moments: start() returns a running driftd,
    killed after uniform(*delay) seconds, until a run ends by itself (exit 0
    expected) or max_kills kills, after which finish() runs to the end.
    Returns how many times it killed."""
    kills = 0
    while kills < max_kills:
        proc = start()
        time.sleep(rng.uniform(*delay))
        if proc.poll() is not None:
            check(proc.returncode == 0, "the last run finishes cleanly")
            return kills
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    check(finish().returncode == 0, "the last run finishes cleanly")
    return kills


def check_same_windows(crash_dir, expected, min_windows=1):
    """The windows a killed-and-restarted run logged equal the uninterrupted
    run's (`expected`: id -> window); a window logged twice is identical."""
    got = {}
    duplicates_differ = 0
    for w in read_windows(crash_dir):
        wid = w["window"]["id"]
        if wid in got and got[wid] != w:
            duplicates_differ += 1
        got[wid] = w
    check(duplicates_differ == 0, "a window written again has the same content")
    check(set(got) == set(expected) and len(expected) >= min_windows,
          f"the same windows as an uninterrupted run ({len(got)} vs {len(expected)})")
    check(all(got[k] == expected[k] for k in expected if k in got),
          "every window equals the uninterrupted run's: no event lost, none counted twice")


def init(driftd, train):
    global DRIFTD, TRAIN
    DRIFTD = os.path.abspath(driftd)
    TRAIN = os.path.abspath(train)


def run_tests(tests):
    """Runs each test in its own temporary directory (kept when the test
    failed, for a look); exits 1 on any failure.
    DRIFTD_TEST_ONLY=name[,name] runs only those (a quick rerun by hand)."""
    only = [n for n in os.environ.get("DRIFTD_TEST_ONLY", "").split(",") if n]
    if only:
        unknown = set(only) - {t.__name__ for t in tests}
        if unknown:
            sys.exit(f"DRIFTD_TEST_ONLY: no test {', '.join(sorted(unknown))}")
        tests = [t for t in tests if t.__name__ in only]
    for t in tests:
        work = tempfile.mkdtemp(prefix="driftd-test-")
        print(f"== {t.__name__}", flush=True)
        failed_before = len(failures)
        try:
            t(work)
        finally:
            if len(failures) == failed_before:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print(f"     (its files are kept in {work})")
    if failures:
        print(f"{len(failures)} failed: " + "; ".join(failures))
        sys.exit(1)
    print("all passed")
