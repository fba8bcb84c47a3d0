// A fixed-bucket histogram of observations (durations, lags), kept by the
// thread that observes and copied into the published snapshot, where the
// metrics render it as a Prometheus histogram: no metric update per
// observation, no allocation after construction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace driftd {

class Histogram {
 public:
  // `bounds`: ascending upper bounds (Prometheus's `le`), static storage.
  explicit Histogram(std::span<const double> bounds)
      : bounds_(bounds), counts_(bounds.size() + 1, 0) {}

  void observe(double v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    ++counts_[i];
    sum_ += v;
  }

  std::span<const double> bounds() const { return bounds_; }
  // Per bucket, not cumulative: bounds().size() + 1 counts (the last: +Inf).
  const std::vector<uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }

 private:
  std::span<const double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
};

// Buckets for durations of work the daemon does (window closes,
// checkpoints): 100 us to 10 s.
inline constexpr double kDurationBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10};
// Buckets for the event time from a prediction to its label: 1 s to a week.
inline constexpr double kLabelLagBounds[] = {1,     10,    60,    300,   900,    1800,  3600,
                                             10800, 21600, 43200, 86400, 259200, 604800};

}  // namespace driftd
