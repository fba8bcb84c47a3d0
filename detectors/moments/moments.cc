#include "detectors/moments/moments.h"

#include <cmath>

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {
    {"mean_shift", true, false, DriftDirection::kNotAMethod, 0, -kUnbounded, kUnbounded,
     "Current mean minus baseline mean, in baseline standard deviations"},
    {"std_ratio", true, false, DriftDirection::kNotAMethod, 0, 0, kUnbounded,
     "Current standard deviation over the baseline's"},
    {"skewness", true, false, DriftDirection::kNotAMethod, 0, -kUnbounded, kUnbounded,
     "Skewness of the current values"},
    {"baseline_skewness", true, false, DriftDirection::kNotAMethod, 0, -kUnbounded, kUnbounded,
     "Skewness of the baseline values (a constant of the baseline)"}};
}

std::span<const StatisticInfo> MomentsDetector::statistics() const {
  return kStats;
}

void MomentsDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  const Moments& b = in.baseline.numeric.moments;
  const Moments& c = in.current_moments;
  const bool usable = b.count > 0 && c.count > 0 && b.std > 0;
  out.put("mean_shift", usable ? std::optional<double>((c.mean - b.mean) / b.std) : std::nullopt);
  out.put("std_ratio", usable ? std::optional<double>(c.std / b.std) : std::nullopt);
  out.put("skewness", c.count > 0 ? c.skewness : std::nullopt);
  out.put("baseline_skewness", b.skewness);
}
}  // namespace driftd
