// Every family here is built from the published snapshot under its mutex,
// at scrape time: the event path never touches a metric. One idiom:
// metric_family() for the family, add_sample() / add_histogram() for each
// series (src/server/metric_family.h).
#include "src/server/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/text_serializer.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>

#include "alerts/outbox/deliverer.h"
#include "driftd/detectors/detector.h"
#include "driftd/kernels/kernels.h"
#include "src/server/metric_family.h"
#include "src/server/published.h"
#include "src/sources/source.h"

namespace driftd {

using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<prometheus::ClientMetric::Label>;

std::string feature_metric_name(std::string_view key) {
  std::string name = "driftd_feature_";
  name += key;
  constexpr std::string_view kRate = "_rate";
  if (name.size() > kRate.size() &&
      name.compare(name.size() - kRate.size(), kRate.size(), kRate) == 0) {
    name.replace(name.size() - kRate.size(), kRate.size(), "_ratio");
  }
  return name;
}

namespace {

// One gauge family per statistic the detectors emit, in registry order.
struct StatisticFamilies {
  std::vector<MetricFamily> families;
  std::map<std::string, size_t, std::less<>> index;  // statistic key -> family

  StatisticFamilies() {
    for (const Detector* d : all_detectors()) {
      for (const StatisticInfo& s : d->statistics()) {
        if (index.count(s.key)) continue;
        index.emplace(s.key, families.size());
        families.push_back(metric_family(
            feature_metric_name(s.key),
            std::string(s.description) + " (the latest window; statistic \"" + s.key + "\")",
            MetricType::Gauge));
      }
    }
  }
};

Labels with(Labels base, prometheus::ClientMetric::Label extra) {
  base.push_back(std::move(extra));
  return base;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The per-feature families of one report (the training baseline's, or the
// second reference's with a `reference` label), within the series cap.
struct FeatureFamilies {
  StatisticFamilies stats;
  MetricFamily drift = metric_family(
      "driftd_feature_drift", "1 when the feature drifted in the latest window", MetricType::Gauge);
  MetricFamily severity = metric_family(
      "driftd_feature_drift_severity",
      "The drift method's value relative to its threshold in the latest window (1 and above: "
      "drift)",
      MetricType::Gauge);
  MetricFamily threshold = metric_family(
      "driftd_feature_drift_threshold",
      "The threshold of the statistic that decides the feature's drift (label `statistic`)",
      MetricType::Gauge);
  MetricFamily missing =
      metric_family("driftd_feature_missing_ratio", "Share of missing values in the latest window",
                    MetricType::Gauge);
  MetricFamily type_errors = metric_family(
      "driftd_feature_type_error_ratio",
      "Share of values of the wrong type (text in a numeric column) in the latest window",
      MetricType::Gauge);
  MetricFamily baseline_missing = metric_family(
      "driftd_feature_baseline_missing_ratio",
      "Share of missing values in the baseline (a constant of the baseline)", MetricType::Gauge);
  size_t exported = 0, dropped = 0;

  void add(const CheckReport& r, const Labels& model_labels, size_t limit) {
    for (const FeatureResult& f : r.features) {
      if (exported >= limit) {
        ++dropped;
        continue;
      }
      ++exported;
      Labels l = model_labels;
      l.insert(l.begin() + 2, {{"feature", f.name}, {"role", to_string(f.role)}});
      add_sample(drift, f.drift ? 1 : 0, l);
      if (std::isfinite(f.severity) && f.drift_value) add_sample(severity, f.severity, l);
      add_sample(threshold, f.rule.threshold, with(l, {"statistic", f.rule.method}));
      add_sample(missing, f.missing_rate, l);
      add_sample(type_errors, f.type_error_rate, l);
      add_sample(baseline_missing, f.baseline_missing_rate, l);
      for (const StatValue& s : f.stats) {
        if (!s.value) continue;
        const auto it = stats.index.find(s.key);
        if (it != stats.index.end()) add_sample(stats.families[it->second], *s.value, l);
      }
    }
  }
};

}  // namespace

std::vector<MetricFamily> published_metric_families(const Published& p, size_t max_features) {
  std::lock_guard<std::mutex> lock(p.mu);
  std::vector<MetricFamily> out;
  const auto family = [&](const char* name, const char* help, MetricType type) -> MetricFamily& {
    out.push_back(metric_family(name, help, type));
    return out.back();
  };

  // ---- sources ---------------------------------------------------------------
  {
    MetricFamily received =
        metric_family("driftd_source_events_received_total",
                      "Events (lines, records) read from a source", MetricType::Counter);
    MetricFamily decoded =
        metric_family("driftd_source_events_decoded_total",
                      "Events decoded and added to a model's windows", MetricType::Counter);
    MetricFamily rejected = metric_family(
        "driftd_source_events_rejected_total",
        "Events refused and written to the dead-letter file, by reason", MetricType::Counter);
    MetricFamily late = metric_family("driftd_source_events_late_total",
                                      "Events later than every open window (counted, not added)",
                                      MetricType::Counter);
    MetricFamily labels = metric_family("driftd_source_label_events_total",
                                        "Label events read from a source", MetricType::Counter);
    for (const auto& s : p.sources) {
      const Labels l = {{"source", s.name}, {"type", s.type}};
      add_sample(received, static_cast<double>(s.received), l);
      add_sample(decoded, static_cast<double>(s.added), l);
      add_sample(late, static_cast<double>(s.late), l);
      add_sample(labels, static_cast<double>(s.labels), l);
      for (size_t r = 1; r < kRejectReasons; ++r) {
        add_sample(rejected, static_cast<double>(s.rejected[r]),
                   with(l, {"reason", to_string(static_cast<RejectReason>(r))}));
      }
    }
    for (auto* f : {&received, &decoded, &rejected, &late, &labels}) out.push_back(std::move(*f));
    // Each source type's own families (a file's offset, Kafka's lag), from
    // its sources' counters.
    for (const SourceType* type : source_types()) {
      if (type->metrics == nullptr) continue;
      std::vector<const SourceCounters*> of_type;
      for (const auto& s : p.sources) {
        if (s.type == type->type) of_type.push_back(&s);
      }
      type->metrics(of_type, out);
    }
  }

  // ---- models and their latest windows ----------------------------------------
  {
    MetricFamily info = metric_family(
        "driftd_model_info",
        "1 per monitored model version, labelled with its baseline and window settings",
        MetricType::Gauge);
    MetricFamily events = metric_family("driftd_model_events_total",
                                        "Events added to a model's windows", MetricType::Counter);
    MetricFamily model_late =
        metric_family("driftd_model_events_late_total",
                      "A model's events later than every open window", MetricType::Counter);
    MetricFamily windows = metric_family("driftd_model_windows_closed_total",
                                         "Windows evaluated and logged", MetricType::Counter);
    MetricFamily close_seconds = metric_family(
        "driftd_model_window_close_duration_seconds",
        "Time to close a window: merge its panes, run every detector, log it, run the alert "
        "rules",
        MetricType::Histogram);
    MetricFamily share =
        metric_family("driftd_model_drift_share", "Share of features drifting in the latest window",
                      MetricType::Gauge);
    MetricFamily drifting =
        metric_family("driftd_model_features_drifting", "Features drifting in the latest window",
                      MetricType::Gauge);
    MetricFamily dataset = metric_family(
        "driftd_model_dataset_drift",
        "1 when the latest window's drift share reached its threshold", MetricType::Gauge);
    MetricFamily rows =
        metric_family("driftd_model_window_rows", "Rows in the latest window", MetricType::Gauge);
    MetricFamily window_labels =
        metric_family("driftd_model_window_labels",
                      "Labels joined to their predictions in the latest window", MetricType::Gauge);
    MetricFamily window_end =
        metric_family("driftd_model_window_end_timestamp_seconds",
                      "End of the latest window (event time; time windows)", MetricType::Gauge);
    MetricFamily newest =
        metric_family("driftd_model_newest_event_timestamp_seconds",
                      "The newest event time seen (time windows)", MetricType::Gauge);
    MetricFamily processing_lag = metric_family(
        "driftd_model_processing_lag_seconds",
        "Wall clock minus the newest event time seen (time windows; large while replaying "
        "history)",
        MetricType::Gauge);
    MetricFamily label_events =
        metric_family("driftd_model_labels_total",
                      "Label events by outcome: joined to their prediction, unmatched (no waiting "
                      "prediction), late (its window closed)",
                      MetricType::Counter);
    MetricFamily label_dropped = metric_family(
        "driftd_model_label_predictions_dropped_total",
        "Predictions that stopped waiting for a label: expired (ttl) or evicted (cap)",
        MetricType::Counter);
    MetricFamily pending = metric_family(
        "driftd_model_label_pending_predictions",
        "Predictions waiting for their label (bounded by labels.max_pending)", MetricType::Gauge);
    MetricFamily label_lag =
        metric_family("driftd_model_label_lag_seconds",
                      "Event time from a prediction to its label, for joined labels (time windows)",
                      MetricType::Histogram);
    MetricFamily method_threshold = metric_family(
        "driftd_model_drift_threshold",
        "The threshold of each statistic when it is a column's drift method (columns with a rule "
        "of their own: driftd_feature_drift_threshold)",
        MetricType::Gauge);
    std::map<std::string, MetricFamily> performance, baseline_performance;
    FeatureFamilies features;
    const double now = unix_now();
    for (const auto& m : p.models) {
      const Labels l = {{"model", m.name}, {"model_version", m.version}};
      Labels il = {
          {"model", m.name},
          {"model_version", m.version},
          {"baseline", m.baseline_path.substr(m.baseline_path.find_last_of('/') + 1)},
          {"window_kind", m.window.kind == WindowSettings::Kind::kCount ? "count" : "time"}};
      if (!m.reference_name.empty()) il.push_back({"reference", m.reference_name});
      add_sample(info, 1, std::move(il));
      for (const Detector* d : all_detectors()) {
        for (const StatisticInfo& st : d->statistics()) {
          const double t = m.rules.threshold_of(st.key);
          if (!std::isnan(t)) add_sample(method_threshold, t, with(l, {"statistic", st.key}));
        }
      }
      add_sample(events, static_cast<double>(m.events), l);
      add_sample(model_late, static_cast<double>(m.late), l);
      add_sample(windows, static_cast<double>(m.windows), l);
      add_histogram(close_seconds, m.window_close_seconds.bounds(), m.window_close_seconds.counts(),
                    m.window_close_seconds.sum(), l);
      for (const auto& [outcome, v] : {std::pair{"joined", m.labels.joined},
                                       {"unmatched", m.labels.unmatched},
                                       {"late", m.labels.late}}) {
        add_sample(label_events, static_cast<double>(v), with(l, {"outcome", outcome}));
      }
      for (const auto& [why, v] :
           {std::pair{"expired", m.labels.expired}, {"evicted", m.labels.evicted}}) {
        add_sample(label_dropped, static_cast<double>(v), with(l, {"reason", why}));
      }
      add_sample(pending, static_cast<double>(m.pending_labels), l);
      if (m.window.kind == WindowSettings::Kind::kTime) {
        add_histogram(label_lag, m.labels.lag_seconds.bounds(), m.labels.lag_seconds.counts(),
                      m.labels.lag_seconds.sum(), l);
        if (m.newest_event_ms > 0) {
          const double newest_s = static_cast<double>(m.newest_event_ms) / 1000.0;
          add_sample(newest, newest_s, l);
          add_sample(processing_lag, now - newest_s, l);
        }
      }
      if (!m.latest) continue;
      const CheckReport& r = m.latest->report;
      add_sample(share, r.drift_share, l);
      add_sample(drifting, static_cast<double>(r.features_drifted), l);
      add_sample(dataset, r.dataset_drift ? 1 : 0, l);
      add_sample(rows, static_cast<double>(r.rows), l);
      if (m.window.kind == WindowSettings::Kind::kTime) {
        add_sample(window_end, static_cast<double>(m.latest->end) / 1000.0, l);
      }
      // One family per performance metric, the baseline's value beside it.
      const auto perf = [&](std::map<std::string, MetricFamily>& into, const Performance& pf,
                            const char* prefix, const char* what) {
        for (const auto& metric : pf.metrics) {
          if (!metric.value) continue;
          auto it = into.find(metric.name);
          if (it == into.end()) {
            it = into.emplace(metric.name,
                              metric_family(prefix + metric.name,
                                            std::string(what) + " (" + metric.name + ")",
                                            MetricType::Gauge))
                     .first;
          }
          add_sample(it->second, *metric.value, l);
        }
      };
      if (r.performance) {
        add_sample(window_labels, static_cast<double>(r.performance->rows), l);
        perf(performance, *r.performance, "driftd_model_performance_",
             "A performance metric of the latest window's joined labels");
      }
      if (r.baseline_performance) {
        perf(baseline_performance, *r.baseline_performance, "driftd_model_baseline_performance_",
             "The same performance metric on the baseline (a constant of the baseline)");
      }
      features.add(r, l, max_features);
      // The second reference: the same series with a `reference` label
      // (the training baseline's series have none).
      if (const CheckReport* ref = m.latest->reference.get()) {
        const Labels rl = with(l, {"reference", m.latest->reference_name});
        add_sample(share, ref->drift_share, rl);
        add_sample(drifting, static_cast<double>(ref->features_drifted), rl);
        add_sample(dataset, ref->dataset_drift ? 1 : 0, rl);
        features.add(*ref, rl, max_features);
      }
    }
    for (auto* f : {&info, &method_threshold, &events, &model_late, &windows, &close_seconds,
                    &share, &drifting, &dataset, &rows, &window_labels, &window_end, &newest,
                    &processing_lag, &label_events, &label_dropped, &pending, &label_lag}) {
      out.push_back(std::move(*f));
    }
    for (auto& [name, f] : performance) out.push_back(std::move(f));
    for (auto& [name, f] : baseline_performance) out.push_back(std::move(f));
    for (auto* f : {&features.drift, &features.severity, &features.threshold, &features.missing,
                    &features.type_errors, &features.baseline_missing}) {
      out.push_back(std::move(*f));
    }
    for (auto& f : features.stats.families) out.push_back(std::move(f));
    add_sample(family("driftd_metric_features_limit",
                      "Per-feature series are exported for at most this many (model, version, "
                      "reference, feature) combinations ([server] max_metric_features)",
                      MetricType::Gauge),
               static_cast<double>(max_features));
    add_sample(family("driftd_metric_features_dropped",
                      "(model, version, reference, feature) combinations past the limit, whose "
                      "per-feature series are not exported",
                      MetricType::Gauge),
               static_cast<double>(features.dropped));
  }

  // ---- state: checkpoints, logs, readiness, reloads ----------------------------
  add_sample(family("driftd_checkpoint_last_success_timestamp_seconds",
                    "Wall time of the last checkpoint written (its age: time() minus this)",
                    MetricType::Gauge),
             p.last_checkpoint_unix);
  add_sample(family("driftd_checkpoint_size_bytes", "Size of the last checkpoint written",
                    MetricType::Gauge),
             static_cast<double>(p.checkpoint_bytes));
  add_histogram(family("driftd_checkpoint_duration_seconds",
                       "Time to write a checkpoint (state, positions, fsyncs, rename)",
                       MetricType::Histogram),
                p.checkpoint_seconds.bounds(), p.checkpoint_seconds.counts(),
                p.checkpoint_seconds.sum());
  add_sample(family("driftd_checkpoint_failures_total", "Checkpoints that could not be written",
                    MetricType::Counter),
             static_cast<double>(p.checkpoint_failures));
  add_sample(family("driftd_windows_log_write_failures_total",
                    "Appends to the windows log that failed (retried; nothing is checkpointed "
                    "past them)",
                    MetricType::Counter),
             static_cast<double>(p.windows_log_failures));
  add_sample(family("driftd_windows_log_pending_windows",
                    "Closed windows waiting for the windows log to take them", MetricType::Gauge),
             static_cast<double>(p.windows_log_pending));
  add_sample(family("driftd_ready", "1 when /readyz answers 200", MetricType::Gauge),
             p.ready.load() ? 1 : 0);
  add_sample(family("driftd_config_reload_failures_total",
                    "SIGHUP reloads refused (the old config kept running)", MetricType::Counter),
             static_cast<double>(p.reload_failures));

  // ---- alerts, sinks and triggers -----------------------------------------------
  {
    MetricFamily& firing = family("driftd_alerts_firing",
                                  "Alerts firing, per model, version, rule and severity (one per "
                                  "feature for per-feature rules)",
                                  MetricType::Gauge);
    for (const auto& m : p.models) {
      for (const auto& [rule, n] : m.firing) {
        add_sample(firing, static_cast<double>(n),
                   {{"model", m.name},
                    {"model_version", m.version},
                    {"rule", rule.first},
                    {"severity", rule.second}});
      }
    }
  }
  {
    MetricFamily deliveries = metric_family("driftd_alert_deliveries_total",
                                            "Alert deliveries per sink: delivered, failed "
                                            "(retried later), dead (refused for good, kept in "
                                            "the outbox)",
                                            MetricType::Counter);
    MetricFamily queue =
        metric_family("driftd_alert_delivery_queue",
                      "Alerts in the outbox a sink has still to deliver", MetricType::Gauge);
    MetricFamily repeats = metric_family("driftd_alert_repeats_total",
                                         "Re-sends of the firing alerts to Alertmanager (which "
                                         "forgets an alert not heard of again)",
                                         MetricType::Counter);
    MetricFamily latency =
        metric_family("driftd_alert_delivery_latency_seconds",
                      "From a notification's entry in the outbox to its delivery, retries included",
                      MetricType::Histogram);
    for (const auto& s : p.sinks) {
      const Labels l = {{"sink", s.name}, {"type", s.type}};
      for (const auto& [outcome, n] : {std::pair{"delivered", s.delivered},
                                       std::pair{"failed", s.failed}, std::pair{"dead", s.dead}}) {
        add_sample(deliveries, static_cast<double>(n), with(l, {"outcome", outcome}));
      }
      add_sample(queue, static_cast<double>(s.pending), l);
      if (s.type == "alertmanager") {
        for (const auto& [outcome, n] :
             {std::pair{"ok", s.repeated}, std::pair{"failed", s.repeat_failed}}) {
          add_sample(repeats, static_cast<double>(n), with(l, {"outcome", outcome}));
        }
      }
      add_histogram(latency, alerts::Deliverer::kLatencyBounds, s.latency, s.latency_sum_s, l);
    }
    MetricFamily triggers = metric_family(
        "driftd_retrain_triggers_total",
        "Retraining triggers per model: sent (to the outbox), or held back by the policy's "
        "cooldown or daily cap",
        MetricType::Counter);
    for (const auto& m : p.models) {
      if (!m.has_triggers) continue;
      for (const auto& [outcome, n] :
           {std::pair{"sent", m.triggers_sent}, std::pair{"held_back", m.triggers_held_back}}) {
        add_sample(triggers, static_cast<double>(n),
                   {{"model", m.name}, {"model_version", m.version}, {"outcome", outcome}});
      }
    }
    for (auto* f : {&deliveries, &queue, &repeats, &latency, &triggers}) {
      out.push_back(std::move(*f));
    }
  }
  return out;
}

namespace {

// Seconds since the epoch at which the machine booted (/proc/stat btime).
double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

}  // namespace

std::vector<MetricFamily> process_metric_families() {
  std::vector<MetricFamily> out;
  out.push_back(metric_family("driftd_build_info",
                              "1, labelled with driftd's version and the SIMD target its kernels "
                              "run on",
                              MetricType::Gauge));
  add_sample(out.back(), 1,
             {{"version", DRIFTD_VERSION}, {"simd_target", kernels::active_target_name()}});

  // /proc/self/stat (proc(5)): fields after the command's closing
  // parenthesis, which may itself hold spaces and parentheses.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string v; fields >> v;) f.push_back(v);
    // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22,
    // vsize 23, rss 24 (pages).
    if (f.size() >= 22) {
      const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
      out.push_back(metric_family("process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds",
                                  MetricType::Counter));
      add_sample(out.back(), (std::stod(f[11]) + std::stod(f[12])) / ticks);
      out.push_back(metric_family("process_start_time_seconds",
                                  "Start time of the process since unix epoch in seconds",
                                  MetricType::Gauge));
      add_sample(out.back(), boot_time() + std::stod(f[19]) / ticks);
      out.push_back(metric_family("process_virtual_memory_bytes", "Virtual memory size in bytes",
                                  MetricType::Gauge));
      add_sample(out.back(), std::stod(f[20]));
      out.push_back(metric_family("process_resident_memory_bytes", "Resident memory size in bytes",
                                  MetricType::Gauge));
      add_sample(out.back(), std::stod(f[21]) * page);
    }
  }
  size_t fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    ::closedir(d);
    out.push_back(
        metric_family("process_open_fds", "Number of open file descriptors", MetricType::Gauge));
    add_sample(out.back(), static_cast<double>(fds > 0 ? fds - 1 : 0));  // not opendir's own
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(metric_family("process_max_fds", "Maximum number of open file descriptors",
                                MetricType::Gauge));
    add_sample(out.back(), static_cast<double>(limit.rlim_cur));
  }
  return out;
}

std::string render_metrics(const Published& published, size_t max_metric_features) {
  std::vector<MetricFamily> families = published_metric_families(published, max_metric_features);
  for (auto& f : process_metric_families()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace driftd
