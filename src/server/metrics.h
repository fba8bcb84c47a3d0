// The daemon's Prometheus metrics, read from the published snapshot at
// scrape time (never updated per event). docs/METRICS.md lists every family,
// its labels and its meaning.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace driftd {

struct Published;

// The families of the published state: sources, models and their latest
// windows, checkpoints, alerts and sinks. Per-feature series are exported
// for at most `max_metric_features` (model, version, reference, feature)
// combinations, in config and baseline order; the rest are counted in
// driftd_metric_features_dropped.
std::vector<prometheus::MetricFamily> published_metric_families(const Published& published,
                                                                size_t max_metric_features);

// driftd_build_info and the process_* families every Prometheus client
// exports (CPU, memory, file descriptors, start time), read from /proc.
std::vector<prometheus::MetricFamily> process_metric_families();

// The Prometheus text exposition of both (tests, tools).
std::string render_metrics(const Published& published, size_t max_metric_features);

// The family name of a statistic's per-feature gauge: driftd_feature_<key>,
// a trailing "_rate" written "_ratio" (Prometheus's unit for shares).
std::string feature_metric_name(std::string_view statistic_key);

}  // namespace driftd
