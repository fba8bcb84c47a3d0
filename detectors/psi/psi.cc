#include "detectors/psi/psi.h"

#include "driftd/kernels/kernels.h"

namespace driftd {
namespace {
constexpr StatisticInfo kStats[] = {{"psi", true, true, DriftDirection::kHigherIsDrift, 0.2, 0,
                                     kUnbounded,
                                     "Population stability index on the baseline's bins"}};

std::optional<double> psi(std::span<const double> b, std::span<const double> c, bool has_b,
                          bool has_c) {
  if (!has_b || !has_c || b.empty()) return std::nullopt;
  const auto fb = floored(b, PsiDetector::kZeroFloor);
  const auto fc = floored(c, PsiDetector::kZeroFloor);
  return kernels::psi_sum(fb.data(), fc.data(), fb.size());
}
}  // namespace

std::span<const StatisticInfo> PsiDetector::statistics() const {
  return kStats;
}

void PsiDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  out.put("psi", psi(in.baseline_proportions, in.current_proportions,
                     in.baseline.numeric.moments.count > 0, in.current_count > 0));
}

void PsiDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  out.put("psi", psi(in.baseline_proportions, in.current_proportions,
                     in.baseline.categorical.count > 0, in.current_count > 0));
}
}  // namespace driftd
