#!/usr/bin/python3
"""scripts/deps.sh's steps are quiet: one line per step, the output in a
log file that a failure names with its last lines; with every package
present, installing prints nothing.

    test_quiet_steps.py REPO_ROOT
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(sys.argv[1])
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += not cond


def bash(script, logs):
    return subprocess.run(["bash", "-c", f"source {ROOT}/scripts/deps.sh\n{script}"],
                          capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, DRIFTD_LOG_DIR=logs))


def main():
    logs = tempfile.mkdtemp(prefix="driftd-steps-")
    noisy = "for i in $(seq 500); do echo \"line $i\"; echo \"warning $i\" >&2; done"
    r = bash(f"driftd_step 'building something big' bash -c '{noisy}'", logs)
    lines = r.stderr.splitlines()
    check(r.returncode == 0 and r.stdout == "" and len(lines) == 1 and
          re.fullmatch(r"driftd: building something big \.\.\. ok \(\d+ s\)", lines[0]) is not None,
          f"a step that prints 1,000 lines shows one ({lines[:2]})")
    log = os.path.join(logs, "building-something-big.log")
    with open(log) as f:
        text = f.read()
    check("line 500" in text and "warning 500" in text, "its output is in the step's log file")

    r = bash("driftd_step 'testing a failure' bash -c 'echo first; echo the cause >&2; exit 3'; "
             "echo unreachable", logs)
    check(r.returncode == 3 and "unreachable" not in r.stdout,
          f"a failing step fails the script with its status ({r.returncode})")
    check("FAILED (exit 3)" in r.stderr and os.path.join(logs, "testing-a-failure.log") in r.stderr
          and "the cause" in r.stderr, "and names its log file, with the last lines")

    r = bash("DRIFTD_DEBS=(bash coreutils); driftd_install_deps", logs)
    check(r.returncode == 0 and r.stdout == "" and r.stderr == "",
          "with every package present, installing prints nothing")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
