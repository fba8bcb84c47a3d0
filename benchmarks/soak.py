#!/usr/bin/python3
"""Soak: `driftd run` under steady HTTP and file load for a while, sampled
once a second; fails when memory, file descriptors or threads grow.

    /usr/bin/python3 benchmarks/soak.py build/release [--seconds 600] [--json out.json]

Load, both at once, at a steady rate well below capacity (a soak looks for
leaks, not for limits):
- HTTP: one keep-alive client posting NDJSON bodies of 100 predictions to
  /v1/predictions (durable ingest log: segments roll and are deleted after
  each checkpoint) and, every tenth request, labels for earlier ones to
  /v1/labels; a body with a bad line now and then (refused, dead-lettered);
- file: a writer appending lines to a followed file, with a bad line now
  and then.
Count windows of 5,000 events close continually (windows log, checkpoints
every second).

Figures, from /proc: RSS (VmRSS, and its anonymous part RssAnon, where a
leak would show), open fds, threads. The first quarter of the run is
warm-up (allocator pools, the label join's table, the ingest log's first
segments reach their steady size). Growth is the least-squares slope of
RSS over the rest of the run, times its length, over the RSS at its start
(a fit, so that the allocator's second-to-second noise of about 1% does
not read as growth or hide it): under 1%. The fd and thread counts must
not be higher at the end than their maximum during warm-up.
Under AddressSanitizer the quarantine is turned off (ASAN_OPTIONS below),
or its 256 MB would read as growth.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

FEATURES = [f"f{j}" for j in range(20)]
COUNTRIES = ["DE", "FR", "US", "IT", "ES", "GB", "NL"]
T0 = 1795341600000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_training(path, rows=20000, seed=1):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write(",".join(FEATURES + ["country", "score", "label", "request_id"]) + "\n")
        for i in range(rows):
            score = rng.random()
            f.write(",".join(f"{rng.gauss(j, 1 + j / 10):.5g}" for j in range(20)) + "," +
                    rng.choice(COUNTRIES) + f",{score:.4f},{int(rng.random() < score)},t{i}\n")


class Events:
    """Predictions with ids and increasing times; a bad line every `bad_every`."""

    def __init__(self, seed, prefix, bad_every):
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.i = 0
        self.bad_every = bad_every

    def line(self):
        self.i += 1
        if self.bad_every and self.i % self.bad_every == 0:
            return '{"model":"soak","ts":' + str(T0 + self.i) + ',"features":{"f0":}}'
        feats = {n: round(self.rng.gauss(j + 0.1, 1 + j / 10), 4) for j, n in enumerate(FEATURES)}
        feats["country"] = self.rng.choice(COUNTRIES)
        return json.dumps({"model": "soak", "model_version": "1", "id": f"{self.prefix}{self.i}",
                           "ts": T0 + self.i, "features": feats,
                           "prediction": round(self.rng.random(), 4)}, separators=(",", ":"))

    def label(self, i):
        return json.dumps({"model": "soak", "model_version": "1", "id": f"{self.prefix}{i}",
                           "label": i % 2, "ts": T0 + i}, separators=(",", ":"))


def write_config(work, port):
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{port}"
log_level = "warn"
[state]
dir = "state"
checkpoint_interval = "1s"

[[sources]]
name = "file"
type = "file"
path = "events.jsonl"
follow = true

[[sources]]
name = "http"
type = "http"
durable = true

[[models]]
name = "soak"
version = "1"
baseline = "baseline.json"
[models.window]
type = "count"
size = 5000
[models.labels]
max_pending = 20000
""")


