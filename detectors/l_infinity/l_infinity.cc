#include "detectors/l_infinity/l_infinity.h"

#include <algorithm>
#include <cmath>

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {
    {"l_infinity", false, true, DriftDirection::kHigherIsDrift, 0.1, 0, 1,
     "Largest difference of a category's share (L-infinity distance)"}};
}

std::span<const StatisticInfo> LInfinityDetector::statistics() const {
  return kStats;
}

void LInfinityDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  if (in.baseline.categorical.count == 0 || in.current_count == 0) {
    out.put("l_infinity", std::nullopt);
    return;
  }
  double m = 0;
  for (size_t i = 0; i < in.baseline_proportions.size(); ++i) {
    m = std::max(m, std::fabs(in.baseline_proportions[i] - in.current_proportions[i]));
  }
  out.put("l_infinity", m);
}
}  // namespace driftd
