#include <algorithm>
#include <cmath>

#include "driftd/stats/quantile.h"

namespace driftd::stats {

double quantile_linear(std::span<const double> sorted, double q) {
  const size_t n = sorted.size();
  // numpy: virtual index (n - 1) * q, floor and the next index clipped to
  // [0, n - 1], gamma = index - floor.
  const double h = static_cast<double>(n - 1) * q;
  const double lo_f = std::floor(h);
  const double gamma = h - lo_f;
  const size_t lo = std::min(static_cast<size_t>(std::max(lo_f, 0.0)), n - 1);
  const size_t hi = std::min(lo + 1, n - 1);
  const double a = sorted[lo];
  const double b = sorted[hi];
  // numpy's _lerp: a + (b - a) * t, and b - (b - a) * (1 - t) for t >= 0.5 so
  // that the result is exact at both ends and monotone in t.
  const double diff = b - a;
  if (gamma >= 0.5) return b - diff * (1.0 - gamma);
  return a + diff * gamma;
}

std::vector<double> quantile_cut_points(std::span<const double> sorted, int bins) {
  std::vector<double> cuts;
  if (sorted.empty() || bins < 2) return cuts;
  cuts.reserve(static_cast<size_t>(bins - 1));
  for (int k = 1; k < bins; ++k) {
    cuts.push_back(quantile_linear(sorted, static_cast<double>(k) / static_cast<double>(bins)));
  }
  // Quantiles of sorted data are non-decreasing; unique() keeps one of each.
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

}  // namespace driftd::stats
