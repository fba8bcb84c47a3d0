// L-infinity distance between category distributions, max_i |b_i - c_i|
// (the categorical drift measure of Breck et al. 2019, "Data Validation for
// Machine Learning", used by TensorFlow Data Validation).
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class LInfinityDetector final : public Detector {
 public:
  std::string_view name() const override { return "l_infinity"; }
  std::span<const StatisticInfo> statistics() const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
