// Exact two-sample statistics on sorted samples and on binned counts. Each
// function names the scipy function it reproduces; tests/data holds scipy's
// values for the same inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace driftd::stats {

// Both of the statistics below from one walk over the two sorted samples.
struct EcdfDistances {
  double ks = 0;           // ks_statistic
  double wasserstein = 0;  // wasserstein1
};
EcdfDistances ecdf_distances(std::span<const double> a_sorted, std::span<const double> b_sorted);

// Two-sample Kolmogorov-Smirnov D = sup |F_a - F_b| over all sample points,
// ties counted as scipy.stats.ks_2samp does (searchsorted side='right').
double ks_statistic(std::span<const double> a_sorted, std::span<const double> b_sorted);

// 1-Wasserstein distance between the empirical distributions
// (scipy.stats.wasserstein_distance): integral of |F_a - F_b|.
double wasserstein1(std::span<const double> a_sorted, std::span<const double> b_sorted);

// p-value of the two-sample KS test as scipy.stats.ks_2samp(method='asymp'):
// kstwo.sf(D, round(m*n/(m+n))), round half to even. NaN when that is 0.
double ks_two_sample_p_value(double d, uint64_t m, uint64_t n);

// Pearson chi-square test of homogeneity on a 2 x K table of counts, no
// continuity correction (scipy.stats.chi2_contingency(correction=False)).
struct ChiSquare {
  double statistic = 0;
  double dof = 0;
  double p_value = 1;
};
// nullopt when an expected count is zero (a side or a category is empty).
std::optional<ChiSquare> chi_square_homogeneity(std::span<const uint64_t> a,
                                                std::span<const uint64_t> b);

}  // namespace driftd::stats
