#!/usr/bin/python3
"""End-to-end tests of the driftd binary: exit codes, messages that name the
file/line/column, nothing partial written, schema changes reported.

    test_cli.py DRIFTD_BINARY TEST_DATA_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

DRIFTD, DATA = sys.argv[1], sys.argv[2]
failures = []
passed = 0


def run(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([DRIFTD, *args], capture_output=True, text=True, env=e)


def expect(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")


with tempfile.TemporaryDirectory() as tmp:
    def path(n):
        return os.path.join(tmp, n)

    def write(n, text):
        with open(path(n), "w") as f:
            f.write(text)
        return path(n)

    train = write("train.csv", "x,c,score,label\n" + "".join(
        f"{i % 50},{'ab'[i % 2]},{(i % 10) / 10},{i % 2}\n" for i in range(400)))
    base = path("b.json")
    r = run("baseline", "build", "--input", train, "--out", base, "--prediction", "score", "--label", "label")
    expect("build ok", r.returncode == 0, r.stderr)
    expect("build wrote json", json.load(open(base))["format"] == "driftd-baseline")
    expect("build says what it built",
           f"{base}: baseline of" in r.stdout and "from train.csv, 400 rows" in r.stdout and
           "1 numeric features: x" in r.stdout and "1 categorical features: c" in r.stdout and
           "prediction: score (numeric)" in r.stdout and "label: label (numeric)" in r.stdout,
           r.stdout)

    # A good check, JSON report shape.
    serving = write("serving.csv", "x,c,score,label,extra\n" + "".join(
        f"{i % 50 + 30},{'abz'[i % 3]},{(i % 10) / 10},{i % 2},1\n" for i in range(300)))
    r = run("check", "--baseline", base, "--input", serving, "--format", "json")
    expect("check ok", r.returncode == 0, r.stderr)
    rep = json.loads(r.stdout)
    expect("rows", rep["rows"] == 300)
    expect("numeric drift", rep["features"]["x"]["drift"] is True, rep["features"]["x"])
    expect("new column", rep["schema"]["new_columns"] == ["extra"], rep["schema"])
    expect("new category", abs(rep["features"]["c"]["new_category_rate"] - 1 / 3) < 1e-12)
    expect("performance", rep["performance"]["task"] == "classification")
    expect("prediction role", rep["features"]["score"]["role"] == "prediction")

    # --fail-on-drift exits 1 on dataset drift; the table is for people.
    r = run("check", "--baseline", base, "--input", serving, "--fail-on-drift")
    expect("fail-on-drift", r.returncode == 1, r.returncode)
    expect("table marks drift", "! x" in r.stdout and "DATASET DRIFT" in r.stdout, r.stdout)

    # Bad inputs: exit 2, message names file, line, column; nothing written.
    cases = [
        ("missing file", ["check", "--baseline", base, "--input", path("nope.csv")],
         f"{path('nope.csv')}: cannot open: No such file or directory"),
        ("empty file", ["check", "--baseline", base, "--input", write("empty.csv", "")],
         f"{path('empty.csv')}: the file is empty"),
        ("wrong field count", ["check", "--baseline", base, "--input",
                               write("short.csv", "x,c,score,label\n1,a,0.5,1\n2,b\n")],
         f"{path('short.csv')}:3:1: expected 4 fields as in the header, found 2"),
        ("broken quoting", ["check", "--baseline", base, "--input",
                            write("quote.csv", "x,c,score,label\n1,\"a\"b,0.5,1\n")],
         f"{path('quote.csv')}:2:6: unexpected character after a closing quote"),
        ("bad json line", ["check", "--baseline", base, "--input",
                           write("bad.jsonl", '{"x": 1}\n{"x": \n')],
         f"{path('bad.jsonl')}:2:1: invalid JSON"),
        ("not a baseline", ["check", "--baseline", train, "--input", serving],
         f"{train}: not a complete driftd baseline"),
        ("bad rules", ["check", "--baseline", base, "--input", serving, "--rules",
                       write("r.toml", "[drift]\nmethd = 1\n")], f"{path('r.toml')}:2: drift.methd: unknown key"),
        ("model mismatch", ["check", "--baseline", base, "--input", serving, "--model", "other"],
         "baseline is for model '', not 'other'"),
        ("unknown option", ["check", "--baseline", base, "--input", serving, "--bogus"], "--bogus"),
    ]
    for name, args, message in cases:
        r = run(*args)
        expect(name + " exit 2", r.returncode == 2, (r.returncode, r.stderr))
        expect(name + " message", message in r.stderr, r.stderr)

    # --max-errors lets malformed rows through, counted in the report.
    r = run("check", "--baseline", base, "--input", path("short.csv"), "--max-errors", "1", "--format", "json")
    expect("max-errors ok", r.returncode == 0, r.stderr)
    expect("max-errors counted", json.loads(r.stdout)["skipped_rows"] == 1)

    # A failed build leaves the previous baseline untouched and no temp file.
    before = open(base).read()
    r = run("baseline", "build", "--input", path("short.csv"), "--out", base)
    expect("failed build exit 2", r.returncode == 2)
    expect("old baseline kept", open(base).read() == before)
    expect("no temp files", sorted(f for f in os.listdir(tmp) if ".tmp." in f) == [])
    r = run("baseline", "build", "--input", train, "--out", path("nodir/b.json"))
    expect("unwritable out exit 2", r.returncode == 2 and "nodir/b.json" in r.stderr, r.stderr)

    # A baseline of another format version is refused.
    v3 = open(base).read().replace('"format_version": 2', '"format_version": 3')
    r = run("check", "--baseline", write("v3.json", v3), "--input", serving)
    expect("version refused", r.returncode == 2 and "baseline format version 3" in r.stderr, r.stderr)

    # Huge values and NaN/Inf text are handled and reported.
    odd = write("odd.csv", "x,c,score,label\n1e308,a,0.5,1\n-1e308,b,nan,0\ninf,a,0.1,1\nNaN,b,0.2,0\n1,a,x,1\n")
    r = run("check", "--baseline", base, "--input", odd, "--format", "json")
    expect("odd values ok", r.returncode == 0, r.stderr)
    f = json.loads(r.stdout)["features"]
    expect("infinite rate", f["x"]["infinite_rate"] == 0.2, f["x"])
    expect("missing rate", f["x"]["missing_rate"] == 0.2, f["x"])
    expect("type error rate", f["score"]["type_error_rate"] == 0.2, f["score"])

    # JSON lines in the daemon's event format work as check input.
    ev = write("events.jsonl", "".join(
        json.dumps({"model": "m", "id": f"r{i}", "features": {"x": i % 50, "c": "ab"[i % 2]},
                    "prediction": (i % 10) / 10, "score": (i % 10) / 10, "label": i % 2}) + "\n"
        for i in range(200)))
    r = run("check", "--baseline", base, "--input", ev, "--format", "json")
    expect("event jsonl ok", r.returncode == 0, r.stderr)
    expect("event jsonl no drift", json.loads(r.stdout)["features"]["x"]["drift"] is False)

    # The chosen SIMD target is logged with -v; a bad forced target is an error.
    r = run("-v", "version", env={"DRIFTD_SIMD_TARGET": "sse4"})
    expect("forced target", r.returncode == 0 and "SIMD target SSE4" in r.stderr, r.stderr)
    plain = run("version")
    forced = run("version", env={"DRIFTD_SIMD_TARGET": "scalar"})
    supported = [l for l in plain.stdout.splitlines() if l.startswith("supported:")]
    expect("a forced target still shows what the CPU supports",
           forced.returncode == 0 and "SIMD target: SCALAR" in forced.stdout and supported and
           supported[0] in forced.stdout.splitlines(), forced.stdout + plain.stdout)
    r = run("version", env={"DRIFTD_SIMD_TARGET": "avx9"})
    expect("bad target", r.returncode == 2 and "avx9 is not a target" in r.stderr, r.stderr)

for f in failures:
    print("FAIL", f)
print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
