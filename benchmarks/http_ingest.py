#!/usr/bin/python3
"""HTTP ingest under wrk: events/s and request latency (p50/p99) of
POST /v1/predictions with NDJSON bodies, durable (ingest log + group-commit
fsync before the 2xx) and in memory.

    /usr/bin/python3 benchmarks/http_ingest.py build/release \
        [--events-per-request 100] [--connections 16] [--seconds 10]

Events: the same 20 numeric + 3 categorical features as
daemon_vs_simdjson.py (about 350 bytes each), count windows of 100,000
events. wrk (Debian package `wrk`) runs on the same 2-core machine as
driftd, one thread, keep-alive connections; every body is checked, logged
(durable) and applied. driftd's CPU time (user + sys from /proc) over the
run gives events per CPU second next to the wall-clock rate.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_vs_simdjson import make  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def run(driftd, workdir, lines, durable, args):
    state = os.path.join(workdir, "state")
    shutil.rmtree(state, ignore_errors=True)
    port = free_port()
    cfg = os.path.join(workdir, "http.toml")
    with open(cfg, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{port}"
[state]
dir = "state"
checkpoint_interval = "10s"
[[sources]]
name = "http"
type = "http"
durable = {"true" if durable else "false"}
[[models]]
name = "bench"
version = "1"
baseline = "baseline.json"
[models.window]
type = "count"
size = 100000
""")
    body = "\n".join(lines[:args.events_per_request]) + "\n"
    lua = os.path.join(workdir, "post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/x-ndjson"\n'
                f"wrk.body = [==[{body}]==]\n"
                "done = function(summary, latency, requests)\n"
                '  io.write(string.format("non2xx %d\\n", summary.errors.status))\n'
                "end\n")
    proc = subprocess.Popen([driftd, "run", "--config", cfg], cwd=workdir,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        cpu0 = cpu_seconds(proc.pid)
        out = subprocess.run(["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s",
                              "--latency", "-s", lua, f"http://127.0.0.1:{port}/v1/predictions"],
                             capture_output=True, text=True, check=True).stdout
        # Wait until everything accepted is applied, then read the CPU time.
        accepted = metric(port, 'driftd_ingest_events_total{endpoint="predictions"')
        for _ in range(600):
            if metric(port, "driftd_source_events_received_total") >= accepted:
                break
            time.sleep(0.05)
        cpu = cpu_seconds(proc.pid) - cpu0
        fsyncs = metric(port, "driftd_ingest_log_fsyncs_total") if durable else 0
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = int(re.search(r"non2xx (\d+)", out).group(1))
    return {"durable": durable, "events_s": accepted / args.seconds,
            "events_per_cpu_s": accepted / cpu if cpu > 0 else 0, "p50": lat.get("50"),
            "p99": lat.get("99"), "non2xx": non2xx, "fsyncs": fsyncs, "accepted": accepted}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--events-per-request", type=int, default=100)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--dir", default="/tmp/driftd-http-bench")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    driftd = os.path.abspath(os.path.join(args.build, "driftd"))
    os.makedirs(args.dir, exist_ok=True)
    events = os.path.join(args.dir, "events.jsonl")
    if not os.path.exists(events):
        make(args.dir, 20000)
    subprocess.run([driftd, "baseline", "build", "--input", os.path.join(args.dir, "train.csv"),
                    "--out", os.path.join(args.dir, "baseline.json"), "--model", "bench",
                    "--model-version", "1", "--categorical", "country,device,plan"], check=True,
                   stderr=subprocess.DEVNULL)
    with open(events) as f:
        lines = [l.rstrip("\n") for _, l in zip(range(args.events_per_request), f)]
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, {args.events_per_request} events "
          f"(~{sum(map(len, lines)) // len(lines)} bytes each) per NDJSON body")
    print("events/s: accepted (2xx) events per second of the run; events/CPU s: per second of "
          "driftd's CPU time;\nnon-2xx: requests refused with 429 (queue full: the ingest thread "
          "is the bottleneck); latency of all requests")
    print(f"{'mode':<10} {'events/s':>10} {'events/CPU s':>13} {'p50':>9} {'p99':>9} "
          f"{'429s':>8} {'fsyncs':>7}")
    for durable in (True, False):
        r = run(driftd, args.dir, lines, durable, args)
        print(f"{'durable' if durable else 'memory':<10} {r['events_s']:>10.0f} "
              f"{r['events_per_cpu_s']:>13.0f} {r['p50']:>9} {r['p99']:>9} {r['non2xx']:>8} "
              f"{int(r['fsyncs']):>7}")


if __name__ == "__main__":
    main()
