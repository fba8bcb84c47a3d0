// The default verdict's test of values of the wrong type in a numeric
// column (text where numbers were: an upstream format change): the
// window's type-error rate against the baseline's, which is 0 (kinds come
// from the training data), by the pooled two-proportion z test. Its
// effect is the report's type_error_rate, floor 0.001.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class TypeErrorsDetector final : public Detector {
 public:
  std::string_view name() const override { return "type_errors"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
