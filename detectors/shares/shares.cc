#include "detectors/shares/shares.h"

#include <vector>

#include "driftd/stats/calibrated_tests.h"

namespace driftd {
namespace {
constexpr DriftTest kTest = {"l_infinity", 0, 0.02};
constexpr StatisticInfo kStats[] = {
    {"shares_p_value", false, true, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the chi-square test of the known categories' shares, rare ones pooled (a "
     "calibrated test of the default verdict)",
     &kTest}};
}  // namespace

std::span<const StatisticInfo> SharesDetector::statistics() const {
  return kStats;
}

void SharesDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  // The baseline's bins (its categories and 'other'); new categories, with
  // no baseline count, are the new_category test's.
  std::vector<uint64_t> base, current;
  for (size_t i = 0; i < in.baseline_counts.size(); ++i) {
    if (in.baseline_counts[i] == 0) continue;
    base.push_back(in.baseline_counts[i]);
    current.push_back(in.current_counts[i]);
  }
  const auto r = stats::chi_square_pooled(base, current);
  out.put("shares_p_value", r ? std::optional<double>(r->p_value) : std::nullopt);
}

}  // namespace driftd
