#include "detectors/new_category/new_category.h"

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {
    {"new_category_rate", false, true, DriftDirection::kHigherIsDrift, 0.01, 0, 1,
     "Share of present values in categories the baseline never saw"}};
}

std::span<const StatisticInfo> NewCategoryDetector::statistics() const {
  return kStats;
}

void NewCategoryDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  if (in.current_count == 0) {
    out.put("new_category_rate", std::nullopt);
    return;
  }
  out.put("new_category_rate",
          static_cast<double>(in.new_category_rows) / static_cast<double>(in.current_count));
}
}  // namespace driftd
