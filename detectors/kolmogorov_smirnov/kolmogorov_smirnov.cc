#include "detectors/kolmogorov_smirnov/kolmogorov_smirnov.h"

#include <cmath>

#include "driftd/stats/two_sample.h"

namespace driftd {
namespace {
// In the default verdict KS is the test of the distribution's shape; its
// effect is D itself, floor 0.02.
constexpr DriftTest kTest = {"ks_statistic", 0, 0.02};
constexpr StatisticInfo kStats[] = {
    {"ks_statistic", true, false, DriftDirection::kHigherIsDrift, 0.1, 0, 1,
     "Two-sample Kolmogorov-Smirnov D (largest ECDF difference)"},
    {"ks_p_value", true, false, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the two-sample Kolmogorov-Smirnov test (a calibrated test of the default "
     "verdict)",
     &kTest}};
}  // namespace

std::span<const StatisticInfo> KolmogorovSmirnovDetector::statistics() const {
  return kStats;
}

void KolmogorovSmirnovDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  const auto& sample = in.baseline.numeric.sample;
  if (sample.empty() || in.current_count == 0) {
    out.put("ks_statistic", std::nullopt);
    out.put("ks_p_value", std::nullopt);
    return;
  }
  const double d = in.ecdf.ks;
  const double p = stats::ks_two_sample_p_value(d, sample.size(), in.current_count);
  out.put("ks_statistic", d);
  out.put("ks_p_value", std::isnan(p) ? std::nullopt : std::optional<double>(p));
}
}  // namespace driftd
