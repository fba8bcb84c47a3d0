#include "detectors/reconstruction/reconstruction.h"

#include "driftd/stats/reconstruction.h"

namespace driftd {
namespace {
constexpr DriftTest kTest = {"reconstruction_error_change", 0, 0.05, true};
constexpr StatisticInfo kStats[] = {
    {"reconstruction_error", false, false, DriftDirection::kNotAMethod, 0, 0, kUnbounded,
     "mean error of rebuilding a row of the numeric features from the baseline's principal "
     "components (standardized units)"},
    {"reconstruction_error_change", false, false, DriftDirection::kNotAMethod, 0, -kUnbounded,
     kUnbounded,
     "change of the winsorized mean reconstruction error, in baseline standard deviations of a "
     "row's error"},
    {"reconstruction_p_value", false, false, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the two-sample z test of the winsorized mean reconstruction error (a calibrated "
     "test of the default verdict)",
     &kTest}};
}  // namespace

std::span<const StatisticInfo> ReconstructionDetector::statistics() const {
  return kStats;
}

void ReconstructionDetector::multivariate(const MultivariateComparison& in,
                                          StatisticSink& out) const {
  const auto& s = in.current;
  out.put("reconstruction_error",
          s.rows == 0 ? std::nullopt : std::optional(s.sum / static_cast<double>(s.rows)));
  out.put("reconstruction_error_change", stats::reconstruction_change(in.model, s));
  out.put("reconstruction_p_value", stats::reconstruction_p_value(in.model, s));
}

}  // namespace driftd
