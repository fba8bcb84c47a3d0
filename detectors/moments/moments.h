// Shifts of the first moments, in baseline units: mean_shift = (mean(c) -
// mean(b)) / std(b), std_ratio = std(c) / std(b) (population standard
// deviations), and the Fisher-Pearson skewness g1 (biased, scipy.stats.skew)
// of both sides. Null where std(b) is 0 or a side is empty or constant.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class MomentsDetector final : public Detector {
 public:
  std::string_view name() const override { return "moments"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
