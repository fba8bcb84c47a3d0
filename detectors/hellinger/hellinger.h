// Hellinger distance (Hellinger 1909; as used for drift by Ditzler & Polikar
// 2011, "Hellinger distance based drift detection"): sqrt(1 - sum_i
// sqrt(b_i c_i)) on the same bins as PSI. Range [0, 1].
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class HellingerDetector final : public Detector {
 public:
  std::string_view name() const override { return "hellinger"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
