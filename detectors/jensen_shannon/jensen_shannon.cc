#include "detectors/jensen_shannon/jensen_shannon.h"

#include <algorithm>
#include <cmath>

#include "driftd/kernels/kernels.h"

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {
    {"jensen_shannon", true, true, DriftDirection::kHigherIsDrift, 0.1, 0, 1,
     "Jensen-Shannon distance (base e) between baseline and current bin shares"}};

std::optional<double> js(std::span<const double> p, std::span<const double> q, bool has_p,
                         bool has_q) {
  if (!has_p || !has_q || p.empty()) return std::nullopt;
  const double sum = kernels::js_divergence_sum(p.data(), q.data(), p.size());
  return std::sqrt(std::max(0.0, sum / 2));
}
}  // namespace

std::span<const StatisticInfo> JensenShannonDetector::statistics() const {
  return kStats;
}

void JensenShannonDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  out.put("jensen_shannon", js(in.baseline_proportions, in.current_proportions,
                               in.baseline.numeric.moments.count > 0, in.current_count > 0));
}

void JensenShannonDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  out.put("jensen_shannon", js(in.baseline_proportions, in.current_proportions,
                               in.baseline.categorical.count > 0, in.current_count > 0));
}
}  // namespace driftd
