#!/usr/bin/python3
"""Steady-state memory of `driftd run` for 100 features x 10 models, at two
stream lengths: the peak RSS must not grow with the stream.

    /usr/bin/python3 benchmarks/daemon_memory.py build/release [--events 60000 240000]

Ten models share one 100-feature schema (90 numeric, 10 categorical, plus a
score, a 0/1 label and an id), each with its own baseline file; sliding
time windows of 10 minutes every minute (10 panes); labels for half the
predictions, 5 minutes late; labels.max_pending = 20000 per model. Events
(about 2.3 KB each) are streamed to driftd's stdin from a generator, round
robin over the models, 100 ms of event time apart per model. The peak RSS
(VmHWM) is read from /proc just before the process exits.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

N_NUM, N_CAT, N_MODELS = 90, 10, 10
CATS = ["a", "b", "c", "d", "e", "f", "g"]


def make_training(path, rows=20000, seed=1):
    rng = random.Random(seed)
    with open(path, "w") as f:
        names = [f"n{j}" for j in range(N_NUM)] + [f"c{j}" for j in range(N_CAT)]
        f.write(",".join(names + ["score", "label", "request_id"]) + "\n")
        for i in range(rows):
            nums = [f"{rng.gauss(j % 7, 1 + j % 3):.4g}" for j in range(N_NUM)]
            cats = [rng.choice(CATS) for _ in range(N_CAT)]
            score = rng.random()
            label = 1 if rng.random() < score else 0
            f.write(",".join(nums + cats + [f"{score:.4f}", str(label), f"t{i}"]) + "\n")


def write_config(work, n_models, max_pending):
    with open(os.path.join(work, "driftd.toml"), "w") as f:
        f.write("""[server]
listen = "127.0.0.1:0"
log_level = "warn"
[state]
dir = "state"
checkpoint_interval = "5s"
[[sources]]
name = "stdin"
type = "file"
path = "-"
""")
        for m in range(n_models):
            f.write(f"""
[[models]]
name = "m{m}"
version = "1"
baseline = "baseline-m{m}.json"
[models.window]
type = "time"
size = "10m"
step = "1m"
allowed_lateness = "10s"
[models.labels]
max_pending = {max_pending}
""")


def stream(out, n, seed=2):
    """Predictions round robin over the models; labels 5 minutes late."""
    rng = random.Random(seed)
    t0 = 1795341600000
    pending = []
    for i in range(n):
        m = i % N_MODELS
        ts = t0 + (i // N_MODELS) * 100
        feats = {f"n{j}": round(rng.gauss(j % 7 + 0.2, 1 + j % 3), 3) for j in range(N_NUM)}
        for j in range(N_CAT):
            feats[f"c{j}"] = rng.choice(CATS)
        score = round(rng.random(), 4)
        out.write(json.dumps({"model": f"m{m}", "model_version": "1", "id": f"r{i}", "ts": ts,
                              "features": feats, "prediction": score}) + "\n")
        if i % 2 == 0:
            pending.append((ts + 300000, m, i, 1 if rng.random() < score else 0))
        while pending and pending[0][0] <= ts:
            lts, lm, li, y = pending.pop(0)
            out.write(json.dumps({"model": f"m{lm}", "id": f"r{li}", "label": y, "ts": lts}) +
                      "\n")
    out.close()


def peak_rss_kb(driftd, work, n):
    proc = subprocess.Popen([driftd, "run", "--config", "driftd.toml", "--exit-when-done"],
                            cwd=work, stdin=subprocess.PIPE, text=True,
                            stderr=subprocess.DEVNULL)
    peak = [0]

    def watch():
        status = f"/proc/{proc.pid}/status"
        while proc.poll() is None:
            try:
                with open(status) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                break
            time.sleep(0.02)

    t = threading.Thread(target=watch)
    t.start()
    start = time.time()
    stream(proc.stdin, n)
    proc.wait()
    t.join()
    if proc.returncode != 0:
        sys.exit(f"driftd exited {proc.returncode}")
    return peak[0], time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--events", type=int, nargs="+", default=[60000, 240000])
    ap.add_argument("--max-pending", type=int, default=20000)
    args = ap.parse_args()
    driftd = os.path.abspath(os.path.join(args.build, "driftd"))
    with tempfile.TemporaryDirectory(prefix="driftd-mem-") as work:
        make_training(os.path.join(work, "train.csv"))
        cats = ",".join(f"c{j}" for j in range(N_CAT))
        for m in range(N_MODELS):
            subprocess.run([driftd, "baseline", "build", "--input", "train.csv", "--out",
                            f"baseline-m{m}.json", "--categorical", cats, "--prediction", "score",
                            "--label", "label", "--id", "request_id", "--model", f"m{m}",
                            "--model-version", "1"], cwd=work, check=True,
                           stderr=subprocess.DEVNULL)
        write_config(work, N_MODELS, args.max_pending)
        print(f"{N_MODELS} models x {N_NUM + N_CAT} features (+ score, label), sliding 10m/1m "
              f"windows, labels.max_pending={args.max_pending}")
        print(f"{'events':>10} {'event time':>12} {'windows':>8} {'peak RSS':>10} {'wall':>7}")
        for n in args.events:
            state = os.path.join(work, "state")
            subprocess.run(["rm", "-rf", state], check=True)
            kb, wall = peak_rss_kb(driftd, work, n)
            with open(os.path.join(state, "windows.jsonl")) as f:
                windows = sum(1 for _ in f)
            minutes = n // N_MODELS * 0.1 / 60
            print(f"{n:>10} {minutes:>10.0f} m {windows:>8} {kb / 1024:>8.1f} MB {wall:>6.1f}s",
                  flush=True)


if __name__ == "__main__":
    main()
