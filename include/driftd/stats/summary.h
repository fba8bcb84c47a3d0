// Summaries of one column's values that both the baseline and the check
// compute the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "driftd/io/table.h"

namespace driftd {

// Population moments as scipy.stats computes them (biased: divide by n).
struct Moments {
  uint64_t count = 0;
  double min = 0, max = 0, mean = 0, std = 0;
  std::optional<double> skewness;  // Fisher-Pearson g1; null when the values are constant
  std::optional<double> kurtosis;  // Fisher (excess), biased; null when constant
};

// n >= 1 finite values. Works in a power-of-two rescaling when values are
// huge or tiny, so that 1e300 does not overflow the fourth power.
Moments compute_moments(std::span<const double> values);

// The one definition of spread and shape, for the batch check (exact
// central moments) and the daemon's windows (central moments from the
// grid's power sums): m2, m3, m4 are population central moments in a unit
// of `unit` (std = sqrt(m2) * unit); m.count, min, max and mean are set.
// A constant column (min == max) has mean = min and std = 0 exactly; a
// column whose spread is within rounding noise of its mean (m2 at most
// (1e-15 mean)^2, where scipy.stats.skew and kurtosis give NaN) or constant
// has no skewness or kurtosis (null).
void set_spread_and_shape(Moments& m, double m2, double m3, double m4, double unit);

// The finite values of a numeric column, in row order.
NumberVector finite_values(const Column& column);

// The finite values of a numeric column as a working array: compacted in
// place in `scratch` (the column's own array, when the caller may reuse it),
// else copied into `copy`. Returns whichever holds them.
NumberVector& finite_working_values(const Column& column, NumberVector* scratch,
                                    NumberVector& copy);

// Bin counts on cut points (size cuts.size() + 1).
std::vector<uint64_t> bin_counts(std::span<const double> values, std::span<const double> cuts);

// The same counts from sorted values by one binary search per cut point:
// bin i holds the values in [cut[i-1], cut[i]). What check and baseline use
// once the values are sorted anyway; the histogram kernel serves unsorted data.
std::vector<uint64_t> bin_counts_sorted(std::span<const double> sorted,
                                        std::span<const double> cuts);

// Proportions from counts (all 0 when the total is 0).
std::vector<double> proportions(std::span<const uint64_t> counts);

}  // namespace driftd
