// Winsorized location and spread, the inputs of the default verdict's
// location and scale tests (detectors/location, detectors/scale).
//
// A window's mean of raw values is a poor test statistic for heavy tails:
// a few extreme values make its law skewed and long-tailed, so that a
// normal p-value at the 1e-5 level (where a family of tests per window
// puts each one) is several times too small, and a stable stream of flight
// delays alarms. Clamping every value to the baseline's outer order
// statistics first (winsorizing: Tukey 1962, "The future of data analysis",
// Ann. Math. Statist. 33; Wilcox 2012, "Introduction to Robust Estimation
// and Hypothesis Testing", 3rd ed., ch. 3) bounds each term, and the
// normal law of the clamped mean holds at any window size; for data
// without heavy tails almost nothing is lost (under 1% of either side is
// clamped). The spread is the clamped values' mean absolute deviation from
// the baseline median, for the same reason (a sample variance needs the
// fourth moment to be tested, which heavy tails lack).
//
// The clamp points and the median are the baseline sample's order
// statistics at ranks (m-1)/256, (m-1)/2 and 255 (m-1)/256 (rounded down),
// which are points of every window grid whose resolution is a multiple of
// 256 (the default 512; NumericGrid adds them otherwise), so the daemon's
// windows compute exactly what `check` computes from the values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace driftd::stats {

struct RobustReference {
  double lo = 0, center = 0, hi = 0;  // clamp points and the median
  uint64_t count = 0;                 // sample values
  double mean = 0, var = 0;           // of the clamped sample (population variance)
  double dev_mean = 0, dev_var = 0;   // of |clamped - center|
};

// From the baseline's sorted sample (empty: count 0).
RobustReference robust_reference(std::span<const double> sorted);

// A window's sums: of its clamped values and of their absolute deviations
// from the reference's center.
struct RobustMoments {
  uint64_t count = 0;
  double clamped_sum = 0, deviation_sum = 0;
};

// Exactly, from the values (any order).
RobustMoments robust_moments(std::span<const double> values, const RobustReference& ref);

// The location test: the window's clamped mean against the baseline's,
// z = (mean_c - mean_b) / sqrt(var_b (1/n + 1/m)), two-sided. nullopt when a
// side is empty or the clamped baseline is constant.
std::optional<double> robust_location_p(const RobustReference& ref, const RobustMoments& window);
// The scale test: the same for the mean absolute deviation.
std::optional<double> robust_scale_p(const RobustReference& ref, const RobustMoments& window);

}  // namespace driftd::stats
