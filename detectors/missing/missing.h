// The default verdict's test of a change in the share of missing values:
// the window's missing rate against the baseline's by the pooled
// two-proportion z test (stats::two_proportion_p). Its effect is
// missing_rate_change, the window's rate minus the baseline's, floor 0.01
// (one point).
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class MissingDetector final : public Detector {
 public:
  std::string_view name() const override { return "missing"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
