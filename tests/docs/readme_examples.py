#!/usr/bin/python3
"""Runs every example of the README as written and compares its output
with the README's, so that the two cannot drift apart.

    readme_examples.py DRIFTD_BINARY README.md

- Every fenced ```console block is an example: `$ ` starts a command (lines
  ending in `\\`, an open quote or a trailing `|` continue it, a here-document
  runs to its terminator); the lines up to the next command are its output
  (stdout and stderr, as a terminal shows them). `...` in a line stands for
  any text, a line that is only `...` for any number of lines. A command
  must exit 0 (an example that shows a failure prints `exit $?` itself).
- The blocks run in order in one bash, in a scratch directory holding the
  repository's data/ and config/, with `driftd` on the PATH: later examples
  use what earlier ones made, background jobs (`&`, `kill %1`) work as in
  a terminal, and whatever is still running at the end is stopped.
- The option synopsis under "## Usage" names exactly the options each
  subcommand's --help lists, no more and no fewer.
"""
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

DRIFTD = os.path.abspath(sys.argv[1])
README = os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(README)
failures = 0


def check(cond, what, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1
        if detail:
            print(detail)


def command_complete(text):
    """Whether bash would run `text` as it is (no open quote, no pending
    here-document, no trailing pipe or backslash)."""
    if text.endswith("\\") or text.rstrip().endswith("|"):
        return False
    r = subprocess.run(["bash", "-n"], input=text + "\n", capture_output=True, text=True)
    return not any(m in r.stderr for m in ("unexpected EOF", "unexpected end of file",
                                            "here-document"))


def examples(readme_lines):
    """[(line number, command, expected output lines)] of every console block."""
    out = []
    i = 0
    while i < len(readme_lines):
        m = re.match(r"^(\s*)```console\s*$", readme_lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1))
        i += 1
        block = []
        while not re.match(r"^\s*```\s*$", readme_lines[i]):
            block.append((i + 1, readme_lines[i][indent:]))
            i += 1
        i += 1
        j = 0
        while j < len(block):
            number, line = block[j]
            if not line.startswith("$ "):
                raise SystemExit(f"README.md:{number}: output before any command in a console block")
            command = line[2:]
            j += 1
            while not command_complete(command) and j < len(block):
                command += "\n" + block[j][1]
                j += 1
            expected = []
            while j < len(block) and not block[j][1].startswith("$ "):
                expected.append(block[j][1].rstrip())
                j += 1
            out.append((number, command, expected))
    return out


def line_pattern(expected):
    return re.compile("".join(".*" if part == "..." else re.escape(part)
                              for part in re.split(r"(\.\.\.)", expected)) + r"\Z")


def matches(expected, actual):
    """`expected` (with `...` lines and parts) against `actual`, both whole."""
    patterns = [None if e.strip() == "..." else line_pattern(e) for e in expected]
    memo = {}

    def at(i, j):
        key = (i, j)
        if key not in memo:
            if i == len(patterns):
                memo[key] = j == len(actual)
            elif patterns[i] is None:
                memo[key] = any(at(i + 1, k) for k in range(j, len(actual) + 1))
            else:
                memo[key] = (j < len(actual) and patterns[i].match(actual[j]) is not None
                             and at(i + 1, j + 1))
        return memo[key]

    return at(0, 0)


def trim(lines):
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def run_examples(cases, work):
    begin, end = "\x1edriftd-example-begin", "\x1edriftd-example-end"
    script = ["trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT"]
    for n, (_, command, _) in enumerate(cases):
        script.append(f"printf '%s %d\\n' {shlex.quote(begin)} {n}")
        script.append("{ " + command + "\n} 2>&1 </dev/null")
        script.append(f"printf '\\n%s %d %d\\n' {shlex.quote(end)} {n} $?")
    bindir = os.path.join(work, ".bin")
    os.makedirs(bindir)
    os.symlink(DRIFTD, os.path.join(bindir, "driftd"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"], NO_COLOR="1")
    proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        text, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        text, _ = proc.communicate()
        check(False, "the README's examples finish within 600 s")
    results = {}
    for m in re.finditer(re.escape(begin) + r" (\d+)\n(.*?)\n" + re.escape(end) + r" \1 (\d+)\n",
                         text, re.S):
        results[int(m.group(1))] = (m.group(2).split("\n"), int(m.group(3)))
    return results


def test_examples(readme_lines):
    cases = examples(readme_lines)
    check(len(cases) >= 15, f"the README has its examples ({len(cases)} commands)")
    work = tempfile.mkdtemp(prefix="driftd-readme-")
    try:
        for name in ("data", "config"):
            os.symlink(os.path.join(ROOT, name), os.path.join(work, name))
        results = run_examples(cases, work)
        for n, (number, command, expected) in enumerate(cases):
            first = command.split("\n")[0]
            if n not in results:
                check(False, f"README.md:{number}: `{first}` ran")
                continue
            actual, rc = results[n]
            actual = trim(actual)
            expected = trim(expected)
            ok = rc == 0 and matches(expected, actual)
            check(ok, f"README.md:{number}: `{first[:70]}` (exit {rc})",
                  "  expected:\n" + "\n".join("    " + e for e in expected) +
                  "\n  got:\n" + "\n".join("    " + a for a in actual))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def synopsis(readme_lines):
    """{subcommand words: the options the Usage synopsis shows}."""
    start = readme_lines.index("## Usage") + 1
    commands, current = {}, None
    for line in readme_lines[start:]:
        if line and not line.startswith("    "):
            if commands:
                break
            continue
        text = line.strip()
        if text.startswith("driftd "):
            words = []
            for token in text.split()[1:]:
                if not re.fullmatch(r"[a-z]+", token):
                    break
                words.append(token)
            current = tuple(words)
            commands[current] = set()
        if current is not None:
            commands[current] |= set(re.findall(r"--[a-z][a-z-]*", text.split("#")[0]))
    return commands


def test_synopsis(readme_lines):
    commands = synopsis(readme_lines)
    check(("baseline", "build") in commands and ("check",) in commands and ("run",) in commands,
          f"the synopsis shows the subcommands ({sorted(' '.join(c) for c in commands)})")
    for words, shown in commands.items():
        r = subprocess.run([DRIFTD, *words, "--help"], capture_output=True, text=True)
        options = r.stdout.split("Options:", 1)[-1]
        listed = set(re.findall(r"(?:^|[\s,])(--[a-z][a-z-]*)", options)) - {"--help"}
        name = " ".join(words)
        check(r.returncode == 0 and shown == listed,
              f"driftd {name}: the synopsis shows exactly the options of --help",
              f"  only in the README: {sorted(shown - listed)}\n"
              f"  only in --help: {sorted(listed - shown)}")


def main():
    with open(README) as f:
        readme_lines = f.read().split("\n")
    test_synopsis(readme_lines)
    test_examples(readme_lines)
    if failures:
        print(f"{failures} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
