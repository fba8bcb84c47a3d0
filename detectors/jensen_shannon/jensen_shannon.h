// Jensen-Shannon distance (Lin 1991, "Divergence measures based on the
// Shannon entropy"; Endres & Schindelin 2003 for the metric): the square root
// of the JS divergence with natural log, on the same bins as PSI; equal to
// scipy.spatial.distance.jensenshannon(b, c). Range [0, sqrt(ln 2)].
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class JensenShannonDetector final : public Detector {
 public:
  std::string_view name() const override { return "jensen_shannon"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
  void categorical(const CategoricalComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
