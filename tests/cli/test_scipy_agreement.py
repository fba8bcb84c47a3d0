#!/usr/bin/python3
"""Fresh random reference cases (tests/reference/make_reference.py with new
seeds), computed live with Debian's numpy/scipy/sklearn, against the driftd
binary's JSON report. Tolerances as the issue states: 1e-6 relative (1e-12
absolute floor), p-values 1% relative or both below 1e-12.

    test_scipy_agreement.py DRIFTD_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

warnings.simplefilter("ignore")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import make_reference  # noqa: E402

DRIFTD = sys.argv[1]
passed, failures = 0, []


def agrees(e, a, p_value):
    if e is None or a is None:
        return e is None and a is None
    if p_value:
        return (e < 1e-12 and a < 1e-12) or abs(a - e) <= 0.01 * abs(e)
    return abs(a - e) <= 1e-6 * max(abs(a), abs(e)) + 1e-12


for seed in (1, 2, 3):
    with tempfile.TemporaryDirectory() as tmp:
        sys.argv = ["make_reference.py", tmp, "--seed", str(seed)]
        make_reference.main()
        for name in sorted(os.listdir(tmp)):
            d = os.path.join(tmp, name)
            case = json.load(open(os.path.join(d, "case.json")))
            base = os.path.join(d, "b.json")
            subprocess.run([DRIFTD, "baseline", "build", "--input", os.path.join(d, "train.csv"),
                            "--out", base, *case["build_args"]], check=True)
            out = subprocess.run([DRIFTD, "check", "--baseline", base, "--input",
                                  os.path.join(d, "serving.csv"), "--format", "json"],
                                 check=True, capture_output=True, text=True).stdout
            rep = json.loads(out)
            exp = case["expected"]
            for col, st in exp["features"].items():
                for key, e in st.items():
                    a = rep["features"][col].get(key)
                    if agrees(e, a, "p_value" in key):
                        passed += 1
                    else:
                        failures.append(f"seed {seed} {name}.{col}.{key}: scipy {e} driftd {a}")
            if "performance" in exp:
                for side in ("current", "baseline"):
                    for key, e in exp["performance"][side].items():
                        a = rep["performance"][side].get(key)
                        if agrees(e, a, False):
                            passed += 1
                        else:
                            failures.append(f"seed {seed} {name}.performance.{side}.{key}: sklearn {e} driftd {a}")

for f in failures:
    print("FAIL", f)
print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
