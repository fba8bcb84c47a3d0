// Building Prometheus metric families for the exposition at scrape time
// (prometheus-cpp's MetricFamily, serialized by its TextSerializer).
#pragma once

#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace driftd {

inline prometheus::MetricFamily metric_family(std::string name, std::string help,
                                              prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// Adds one sample (a counter's or a gauge's value, by the family's type).
inline void add_sample(prometheus::MetricFamily& f, double v,
                       std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  f.metric.push_back(std::move(m));
}

// Adds one histogram sample: `counts` per bucket, not cumulative, one more
// than `bounds` (the last for +Inf).
inline void add_histogram(prometheus::MetricFamily& f, std::span<const double> bounds,
                          std::span<const uint64_t> counts, double sum,
                          std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    cumulative += counts[b];
    prometheus::ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = b < bounds.size() ? bounds[b] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(bucket);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  f.metric.push_back(std::move(m));
}

}  // namespace driftd