def driftd_pid(pid, binary):
    """pid itself, or its descendant running binary (under a --wrap command)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            if os.path.realpath(f"/proc/{p}/exe") == os.path.realpath(binary):
                return p
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return pid


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    rss_kb = int(status["VmRSS"].split()[0])
    return {"rss_kb": rss_kb, "anon_kb": int(status["RssAnon"].split()[0]), "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(os.listdir(f"/proc/{pid}/task"))}


def smaps_by_mapping(pid):
    """Rss and anonymous kB per kind of mapping: [heap], [stack], anonymous
    mappings (glibc's thread arenas and large blocks; a thread's stack),
    and each file by name: where a growth of RSS is."""
    out = {}
    key = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split()
                if not head:
                    continue
                if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                    name = head[5] if len(head) > 5 else ""
                    key = (name if name.startswith("[") else
                           os.path.basename(name) if name else "[anonymous]")
                    out.setdefault(key, {"rss_kb": 0, "anon_kb": 0, "mappings": 0})
                    out[key]["mappings"] += 1
                elif key and head[0] == "Rss:":
                    out[key]["rss_kb"] += int(head[1])
                elif key and head[0] == "Anonymous:":
                    out[key]["anon_kb"] += int(head[1])
    except OSError:
        pass
    return out


def mapping_growth(before, after, top=6):
    """The mappings whose RSS grew most between two smaps samples."""
    rows = []
    for k in set(before) | set(after):
        b, a = before.get(k, {}), after.get(k, {})
        rows.append({"mapping": k, "rss_kb": a.get("rss_kb", 0),
                     "rss_delta_kb": a.get("rss_kb", 0) - b.get("rss_kb", 0),
                     "anon_delta_kb": a.get("anon_kb", 0) - b.get("anon_kb", 0),
                     "mappings": a.get("mappings", 0),
                     "mappings_delta": a.get("mappings", 0) - b.get("mappings", 0)})
    rows.sort(key=lambda r: -abs(r["rss_delta_kb"]))
    return rows[:top]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", help="a build directory with the driftd binary")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--http-rate", type=float, default=100, help="requests of 100 events per s")
    ap.add_argument("--file-rate", type=float, default=5000, help="lines per s")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--wrap", default="", help="a command to run driftd under, e.g. "
                    "\"heaptrack -o /tmp/soak\" (driftd, its child, is the one sampled)")
    args = ap.parse_args()
    driftd = os.path.abspath(os.path.join(args.build, "driftd"))
    work = tempfile.mkdtemp(prefix="driftd-soak-")
    stop = threading.Event()
    errors = []
    counts = {"http_requests": 0, "http_accepted": 0, "file_lines": 0}
    try:
        make_training(os.path.join(work, "train.csv"))
        subprocess.run([driftd, "baseline", "build", "--input", os.path.join(work, "train.csv"),
                        "--out", os.path.join(work, "baseline.json"), "--categorical", "country",
                        "--prediction", "score", "--label", "label", "--id", "request_id",
                        "--model", "soak", "--model-version", "1"], check=True,
                       stdout=subprocess.DEVNULL)
        port = free_port()
        write_config(work, port)
        open(os.path.join(work, "events.jsonl"), "w").close()
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0:detect_leaks=1"
        proc = subprocess.Popen(args.wrap.split() + [driftd, "run", "--config", "driftd.toml"],
                                cwd=work, env=env,
                                stderr=open(os.path.join(work, "err.log"), "w"))
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("driftd not ready in 60 s: " + open(os.path.join(work, "err.log")).read())

        def http_load():
            ev = Events(seed=3, prefix="h", bad_every=997)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            period = 1.0 / args.http_rate
            next_at = time.time()
            n = 0
            while not stop.is_set():
                n += 1
                if n % 10 == 0:
                    path = "/v1/labels"
                    first = max(1, ev.i - 500)
                    body = "\n".join(ev.label(i) for i in range(first, first + 100))
                else:
                    path = "/v1/predictions"
                    body = "\n".join(ev.line() for _ in range(100))
                try:
                    conn.request("POST", path, body=body.encode(),
                                 headers={"Content-Type": "application/x-ndjson"})
                    r = conn.getresponse()
                    r.read()
                    counts["http_requests"] += 1
                    if r.status not in (202, 400):
                        errors.append(f"POST {path}: {r.status}")
                    if r.status == 202:
                        counts["http_accepted"] += 1
                except OSError as e:
                    errors.append(f"POST {path}: {e}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                next_at += period
                time.sleep(max(0.0, next_at - time.time()))

        def file_load():
            ev = Events(seed=4, prefix="f", bad_every=1009)
            with open(os.path.join(work, "events.jsonl"), "a") as f:
                next_at = time.time()
                while not stop.is_set():
                    f.write("".join(ev.line() + "\n" for _ in range(int(args.file_rate / 10))))
                    f.flush()
                    counts["file_lines"] += int(args.file_rate / 10)
                    next_at += 0.1
                    time.sleep(max(0.0, next_at - time.time()))

        loaders = ([threading.Thread(target=http_load)] if args.http_rate > 0 else []) + (
            [threading.Thread(target=file_load)] if args.file_rate > 0 else [])
        for t in loaders:
            t.start()
        samples = []
        smaps = []  # (second, by mapping), every 30 s
        pid = driftd_pid(proc.pid, driftd)
        start = time.time()
        while time.time() - start < args.seconds:
            time.sleep(1.0)
            if proc.poll() is not None:
                errors.append(f"driftd exited with {proc.returncode}")
                break
            samples.append(sample(pid))
            if len(samples) % 30 == 0:
                smaps.append((len(samples), smaps_by_mapping(pid)))
        stop.set()
        for t in loaders:
            t.join()
        os.kill(pid, signal.SIGTERM)  # driftd itself, not a --wrap command
        rc = proc.wait(timeout=120)
        if rc != 0:
            errors.append(f"driftd exited with {rc} after SIGTERM")
        windows = sum(1 for _ in open(os.path.join(work, "state", "windows.jsonl")))
    finally:
        stop.set()
        err_tail = open(os.path.join(work, "err.log")).read()[-2000:] if os.path.exists(
            os.path.join(work, "err.log")) else ""
        shutil.rmtree(work, ignore_errors=True)

    if len(samples) < 20:
        print(f"FAIL: {len(samples)} samples; {errors}; {err_tail}")
        return 1
    warm = len(samples) // 4
    after_warm = statistics.median(s["rss_kb"] for s in samples[warm:warm + 10])
    at_end = statistics.median(s["rss_kb"] for s in samples[-10:])

    def fitted_growth(key):
        ys = [s[key] for s in samples[warm:]]
        n = len(ys)
        mx, my = (n - 1) / 2, sum(ys) / n
        slope = sum((i - mx) * (y - my) for i, y in enumerate(ys)) / sum(
            (i - mx) ** 2 for i in range(n))
        start = my - slope * mx
        return slope * (n - 1) / start

    growth = fitted_growth("rss_kb")
    anon_growth = fitted_growth("anon_kb")
    warm_fds = max(s["fds"] for s in samples[:warm + 1])
    warm_threads = max(s["threads"] for s in samples[:warm + 1])
    figures = {
        "seconds": args.seconds, "samples": len(samples),
        "rss_after_warmup_kb": after_warm, "rss_at_end_kb": at_end,
        "rss_growth_percent": round(100 * growth, 3),
        "rss_anon_growth_percent": round(100 * anon_growth, 3),
        "rss_end_over_warmup_percent": round(100 * (at_end - after_warm) / after_warm, 3),
        "rss_max_kb": max(s["rss_kb"] for s in samples),
        "fds_warmup_max": warm_fds, "fds_at_end": samples[-1]["fds"],
        "fds_max": max(s["fds"] for s in samples),
        "threads_warmup_max": warm_threads, "threads_at_end": samples[-1]["threads"],
        "http_requests": counts["http_requests"], "http_accepted": counts["http_accepted"],
        "file_lines": counts["file_lines"], "windows": windows,
        "rss_kb_every_10s": [s["rss_kb"] for s in samples[::10]],
    }
    # Where the growth after warm-up is, by mapping (from /proc/PID/smaps).
    after_warm_smaps = [m for t, m in smaps if t >= warm]
    if len(after_warm_smaps) >= 2:
        figures["growth_by_mapping"] = mapping_growth(after_warm_smaps[0], after_warm_smaps[-1])
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    problems = list(errors)
    if growth >= 0.01:
        problems.append(f"RSS grew {100 * growth:.2f}% after warm-up (fitted; limit 1%)")
    if samples[-1]["fds"] > warm_fds:
        problems.append(f"fds grew: {warm_fds} during warm-up, {samples[-1]['fds']} at the end")
    if samples[-1]["threads"] > warm_threads:
        problems.append(f"threads grew: {warm_threads} -> {samples[-1]['threads']}")
    if windows < 2 and args.file_rate + 100 * args.http_rate >= 5000 * 2 / args.seconds:
        problems.append(f"only {windows} windows closed")
    for p in problems:
        print("FAIL", p)
    if problems:
        print(err_tail)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
