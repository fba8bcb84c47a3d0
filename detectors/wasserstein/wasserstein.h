// Wasserstein-1 (earth mover's) distance between the baseline sample and the
// current values (Vallender 1974; scipy.stats.wasserstein_distance), divided
// by the baseline's population standard deviation so that it reads in
// baseline standard deviations and is comparable across features (the
// normalisation Evidently uses; its default drift threshold is 0.1).
// Null when the baseline is constant.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class WassersteinDetector final : public Detector {
 public:
  std::string_view name() const override { return "wasserstein"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
