// Population Stability Index (Siddiqi 2006, "Credit Risk Scorecards", ch. 8;
// Yurdakul 2018, "Statistical properties of the population stability
// index"): sum over bins of (c_i - b_i) ln(c_i / b_i), a proportion of 0
// replaced by 1e-4 with no renormalisation. Bins are the baseline quantile
// bins for numeric columns and the categories for categorical ones.
// Usual reading: < 0.1 stable, 0.1-0.2 moderate shift, >= 0.2 significant.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class PsiDetector final : public Detector {
 public:
  static constexpr double kZeroFloor = 1e-4;
  std::string_view name() const override { return "psi"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
