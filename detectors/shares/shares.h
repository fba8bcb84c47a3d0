// The default verdict's test of a change in category shares: Pearson's
// chi-square homogeneity test of the window's counts against the
// baseline's over the baseline's categories, rare ones pooled until every
// expected count is about 5 (stats::chi_square_pooled), so that a column
// of hundreds of categories keeps the chi-square law's tail. New
// categories are left to the new_category test. Its effect is l_infinity
// (the largest change of a category's share), floor 0.02.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class SharesDetector final : public Detector {
 public:
  std::string_view name() const override { return "shares"; }
  std::span<const StatisticInfo> statistics() const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
