#include "detectors/new_category/new_category.h"

#include <algorithm>

#include "driftd/stats/calibrated_tests.h"

namespace driftd {
namespace {
constexpr DriftTest kTest = {"new_category_rate", 0, 0.005};
constexpr StatisticInfo kStats[] = {
    {"new_category_rate", false, true, DriftDirection::kHigherIsDrift, 0.01, 0, 1,
     "Share of present values in categories the baseline never saw"},
    {"new_category_p_value", false, true, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the count of values in unseen categories against the baseline's unseen mass (a "
     "calibrated test of the default verdict)",
     &kTest}};

// Categories the baseline saw once, at most: counted among its kept
// categories, and every pooled name may be one (their counts are not kept).
uint64_t singletons(const CategoricalProfile& p) {
  uint64_t n = 0;
  for (const auto& c : p.categories) n += c.count == 1;
  if (p.other_count > 0) n += std::min<uint64_t>(p.other_count, p.other_names.size());
  return n;
}
}  // namespace

std::span<const StatisticInfo> NewCategoryDetector::statistics() const {
  return kStats;
}

void NewCategoryDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  if (in.current_count == 0) {
    out.put("new_category_rate", std::nullopt);
    out.put("new_category_p_value", std::nullopt);
    return;
  }
  out.put("new_category_rate",
          static_cast<double>(in.new_category_rows) / static_cast<double>(in.current_count));
  // Under no change the window's unseen values are a Poisson count at the
  // baseline's unseen mass (Good's estimate).
  const CategoricalProfile& b = in.baseline.categorical;
  const double mass = stats::unseen_category_mass(singletons(b), b.count);
  out.put("new_category_p_value",
          stats::poisson_at_least_p(in.new_category_rows,
                                    mass * static_cast<double>(in.current_count)));
}
}  // namespace driftd
