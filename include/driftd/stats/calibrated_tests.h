// The null distributions behind driftd's default verdict (docs/VERDICTS.md;
// the location and scale tests are in robust.h): for each kind of change,
// a test whose p-value is valid at the window's row count, comparing a window of n rows with a
// baseline of N rows drawn from the same population. Each accounts for the baseline's own sampling
// error (the 1/N terms), so that a larger window does not make a stable
// stream drift. Large-sample (normal or chi-square) approximations; the
// quality benchmark (benchmarks/quality/) measures their false alarms on
// stable streams of every shape it has.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "driftd/stats/two_sample.h"

namespace driftd::stats {

// P(|Z| >= |z|) for a standard normal Z.
double normal_two_sided_p(double z);

// A window's mean (its sum over n values) against a reference mean of
// `ref_count` values of variance ref_var, the large-sample two-sample z
// test: z = (mean - ref_mean) / sqrt(ref_var (1/n + 1/m)), two-sided.
// nullopt when a side is empty or ref_var is not above 0.
std::optional<double> two_sample_mean_p(double window_sum, uint64_t n, double ref_mean,
                                        double ref_var, uint64_t ref_count);

// Two proportions k_a / n_a and k_b / n_b, the pooled large-sample z test
// (e.g. Agresti 2013, "Categorical Data Analysis", 3rd ed., 2.1.3).
// Two-sided; 1 when the pooled proportion is 0 or 1 (nothing to test).
double two_proportion_p(uint64_t k_a, uint64_t n_a, uint64_t k_b, uint64_t n_b);

// Pearson's chi-square homogeneity test of two count vectors over the same
// categories, with the categories whose expected count in the smaller
// sample is below 5 pooled into one (Cochran 1954, "Some methods for
// strengthening the common chi-square tests", Biometrics 10: the chi-square
// law holds when expected counts are about 5 or more; a column of many rare
// categories otherwise gets a far heavier tail than its law and false
// alarms). A pooled bin still below 5 joins the smallest kept one. nullopt
// when a side is empty; p = 1 when one bin remains.
std::optional<ChiSquare> chi_square_pooled(std::span<const uint64_t> a,
                                           std::span<const uint64_t> b);

// P(X >= k) for X ~ Poisson(lambda): 1 for k = 0, else the regularized lower
// incomplete gamma P(k, lambda); 0 when lambda = 0 < k.
double poisson_at_least_p(uint64_t k, double lambda);

// The probability that a new draw is of a category the sample never saw,
// by Good's estimate (I. J. Good 1953, "The population frequencies of species
// and the estimation of population parameters", Biometrika 40): the share
// of the sample in categories seen once, (n1 + 1) / n with one more
// singleton than counted so that a sample with none does not make every
// new category certain drift. `singletons` may be an upper bound (a
// baseline that pooled names keeps no count per pooled name).
double unseen_category_mass(uint64_t singletons, uint64_t sample_size);

}  // namespace driftd::stats
