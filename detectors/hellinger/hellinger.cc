#include "detectors/hellinger/hellinger.h"

#include <algorithm>
#include <cmath>

#include "driftd/kernels/kernels.h"

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {{"hellinger", true, true, DriftDirection::kHigherIsDrift, 0.1,
                                     0, 1,
                                     "Hellinger distance between baseline and current bin shares"}};

std::optional<double> hellinger(std::span<const double> p, std::span<const double> q, bool has_p,
                                bool has_q) {
  if (!has_p || !has_q || p.empty()) return std::nullopt;
  const double bc = kernels::bhattacharyya_sum(p.data(), q.data(), p.size());
  return std::sqrt(std::max(0.0, 1.0 - bc));  // rounding can push bc a hair above 1
}
}  // namespace

std::span<const StatisticInfo> HellingerDetector::statistics() const {
  return kStats;
}

void HellingerDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  out.put("hellinger", hellinger(in.baseline_proportions, in.current_proportions,
                                 in.baseline.numeric.moments.count > 0, in.current_count > 0));
}

void HellingerDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  out.put("hellinger", hellinger(in.baseline_proportions, in.current_proportions,
                                 in.baseline.categorical.count > 0, in.current_count > 0));
}
}  // namespace driftd
