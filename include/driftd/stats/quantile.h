// Quantiles of sorted samples as numpy computes them; tests/data holds
// numpy's values for the same inputs.
#pragma once

#include <span>
#include <vector>

namespace driftd::stats {

// numpy.quantile(x, q) with the default method='linear' (Hyndman & Fan type 7)
// on sorted, NaN-free x, including numpy's rounding-stable lerp.
double quantile_linear(std::span<const double> sorted, double q);

// Baseline cut points: quantiles at k/B for k = 1..B-1, duplicates removed
// (numpy.unique of numpy.quantile(x, arange(1, B) / B)).
std::vector<double> quantile_cut_points(std::span<const double> sorted, int bins);

}  // namespace driftd::stats
