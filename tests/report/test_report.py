#!/usr/bin/python3
"""The HTML drift report, in a real browser:

    test_report.py DRIFTD_BINARY PROJECT_DIR

- `driftd check --format html --out report.html` on the demo's serving
  data writes one self-contained page (no script, nothing fetched): the
  verdict on top, every feature in the table with its method, value and
  threshold, sorted by severity, an SVG of each feature's distribution on
  the baseline's bins (new categories marked), the performance table;
- headless Chromium (Debian's chromium, driven over the DevTools protocol:
  tests/report/browser.py) renders it with JavaScript off:
  the screenshot is not blank and the rendered text holds every feature;
- hostile names (a column and a category made of HTML) are shown escaped,
  never parsed as markup;
- the daemon serves the same page for a model's latest window at
  GET /v1/models/{model}/report; an unknown model gets 404.
"""
import csv
import html
import json
import os
import re
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
sys.path.insert(0, HERE)
import browser  # noqa: E402
import daemon_common as dc  # noqa: E402
from daemon_common import check  # noqa: E402

DRIFTD = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])
TRAIN = os.path.join(ROOT, "data", "demo", "train.csv")
SERVING = os.path.join(ROOT, "data", "demo", "serving.csv")
FEATURES = ["amount", "age", "country", "device", "tenure_days", "score", "label", "_multivariate"]


def render(page, work):
    """(screenshot path, rendered DOM) of a file in headless Chromium with
    JavaScript off for the page."""
    check(browser.find() is not None,
          "a Chromium is installed (scripts/deps.sh installs chromium)")
    if browser.find() is None:
        return None, ""
    b = browser.Browser()
    try:
        b.load("file://" + page, javascript=False)
        return b.screenshot(os.path.join(work, "shot.png")), b.html()
    finally:
        b.close()


def not_blank(shot):
    from PIL import Image
    img = Image.open(shot).convert("RGB")
    colors = img.getcolors(maxcolors=1 << 20) or []
    pixels = img.size[0] * img.size[1]
    background = max(colors)[0] if colors else pixels
    return len(colors) > 20 and (pixels - background) / pixels > 0.05, len(colors)


