#include "detectors/wasserstein/wasserstein.h"

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {
    {"wasserstein", true, false, DriftDirection::kHigherIsDrift, 0.1, 0, kUnbounded,
     "Wasserstein-1 distance over the baseline standard deviation"}};
}

std::span<const StatisticInfo> WassersteinDetector::statistics() const {
  return kStats;
}

void WassersteinDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  const auto& sample = in.baseline.numeric.sample;
  const double sd = in.baseline.numeric.moments.std;
  if (sample.empty() || in.current_count == 0 || !(sd > 0)) {
    out.put("wasserstein", std::nullopt);
    return;
  }
  out.put("wasserstein", in.ecdf.wasserstein / sd);
}
}  // namespace driftd
