// The default verdict's test of a change of spread: the window's mean
// absolute deviation from the baseline median, values clamped to the
// baseline's outer 0.4%, against the baseline's (stats/robust.h): valid
// whatever the tails, where a test of the variance ratio needs a fourth
// moment that heavy tails lack (and the F test normality). Its effect is
// std_ratio (the moments detector), centre 1, floor 0.05.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class ScaleDetector final : public Detector {
 public:
  std::string_view name() const override { return "scale"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
