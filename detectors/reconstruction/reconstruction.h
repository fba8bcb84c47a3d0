// Multivariate drift, the default verdict's test of a change in how the
// numeric features move together: the window's mean error of rebuilding
// each row from the baseline's principal components (stats/
// reconstruction.h), winsorized, against the baseline's, a large-sample
// z test. Reported as the pseudo-column "_multivariate"; its effect is
// reconstruction_error_change (in the baseline's standard deviations of a
// clamped row error), floor 0.05.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class ReconstructionDetector final : public Detector {
 public:
  std::string_view name() const override { return "reconstruction"; }
  std::span<const StatisticInfo> statistics() const override;
  void multivariate(const MultivariateComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
