// Two-sample Kolmogorov-Smirnov test (Kolmogorov 1933, Smirnov 1948) between
// the baseline sample and all current values. ks_statistic is the exact D
// (scipy.stats.ks_2samp); ks_p_value is kstwo.sf(D, round(m n / (m + n))),
// what ks_2samp(method='asymp') reports, computed as in Simard & L'Ecuyer
// (2011). m is the baseline sample size (the whole baseline up to
// sample_cap). As a drift method: p < threshold (default 0.05) is drift.
#pragma once
#include "driftd/detectors/detector.h"

namespace driftd {
class KolmogorovSmirnovDetector final : public Detector {
 public:
  std::string_view name() const override { return "kolmogorov_smirnov"; }
  std::span<const StatisticInfo> statistics() const override;
  void numeric(const NumericComparison& in, StatisticSink& out) const override;
};
}  // namespace driftd
