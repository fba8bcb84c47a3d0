// Building Prometheus metric families for the exposition at scrape time
// (prometheus-cpp's MetricFamily, serialized by its TextSerializer).
#pragma once

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

}  // namespace driftd
