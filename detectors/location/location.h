// The default verdict's test of a shift of the mean: the window's
// winsorized mean (values clamped to the baseline's outer 0.4%) against
// the baseline's, a large-sample two-sample z test (stats/robust.h), valid
// at any window size whatever the tails. Its effect is mean_shift (the
// moments detector: in baseline standard deviations), floor 0.05.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class LocationDetector final : public Detector {
 public:
  std::string_view name() const override { return "location"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
