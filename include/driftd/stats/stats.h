// Exact statistics on sorted samples and on binned proportions. Each function
// names the reference it reproduces; tests/data holds values computed with
// Debian's numpy/scipy/sklearn for the same inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace driftd::stats {

// numpy.quantile(x, q) with the default method='linear' (Hyndman & Fan type 7)
// on sorted, NaN-free x, including numpy's rounding-stable lerp.
double quantile_linear(std::span<const double> sorted, double q);

// Baseline cut points: quantiles at k/B for k = 1..B-1, duplicates removed
// (numpy.unique of numpy.quantile(x, arange(1, B) / B)).
std::vector<double> quantile_cut_points(std::span<const double> sorted, int bins);

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

// Survival function P(D_n >= x) of the one-sample two-sided Kolmogorov
// statistic for sample size n: scipy.stats.kstwo.sf(x, n). Follows the method
// choice of Simard & L'Ecuyer (2011), "Computing the Two-Sided
// Kolmogorov-Smirnov Distribution", J. Stat. Software 39(11): Ruben-Gambino
// exact tails, the Durbin matrix (Marsaglia, Tsang & Wang 2003) for small
// n*x^2, Smirnov's one-sided formula (Miller) for the upper tail, and the
// Pelz-Good (1976) asymptotic series for large n.
double kolmogorov_sf(uint64_t n, double x);

// P(D_n >= x) by the Durbin matrix alone (exact, any n; cost grows with n*x).
double kolmogorov_cdf_durbin(uint64_t n, double x);
// One-sided Smirnov survival P(D_n^+ >= x), exact (Birnbaum & Tingey 1951):
// scipy.special.smirnov(n, x). smirnov_sf_smooth when it accepts its
// result, else smirnov_sf_terms.
double smirnov_sf(uint64_t n, double x);
// The Birnbaum-Tingey sum term by term, from its largest term outward
// until the terms fall below 1e-18 of it (for n = 50,000 that can be
// 40,000 terms).
double smirnov_sf_terms(uint64_t n, double x);
// The same sum from a few hundred of its terms: for large n the terms are
// a smooth bell in j, and the sum of a smooth function that vanishes at
// both ends equals the trapezoidal rule with a coarser step to within an
// error that falls exponentially with the step's smallness (Trefethen &
// Weideman 2014, "The exponentially convergent trapezoidal rule", SIAM
// Review 56(3)). Each term's log in Loader's (2000) form, without the
// cancellation of lgamma differences. nullopt (declined) for small n,
// where terms at j = 1 or at the top end still matter, or where the steps
// s and 2s disagree by more than 1e-12.
std::optional<double> smirnov_sf_smooth(uint64_t n, double x);

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
