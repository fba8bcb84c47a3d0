#include "detectors/chi_square/chi_square.h"

#include "driftd/stats/two_sample.h"

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {
    {"chi2_statistic", false, true, DriftDirection::kNotAMethod, 0, 0, kUnbounded,
     "Pearson's chi-square statistic of the category counts (homogeneity test)"},
    {"chi2_p_value", false, true, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the chi-square homogeneity test of the category counts"}};
}

std::span<const StatisticInfo> ChiSquareDetector::statistics() const {
  return kStats;
}

void ChiSquareDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  const auto r = stats::chi_square_homogeneity(in.baseline_counts, in.current_counts);
  out.put("chi2_statistic", r ? std::optional<double>(r->statistic) : std::nullopt);
  out.put("chi2_p_value", r ? std::optional<double>(r->p_value) : std::nullopt);
}
}  // namespace driftd
