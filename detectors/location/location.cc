#include "detectors/location/location.h"

#include "driftd/stats/robust.h"

namespace driftd {
namespace {
constexpr DriftTest kTest = {"mean_shift", 0, 0.05, true};
constexpr StatisticInfo kStats[] = {
    {"location_p_value", true, false, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the two-sample z test of the winsorized mean (a calibrated test of the default "
     "verdict)",
     &kTest}};
}  // namespace

std::span<const StatisticInfo> LocationDetector::statistics() const {
  return kStats;
}

void LocationDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  out.put("location_p_value", stats::robust_location_p(in.robust_baseline, in.robust_current));
}

}  // namespace driftd
