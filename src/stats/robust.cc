#include "driftd/stats/robust.h"

#include <algorithm>
#include <cmath>

#include "driftd/stats/calibrated_tests.h"

namespace driftd::stats {

RobustReference robust_reference(std::span<const double> sorted) {
  RobustReference r;
  const size_t m = sorted.size();
  if (m == 0) return r;
  r.count = m;
  r.lo = sorted[(m - 1) / 256];
  r.center = sorted[(m - 1) / 2];
  r.hi = sorted[255 * (m - 1) / 256];
  // Two passes (mean, then squared deviations): the variance of values
  // far from 0 keeps its digits.
  double sum = 0, dev = 0;
  for (const double v : sorted) {
    const double c = std::clamp(v, r.lo, r.hi);
    sum += c;
    dev += std::fabs(c - r.center);
  }
  const double n = static_cast<double>(m);
  r.mean = sum / n;
  r.dev_mean = dev / n;
  double ss = 0, ss_dev = 0;
  for (const double v : sorted) {
    const double c = std::clamp(v, r.lo, r.hi);
    ss += (c - r.mean) * (c - r.mean);
    const double d = std::fabs(c - r.center) - r.dev_mean;
    ss_dev += d * d;
  }
  r.var = ss / n;
  r.dev_var = ss_dev / n;
  return r;
}

RobustMoments robust_moments(std::span<const double> values, const RobustReference& ref) {
  RobustMoments w;
  w.count = values.size();
  for (const double v : values) {
    const double c = std::clamp(v, ref.lo, ref.hi);
    w.clamped_sum += c;
    w.deviation_sum += std::fabs(c - ref.center);
  }
  return w;
}

std::optional<double> robust_location_p(const RobustReference& ref, const RobustMoments& window) {
  return two_sample_mean_p(window.clamped_sum, window.count, ref.mean, ref.var, ref.count);
}

std::optional<double> robust_scale_p(const RobustReference& ref, const RobustMoments& window) {
  return two_sample_mean_p(window.deviation_sum, window.count, ref.dev_mean, ref.dev_var,
                           ref.count);
}

}  // namespace driftd::stats
