#!/usr/bin/python3
"""The daemon's file and Kafka ingest, end to end, next to simdjson's raw
parse rate of all fields of the same bytes, in one run.

    /usr/bin/python3 benchmarks/daemon_vs_simdjson.py build/release [--events 1000000] [--no-kafka]
        [--min-rate 1.5] [--max-cost 0.35]

With --min-rate and --max-cost it exits 1 when the file run misses issue
4's targets (at least 1.5 M events/s per core; at most 35% over the raw
parse), so a run is a pass or a fail, not only a figure.

Events: 20 numeric + 3 categorical features, about 350 bytes each, one
model. driftd runs `run --exit-when-done` on a file source with count
windows of 100,000 events (every window evaluated and logged, checkpoints
every 10 s); its rate is events per CPU second (user + sys of the process,
start-up and the final checkpoint included). simdjson_raw reads every field
of every line with one On-Demand parser, two ways: generic
(keys and strings unescaped into simdjson's buffer) and in place (a key or
string without escapes used where it lies, as the daemon reads); the
monitoring cost is stated against the faster, in-place parse. The raw
parse and the driftd run alternate for --rounds rounds (default 10), each
keeping its best, so a change in the host's speed touches both (with 5,
runs on a busy host spread from +28% to +53%).

Kafka: the same events in 32 partitions of librdkafka's mock cluster
(tests/kafka/mock_kafka: the real protocol over TCP on 127.0.0.1; it keeps
about 5 MB per partition, hence the many partitions), produced with kcat
before driftd starts; driftd consumes them as a consumer group to the end
(librdkafka's fetch and decompression threads count in its CPU time).
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import time


def make(dirname, n, seed=1):
    rng = random.Random(seed)
    names = [f"f{j}" for j in range(20)]
    cats = {"country": ["DE", "FR", "US", "IT", "ES", "GB", "NL"],
            "device": ["ios", "android", "web"], "plan": ["free", "pro", "team", "enterprise"]}
    with open(os.path.join(dirname, "train.csv"), "w") as f:
        f.write(",".join(names + list(cats)) + "\n")
        for _ in range(100000):
            f.write(",".join(f"{rng.gauss(j, 1 + j / 10):.5g}" for j in range(20)) + "," +
                    ",".join(rng.choice(v) for v in cats.values()) + "\n")
    t0 = 1795341600000
    with open(os.path.join(dirname, "events.jsonl"), "w") as f:
        for i in range(n):
            feats = {names[j]: round(rng.gauss(j + 0.1, 1 + j / 10), 4) for j in range(20)}
            for k, v in cats.items():
                feats[k] = rng.choice(v)
            f.write(json.dumps({"model": "bench", "model_version": "1", "id": f"r{i}",
                                "ts": t0 + i, "features": feats,
                                "prediction": round(rng.random(), 4)}, separators=(",", ":")) + "\n")


def write_config(dirname, name="driftd.toml", events="events.jsonl", models=("bench",),
                 window_size=100000, extra=""):
    """A config in dirname: the file source on `events`, each of `models`
    (version 1, on baseline.json, or baseline<i>.json when there are
    several) with count windows of `window_size` events; `extra`: more TOML
    at the end (rules)."""
    tables = "".join(f"""[[models]]
name = "{m}"
version = "1"
baseline = "{"baseline.json" if len(models) == 1 else f"baseline{i}.json"}"
[models.window]
type = "count"
size = {window_size}
""" for i, m in enumerate(models))
    with open(os.path.join(dirname, name), "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:0"
log_level = "warn"
[state]
dir = "state"
[[sources]]
name = "events"
type = "file"
path = "{events}"
{tables}{extra}""")


