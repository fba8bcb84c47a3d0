// Pearson's chi-square test of homogeneity (Pearson 1900) on the 2 x K table
// of baseline and current counts over the categories seen on either side,
// without continuity correction: scipy.stats.chi2_contingency(table,
// correction=False). The p-value is the chi-square survival function
// (Boost.Math). As a drift method: p < threshold (default 0.05) is drift.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class ChiSquareDetector final : public Detector {
 public:
  std::string_view name() const override { return "chi_square"; }
  std::span<const StatisticInfo> statistics() const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
