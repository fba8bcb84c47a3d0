// The distribution of the Kolmogorov statistic: survival functions for the
// two-sample test's p-value (scipy.stats.kstwo, scipy.special.smirnov).
#pragma once

#include <cstdint>
#include <optional>

namespace driftd::stats {

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

}  // namespace driftd::stats