def visible_text(dom):
    body = re.sub(r"<style.*?</style>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def build_baseline(work, train, name="baseline.json", categorical="country,device"):
    out = os.path.join(work, name)
    subprocess.run([DRIFTD, "baseline", "build", "--input", train, "--out", out,
                    "--categorical", categorical, "--prediction", "score", "--label", "label",
                    "--id", "request_id", "--model", "fraud", "--model-version", "3"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def test_check_report(work):
    baseline = build_baseline(work, TRAIN)
    page = os.path.join(work, "report.html")
    r = subprocess.run([DRIFTD, "check", "--baseline", baseline, "--input", SERVING,
                        "--rules", os.path.join(ROOT, "config", "check.example.toml"),
                        "--format", "html", "--out", page], capture_output=True, text=True)
    check(r.returncode == 0 and os.path.exists(page), f"check --format html --out {r.stderr}")
    with open(page) as f:
        text = f.read()
    report = subprocess.run([DRIFTD, "check", "--baseline", baseline, "--input", SERVING,
                             "--rules", os.path.join(ROOT, "config", "check.example.toml"),
                             "--format", "json"], capture_output=True, text=True, check=True)

    rep = json.loads(report.stdout)
    check(text.startswith("<!DOCTYPE html>") and "<script" not in text.lower(),
          "one HTML page without a script")
    check(not re.search(r'(src|href)="(https?:)?//', text) and "@import" not in text,
          "self-contained: nothing fetched from the network")
    verdict = "Dataset drift" if rep["dataset_drift"] else "No dataset drift"
    first = text.find('class="verdict')
    check(first != -1 and verdict in text[first:first + 200] and
          first < text.find("<h2>Features</h2>"), f"the verdict ({verdict}) is on top")
    rows = re.findall(r'<tr><td><a href="#f-\d+">([^<]+)</a></td><td>(\w+)</td><td>(\w+)</td>'
                      r'<td>(\w+)</td><td class="n">([^<]+)</td><td class="n">([^<]+)</td>', text)
    names = [html.unescape(r[0]) for r in rows]
    check(sorted(names) == sorted(FEATURES), f"every feature in the table ({names})")
    drifting = [n for n in names if rep["features"][n]["drift"]]
    check(names[:len(drifting)] == drifting, "drifting features first")
    for name, kind, role, method, value, threshold in rows:
        f = rep["features"][html.unescape(name)]
        check(method == f["drift_method"] and
              abs(float(threshold) - f["threshold"]) <= 1e-3 * max(1, abs(f["threshold"])),
              f"{name}: method {method} and threshold {threshold} as in the JSON report")
        if f["drift_value"] is not None:
            check(abs(float(value) - f["drift_value"]) <= 1e-3 * max(1e-3, abs(f["drift_value"])),
                  f"{name}: value {value} as in the JSON report ({f['drift_value']})")
    check(text.count("<svg") == len(FEATURES) - 1,
          f"an SVG per feature but _multivariate ({text.count('<svg')})")
    check("how far each row lies from the baseline's principal components" in text,
          "_multivariate says what it measures")
    check("(new)" in text, "new categories are marked (the serving data has a new country)")
    check("<h2>Performance</h2>" in text and "roc_auc" in text, "the performance table")
    shot, dom = render(page, work)
    if shot:
        blank_ok, colors = not_blank(shot)
        check(blank_ok, f"Chromium renders it (not blank: {colors} colours)")
        shown = visible_text(dom)
        check(all(n in shown for n in FEATURES) and verdict in shown,
              "with JavaScript off, the rendered page holds every feature and the verdict")


def test_hostile_names(work):
    hostile_col = '<img src=x onerror="alert(1)">'
    hostile_cat = "<script>alert('x')</script>"
    train = os.path.join(work, "train.csv")
    serving = os.path.join(work, "serving.csv")
    with open(TRAIN) as f, open(train, "w", newline="") as t:
        reader = csv.reader(f)
        header = next(reader)
        w = csv.writer(t)
        w.writerow(header + [hostile_col])
        for i, row in enumerate(reader):
            w.writerow(row + [["a", "b"][i % 2]])
    with open(TRAIN) as f, open(serving, "w", newline="") as s:
        reader = csv.reader(f)
        header = next(reader)
        w = csv.writer(s)
        w.writerow(header + [hostile_col])
        for i, row in enumerate(reader):
            if i >= 2000:
                break
            w.writerow(row + [hostile_cat if i % 3 == 0 else "a"])
    baseline = build_baseline(work, train, categorical=f"country,device,{hostile_col}")
    page = os.path.join(work, "hostile.html")
    r = subprocess.run([DRIFTD, "check", "--baseline", baseline, "--input", serving,
                        "--format", "html", "--out", page], capture_output=True, text=True)
    check(r.returncode == 0, f"check with hostile names {r.stderr[-300:]}")
    with open(page) as f:
        text = f.read()
    check("<script" not in text.lower() and "<img" not in text.lower(),
          "no markup from the data reaches the page")
    def escaped(t):  # driftd writes ' as &#39; (Python: &#x27;)
        return html.escape(t).replace("&#x27;", "&#39;")
    check(escaped(hostile_col) in text and escaped(hostile_cat) in text,
          "the hostile column and category are shown, escaped")


def test_daemon_report(work):
    dc.init(DRIFTD, TRAIN)
    dc.make_baseline(work)
    subprocess.run([sys.executable, os.path.join(ROOT, "data", "demo", "make_demo_stream.py"),
                    os.path.join(work, "stream.jsonl"), "--minutes", "40"], check=True)
    port = dc.free_port()
    cfg = dc.write_config(work, port, 'name = "s"\ntype = "file"\npath = "stream.jsonl"\n'
                          'follow = true', 'type = "time"\nsize = "10m"')
    proc = subprocess.Popen([DRIFTD, "run", "--config", cfg], cwd=work,
                            stderr=subprocess.DEVNULL)
    try:
        check(dc.wait_for(lambda: len(dc.read_windows(work)) >= 3, timeout=60), "windows close")
        fetched = []

        def report_of_latest():
            """The page, fetched between two reads of the latest window that agree."""
            before = json.loads(dc.http_get(port, "/v1/models/fraud/drift")[1])["window"]["id"]
            status, page = dc.http_get(port, "/v1/models/fraud/report")
            after = json.loads(dc.http_get(port, "/v1/models/fraud/drift")[1])["window"]["id"]
            fetched[:] = [status, page, after]
            return before == after
        check(dc.wait_for(report_of_latest, timeout=30), "the latest window holds still a moment")
        status, page, latest = fetched
        check(status == 200 and page.startswith("<!DOCTYPE html>"),
              f"GET /v1/models/fraud/report: {status}")
        check(f"window {latest} (" in page, "the page is the latest window's")
        check(all(f in page for f in FEATURES) and page.count("<svg") >= 5,
              "with every feature and its distribution")
        check(dc.http_get(port, "/v1/models/nobody/report")[0] == 404, "an unknown model: 404")
        path = os.path.join(work, "window.html")
        with open(path, "w") as f:
            f.write(page)
        shot, dom = render(path, work)
        if shot:
            check(not_blank(shot)[0] and all(f in visible_text(dom) for f in FEATURES),
                  "Chromium renders the daemon's page")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    dc.run_tests([test_check_report, test_hostile_names, test_daemon_report])
