// Share of current rows (with a value) whose category the baseline never
// saw: the first sign of an upstream change (a new country code, a renamed
// enum). Categories pooled into the baseline's 'other' bin are known, not
// new, as long as the baseline kept their names (other_names_complete).
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
