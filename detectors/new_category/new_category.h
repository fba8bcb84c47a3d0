// Share of current rows (with a value) whose category the baseline never
// saw: the first sign of an upstream change (a new country code, a renamed
// enum). Categories pooled into the baseline's 'other' bin are known, not
// new, as long as the baseline kept their names (other_names_complete).
// new_category_p_value is the default verdict's test of it: the count of
// unseen values against a Poisson law at the baseline's unseen mass (Good
// 1953: the share of the baseline in categories it saw once), so a column
// whose training data kept meeting new names is not alarmed by more of
// them; effect new_category_rate, floor 0.005.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class NewCategoryDetector final : public Detector {
 public:
  std::string_view name() const override { return "new_category"; }
  std::span<const StatisticInfo> statistics() const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
