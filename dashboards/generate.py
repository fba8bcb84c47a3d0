#!/usr/bin/python3
"""Writes driftd's Grafana dashboards (dashboards/grafana/*.json) from the
panel lists below, so that every dashboard shares one data-source variable,
one layout and one style:

    dashboards/generate.py           rewrite the JSON files
    dashboards/generate.py --check   exit 1 if a committed file differs

- driftd-fleet.json   fleet overview: models, drifting share, firing alerts,
                      events/s, the worst features
- driftd-model.json   one model: per-feature drift heatmap, each statistic
                      over time with its threshold, prediction drift,
                      performance against the baseline, label lag
- driftd-health.json  the daemon: throughput, lag, rejects by reason,
                      checkpoints, window closes, sinks, HTTP, the process

Every expression here runs against a real Prometheus scraping driftd in
tests/dashboards/test_dashboards.py. Series with a `reference` label
compare with a second reference; the panels show the training baseline's
(`reference=""`) unless they say otherwise.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "grafana")
DS = {"type": "prometheus", "uid": "${datasource}"}
MODEL = 'model="$model", model_version="$model_version"'
FEATURE = MODEL + ', feature=~"$feature"'


def target(expr, legend="", instant=False, fmt=None):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "range": not instant,
         "instant": instant}
    if fmt:
        t["format"] = fmt
    return t


class Layout:
    """Places panels left to right in rows of 24 grid units."""

    def __init__(self):
        self.panels, self.x, self.y, self.row_h, self.next_id = [], 0, 0, 0, 1

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = self.next_id
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)

    def row(self, title):
        self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.add({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self.x = 24  # the next panel starts a new line


def panel(kind, title, targets, unit=None, description="", **options):
    p = {"type": kind, "title": title, "description": description, "datasource": DS,
         "targets": targets,
         "fieldConfig": {"defaults": {}, "overrides": []}, "options": {}}
    if unit:
        p["fieldConfig"]["defaults"]["unit"] = unit
    for k, v in options.items():
        if k == "defaults":
            p["fieldConfig"]["defaults"].update(v)
        else:
            p["options"][k] = v
    return p


def stat(title, expr, unit=None, description="", thresholds=None):
    defaults = {}
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": [
            {"color": c, "value": v} for v, c in thresholds]}
    return panel("stat", title, [target(expr, instant=True)], unit, description,
                 defaults=defaults, reduceOptions={"calcs": ["lastNotNull"]},
                 colorMode="background" if thresholds else "value")


def timeseries(title, targets, unit=None, description=""):
    return panel("timeseries", title, targets, unit, description,
                 legend={"displayMode": "table", "placement": "right",
                         "calcs": ["lastNotNull", "max"]})


def variable_query(name, label, query, multi=False, include_all=False):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2,
            "sort": 1, "multi": multi, "includeAll": include_all,
            "current": {}, "options": [], "hide": 0}


def dashboard(uid, title, description, panels, variables=()):
    return {
        "uid": uid, "title": title, "description": description, "tags": ["driftd"],
        "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "timezone": "",
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0, "refresh": 1}] + list(variables)},
        "annotations": {"list": []}, "links": [
            {"title": "driftd", "type": "dashboards", "tags": ["driftd"], "asDropdown": True}],
        "panels": panels,
    }


def fleet():
    lay = Layout()
    lay.add(stat("Models monitored", "count(driftd_model_info)"), 4, 4)
    lay.add(stat("Models in dataset drift",
                 'sum(driftd_model_dataset_drift{reference=""}) '
                 '/ count(driftd_model_dataset_drift{reference=""})',
                 "percentunit", "Share of model versions whose latest window drifts",
                 [(None, "green"), (0.01, "orange"), (0.5, "red")]), 4, 4)
    lay.add(stat("Alerts firing", "sum(driftd_alerts_firing) or vector(0)", None,
                 "driftd's own rules (docs/ALERTS.md)", [(None, "green"), (1, "red")]), 4, 4)
    lay.add(stat("Events/s", "sum(rate(driftd_source_events_received_total[$__rate_interval]))",
                 "ops"), 4, 4)
    lay.add(stat("Rejected events/s",
                 "sum(rate(driftd_source_events_rejected_total[$__rate_interval]))", "ops",
                 "Refused and dead-lettered", [(None, "green"), (0.001, "orange")]), 4, 4)
    lay.add(stat("Daemons not ready", "count(driftd_ready == 0) or vector(0)", None, "",
                 [(None, "green"), (1, "red")]), 4, 4)
    lay.add(timeseries("Drift share per model", [
        target('driftd_model_drift_share{reference=""}', "{{model}}@{{model_version}}")],
        "percentunit", "Share of a model's features drifting in its latest window"), 12, 8)
    lay.add(timeseries("Features drifting per model", [
        target('driftd_model_features_drifting{reference=""}', "{{model}}@{{model_version}}")]),
        12, 8)
    lay.add(panel("table", "Worst features now", [
        target('topk(15, driftd_feature_drift_severity{reference=""})', instant=True,
               fmt="table")], None,
        "The drift method's value over its threshold (1 and above: drift), highest first",
        sortBy=[{"displayName": "Value", "desc": True}]), 12, 9)
    lay.add(panel("table", "Models", [
        target("driftd_model_info", instant=True, fmt="table"),
        ], None, "Every monitored model version, its baseline and windows"), 12, 9)
    lay.add(timeseries("Alerts firing per rule", [
        target("sum by (model, model_version, rule, severity) (driftd_alerts_firing)",
               "{{model}}@{{model_version}} {{rule}} ({{severity}})")]), 24, 8)
    return dashboard("driftd-fleet", "driftd / Fleet overview",
                     "Every model driftd monitors: which drift, alerts, throughput", lay.panels)


STATISTICS = [
    ("psi", "PSI", "Population stability index on the baseline's bins"),
    ("ks_statistic", "Kolmogorov-Smirnov D", "Numeric features"),
    ("ks_p_value", "Kolmogorov-Smirnov p-value", "Numeric features; low means drift"),
    ("jensen_shannon", "Jensen-Shannon distance", ""),
    ("wasserstein", "Wasserstein distance (baseline std units)", "Numeric features"),
    ("mean_shift", "Mean shift (baseline std units)", "Numeric features"),
    ("chi2_p_value", "Chi-square p-value", "Categorical features; low means drift"),
    ("new_category_ratio", "New categories (share of values)", "Categorical features"),
]


def model():
    lay = Layout()
    lay.add(stat("Drift share", f'driftd_model_drift_share{{{MODEL}, reference=""}}',
                 "percentunit", "", [(None, "green"), (0.25, "orange"), (0.5, "red")]), 4, 4)
    lay.add(stat("Dataset drift", f'driftd_model_dataset_drift{{{MODEL}, reference=""}}', None,
                 "1: the drift share reached its threshold", [(None, "green"), (1, "red")]), 4, 4)
    lay.add(stat("Rows in the latest window", f"driftd_model_window_rows{{{MODEL}}}"), 4, 4)
    lay.add(stat("Windows closed", f"driftd_model_windows_closed_total{{{MODEL}}}"), 4, 4)
    lay.add(stat("Alerts firing", f"sum(driftd_alerts_firing{{{MODEL}}}) or vector(0)", None, "",
                 [(None, "green"), (1, "red")]), 4, 4)
    lay.add(stat("Processing lag", f"driftd_model_processing_lag_seconds{{{MODEL}}}", "s",
                 "Wall clock minus the newest event time"), 4, 4)
    lay.add(panel("heatmap", "Drift severity per feature", [
        target(f'driftd_feature_drift_severity{{{FEATURE}, reference=""}}', "{{feature}}",
               fmt="time_series")], None,
        "The drift method's value over its threshold, one row per feature (1 and above: drift)",
        calculate=False, yAxis={"axisPlacement": "left"},
        color={"mode": "scheme", "scheme": "RdYlGn", "reverse": True, "min": 0, "max": 2},
        cellGap=1), 24, 10)
    lay.row("Statistics (with the threshold of the method that decides drift)")
    for key, title, description in STATISTICS:
        targets = [target(f'driftd_feature_{key}{{{FEATURE}, reference=""}}', "{{feature}}")]
        if key != "mean_shift":  # (not a drift method: no threshold)
            stat_key = key.replace("_ratio", "_rate")
            targets.append(target(
                f'driftd_model_drift_threshold{{{MODEL}, statistic="{stat_key}"}}', "threshold"))
        lay.add(timeseries(title, targets, None, description), 12, 8)
    lay.add(timeseries("Missing values", [
        target(f'driftd_feature_missing_ratio{{{FEATURE}, reference=""}}', "{{feature}}"),
        target(f'driftd_feature_baseline_missing_ratio{{{FEATURE}, reference=""}}',
               "{{feature}} (baseline)")], "percentunit"), 12, 8)
    lay.add(timeseries("Drift against the second reference (PSI)", [
        target(f'driftd_feature_psi{{{FEATURE}, reference!=""}}', "{{feature}} vs {{reference}}")],
        None, "Training-serving skew: the same windows against the `reference` baseline"), 12, 8)
    lay.row("Predictions and performance")
    lay.add(timeseries("Prediction drift (PSI)", [
        target(f'driftd_feature_psi{{{MODEL}, role="prediction", reference=""}}', "{{feature}}"),
        target(f'driftd_model_drift_threshold{{{MODEL}, statistic="psi"}}', "threshold")],
        None, "The prediction column against the baseline's predictions"), 12, 8)
    lay.add(timeseries("Performance against the baseline", [
        target(f'{{__name__=~"driftd_model_performance_.+", {MODEL}}}', "{{__name__}}"),
        target(f'{{__name__=~"driftd_model_baseline_performance_.+", {MODEL}}}',
               "{{__name__}}")], None,
        "Each metric of the latest window's joined labels, and the baseline's"), 12, 8)
    lay.add(timeseries("Label lag", [
        target(f"histogram_quantile(0.5, sum by (le) (rate(driftd_model_label_lag_seconds_bucket"
               f"{{{MODEL}}}[$__rate_interval])))", "median"),
        target(f"histogram_quantile(0.95, sum by (le) (rate(driftd_model_label_lag_seconds_bucket"
               f"{{{MODEL}}}[$__rate_interval])))", "95th percentile")], "s",
        "Event time from a prediction to its label"), 12, 8)
    lay.add(timeseries("Labels", [
        target(f"sum by (outcome) (rate(driftd_model_labels_total{{{MODEL}}}[$__rate_interval]))",
               "{{outcome}}"),
        target(f"driftd_model_label_pending_predictions{{{MODEL}}}", "waiting for a label")],
        None, "Label events per second by outcome, and predictions waiting"), 12, 8)
    variables = [
        variable_query("model", "Model", "label_values(driftd_model_info, model)"),
        variable_query("model_version", "Version",
                       'label_values(driftd_model_info{model="$model"}, model_version)'),
        variable_query("feature", "Feature",
                       f'label_values(driftd_feature_drift{{{MODEL}}}, feature)', multi=True,
                       include_all=True),
    ]
    return dashboard("driftd-model", "driftd / Model detail",
                     "One model version: which features drift, how much, and its performance",
                     lay.panels, variables)


def health():
    lay = Layout()
    lay.add(stat("Ready", "min(driftd_ready)", None, "1 when /readyz answers 200",
                 [(None, "red"), (1, "green")]), 4, 4)
    lay.add(stat("Checkpoint age",
                 "max(time() - driftd_checkpoint_last_success_timestamp_seconds)", "s", "",
                 [(None, "green"), (120, "orange"), (600, "red")]), 4, 4)
    lay.add(stat("Checkpoint size", "max(driftd_checkpoint_size_bytes)", "bytes"), 4, 4)
    lay.add(stat("Windows waiting for their log", "sum(driftd_windows_log_pending_windows)", None,
                 "", [(None, "green"), (1, "red")]), 4, 4)
    lay.add(stat("CPU", "sum(rate(process_cpu_seconds_total{job=~\".*driftd.*\"}[$__rate_interval]))",
                 "percentunit", "Cores busy"), 4, 4)
    lay.add(stat("Resident memory", "sum(process_resident_memory_bytes{job=~\".*driftd.*\"})",
                 "bytes"), 4, 4)
    lay.add(timeseries("Events read per source", [
        target("sum by (source) (rate(driftd_source_events_received_total[$__rate_interval]))",
               "{{source}} read"),
        target("sum by (source) (rate(driftd_source_events_decoded_total[$__rate_interval]))",
               "{{source}} decoded")], "ops"), 12, 8)
    lay.add(timeseries("Rejected events by reason", [
        target("sum by (source, reason) (rate(driftd_source_events_rejected_total"
               "[$__rate_interval])) > 0", "{{source}} {{reason}}"),
        target("sum by (source) (rate(driftd_source_events_late_total[$__rate_interval]))",
               "{{source}} late")], "ops",
        "Refused and dead-lettered (the dead-letter file has each line and why); late events"),
        12, 8)
    lay.add(timeseries("Processing lag", [
        target("driftd_model_processing_lag_seconds", "{{model}}@{{model_version}}")], "s",
        "Wall clock minus the newest event time"), 8, 8)
    lay.add(timeseries("Kafka consumer lag", [
        target("sum by (source, topic) (driftd_kafka_consumer_lag_messages)",
               "{{source}} {{topic}}")], None, "Messages behind the high watermark"), 8, 8)
    lay.add(timeseries("File backlog", [
        target("driftd_source_backlog_bytes", "{{source}}")], "bytes",
        "Bytes written to a file source and not read yet"), 8, 8)
    lay.add(timeseries("Window close duration", [
        target("histogram_quantile(0.99, sum by (le, model) (rate("
               "driftd_model_window_close_duration_seconds_bucket[$__rate_interval])))",
               "{{model}} p99")], "s"), 8, 8)
    lay.add(timeseries("Checkpoint duration", [
        target("histogram_quantile(0.99, sum by (le) (rate("
               "driftd_checkpoint_duration_seconds_bucket[$__rate_interval])))", "p99"),
        target("rate(driftd_checkpoint_failures_total[$__rate_interval])", "failures/s")], "s"),
        8, 8)
    lay.add(timeseries("Alert deliveries", [
        target("sum by (sink, outcome) (rate(driftd_alert_deliveries_total[$__rate_interval]))",
               "{{sink}} {{outcome}}"),
        target("sum by (sink) (driftd_alert_delivery_queue)", "{{sink}} queued")], None,
        "Per sink: delivered, failed (retried), dead (kept in the outbox)"), 8, 8)
    lay.add(timeseries("HTTP requests", [
        target("sum by (path, code) (rate(driftd_http_requests_total[$__rate_interval]))",
               "{{path}} {{code}}")], "reqps"), 12, 8)
    lay.add(timeseries("Process", [
        target("process_resident_memory_bytes{job=~\".*driftd.*\"}", "{{instance}} resident"),
        target("process_open_fds{job=~\".*driftd.*\"}", "{{instance}} open fds")], None), 12, 8)
    lay.add(panel("table", "Daemons", [
        target("driftd_build_info", instant=True, fmt="table")], None,
        "Version and SIMD target of every driftd scraped"), 24, 6)
    return dashboard("driftd-health", "driftd / Daemon health",
                     "driftd itself: throughput, lag, refusals, checkpoints, sinks", lay.panels)


PROVISIONING = """\
# Grafana provisioning: copy to /etc/grafana/provisioning/dashboards/ and
# the dashboards' JSON files to the path below; Grafana loads them at start
# (and every 30 s). Each dashboard asks for its Prometheus data source.
apiVersion: 1
providers:
  - name: driftd
    folder: driftd
    type: file
    disableDeletion: false
    updateIntervalSeconds: 30
    allowUiUpdates: false
    options:
      path: /var/lib/grafana/dashboards/driftd
      foldersFromFilesStructure: false
"""


def outputs():
    files = {f"{d['uid']}.json": json.dumps(d, indent=2) + "\n" for d in (fleet(), model(), health())}
    files["provisioning/driftd.yaml"] = PROVISIONING
    return files


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in outputs().items():
        path = os.path.join(OUT, name)
        old = open(path).read() if os.path.exists(path) else None
        if old == text:
            continue
        if check:
            stale.append(name)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("dashboards/generate.py: out of date: " + ", ".join(stale) +
              " (run dashboards/generate.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