def run_kafka(driftd, mock, args, partitions=32):
    """driftd consuming the events from the mock cluster: (events/CPU s, wall, cpu)."""
    kdir = os.path.join(args.dir, "kafka")
    shutil.rmtree(kdir, ignore_errors=True)
    os.makedirs(kdir)
    cluster = subprocess.Popen([mock, "--topic", f"events:{partitions}"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        bootstrap = cluster.stdout.readline().strip().split("=", 1)[1]
        with open(os.path.join(args.dir, "events.jsonl")) as f:
            lines = f.readlines()
        for p in range(partitions):
            part = os.path.join(kdir, f"part{p}.jsonl")
            with open(part, "w") as f:
                f.writelines(lines[p::partitions])
            subprocess.run(["kcat", "-P", "-q", "-z", "zstd", "-b", bootstrap, "-t", "events",
                            "-p", str(p), "-l", part], check=True)
        cfg = open(os.path.join(args.dir, "driftd.toml")).read()
        cfg = cfg.replace('type = "file"\npath = "events.jsonl"',
                          f'type = "kafka"\nbrokers = "{bootstrap}"\ntopics = ["events"]\n'
                          f'group_id = "bench"\nclose_windows_at_end = true')
        with open(os.path.join(kdir, "driftd.toml"), "w") as f:
            f.write(cfg)
        shutil.copy(os.path.join(args.dir, "baseline.json"), kdir)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.time()
        subprocess.run([driftd, "run", "--config", os.path.join(kdir, "driftd.toml"),
                        "--exit-when-done"], check=True, cwd=kdir)
        wall = time.time() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows = 0
        with open(os.path.join(kdir, "state", "windows.jsonl")) as f:
            for line in f:
                rows += json.loads(line)["rows"]
        if rows != args.events:
            raise SystemExit(f"Kafka run counted {rows} of {args.events} events")
        return args.events / cpu, wall, cpu
    finally:
        cluster.stdin.close()
        cluster.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--dir", default="/tmp/driftd-daemon-bench")
    ap.add_argument("--no-kafka", action="store_true", help="skip the mock Kafka run")
    ap.add_argument("--rounds", type=int, default=10,
                    help="alternated rounds of the raw parse and the file run (best of each)")
    ap.add_argument("--min-rate", type=float, default=None, metavar="M",
                    help="exit 1 when the file run is below M million events/s per core "
                         "(issue 4's target: 1.5)")
    ap.add_argument("--max-cost", type=float, default=None, metavar="F",
                    help="exit 1 when the file run costs more than F over the in-place raw "
                         "parse (issue 4's target: 0.35)")
    args = ap.parse_args()
    driftd = os.path.abspath(os.path.join(args.build, "driftd"))
    raw = os.path.abspath(os.path.join(args.build, "benchmarks", "driftd_simdjson_raw"))
    os.makedirs(args.dir, exist_ok=True)
    events = os.path.join(args.dir, "events.jsonl")
    if not os.path.exists(events) or sum(1 for _ in open(events)) != args.events:
        make(args.dir, args.events)
    subprocess.run([driftd, "baseline", "build", "--input", os.path.join(args.dir, "train.csv"),
                    "--out", os.path.join(args.dir, "baseline.json"), "--model", "bench",
                    "--model-version", "1", "--categorical", "country,device,plan"], check=True,
                   stderr=subprocess.DEVNULL)
    write_config(args.dir)
    size = os.path.getsize(events)
    # The raw parse and driftd alternate, each round once, and each keeps its
    # best: the ratio then survives the host's speed changing between runs.
    r = None
    best = None
    for _ in range(args.rounds):
        got = json.loads(subprocess.run([raw, events, "1"], capture_output=True, text=True,
                                        check=True).stdout)
        if r is None:
            r = got
        else:
            r["events_per_s"] = max(r["events_per_s"], got["events_per_s"])
            r["generic_events_per_s"] = max(r["generic_events_per_s"],
                                            got["generic_events_per_s"])
        subprocess.run(["rm", "-rf", os.path.join(args.dir, "state")])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.time()
        subprocess.run([driftd, "run", "--config", os.path.join(args.dir, "driftd.toml"),
                        "--exit-when-done"], check=True, cwd=args.dir)
        wall = time.time() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if best is None or cpu < best[1]:
            best = (wall, cpu)
    windows = sum(1 for _ in open(os.path.join(args.dir, "state", "windows.jsonl")))
    d_rate = args.events / best[1]
    kafka = None
    mock = os.path.abspath(os.path.join(args.build, "tests", "driftd_mock_kafka"))
    if not args.no_kafka and os.path.exists(mock) and shutil.which("kcat"):
        kafka = run_kafka(driftd, mock, args)
    print(f"events: {args.events} ({size / args.events:.0f} bytes each, {size / 1e6:.0f} MB)")
    print(f"simdjson raw ({r['kernel']}), generic    : {r['generic_events_per_s'] / 1e6:6.2f} M events/s per core")
    print(f"simdjson raw ({r['kernel']}), in place   : {r['events_per_s'] / 1e6:6.2f} M events/s per core")
    print(f"driftd run, file source, {windows} windows : {d_rate / 1e6:6.2f} M events/s per core "
          f"(wall {best[0]:.2f} s, cpu {best[1]:.2f} s)")
    print(f"monitoring cost over the raw parse       : {r['events_per_s'] / d_rate - 1:+.0%}")
    if kafka is not None:
        k_rate, k_wall, k_cpu = kafka
        print(f"driftd run, mock Kafka, 32 partitions  : {k_rate / 1e6:6.2f} M events/s per core "
              f"(wall {k_wall:.2f} s, cpu {k_cpu:.2f} s)")
        print(f"monitoring cost over the raw parse       : {r['events_per_s'] / k_rate - 1:+.0%}")
    missed = []
    if args.min_rate is not None and d_rate < args.min_rate * 1e6:
        missed.append(f"file run {d_rate / 1e6:.2f} M events/s per core < {args.min_rate} M")
    cost = r["events_per_s"] / d_rate - 1
    if args.max_cost is not None and cost > args.max_cost:
        missed.append(f"file run costs {cost:+.0%} over the raw parse > +{args.max_cost:.0%}")
    if missed:
        raise SystemExit("target missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
