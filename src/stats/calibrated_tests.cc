#include "driftd/stats/calibrated_tests.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <boost/math/special_functions/gamma.hpp>

namespace driftd::stats {

double normal_two_sided_p(double z) {
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

std::optional<double> two_sample_mean_p(double window_sum, uint64_t n, double ref_mean,
                                        double ref_var, uint64_t ref_count) {
  if (n == 0 || ref_count == 0 || !(ref_var > 0)) return std::nullopt;
  const double a = static_cast<double>(n), m = static_cast<double>(ref_count);
  return normal_two_sided_p((window_sum / a - ref_mean) / std::sqrt(ref_var * (1 / a + 1 / m)));
}

double two_proportion_p(uint64_t k_a, uint64_t n_a, uint64_t k_b, uint64_t n_b) {
  if (n_a == 0 || n_b == 0) return 1;
  const double na = static_cast<double>(n_a), nb = static_cast<double>(n_b);
  const double pooled = static_cast<double>(k_a + k_b) / (na + nb);
  if (pooled <= 0 || pooled >= 1) return 1;
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  return normal_two_sided_p((static_cast<double>(k_b) / nb - static_cast<double>(k_a) / na) / se);
}

std::optional<ChiSquare> chi_square_pooled(std::span<const uint64_t> a,
                                           std::span<const uint64_t> b) {
  const size_t k = std::min(a.size(), b.size());
  double total_a = 0, total_b = 0;
  for (size_t i = 0; i < k; ++i) {
    total_a += static_cast<double>(a[i]);
    total_b += static_cast<double>(b[i]);
  }
  if (total_a == 0 || total_b == 0) return std::nullopt;
  // Expected counts under homogeneity in the smaller sample: its size
  // times the category's pooled share.
  const double small = std::min(total_a, total_b), total = total_a + total_b;
  std::vector<size_t> order(k);
  std::iota(order.begin(), order.end(), size_t{0});
  const auto expected = [&](size_t i) {
    return small * (static_cast<double>(a[i]) + static_cast<double>(b[i])) / total;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return expected(x) > expected(y); });
  std::vector<uint64_t> ka, kb;  // the kept bins, then the pooled one
  uint64_t rest_a = 0, rest_b = 0;
  double rest_expected = 0;
  for (const size_t i : order) {
    if (a[i] + b[i] == 0) continue;
    if (expected(i) >= 5) {
      ka.push_back(a[i]);
      kb.push_back(b[i]);
    } else {
      rest_a += a[i];
      rest_b += b[i];
      rest_expected += expected(i);
    }
  }
  if (rest_a + rest_b > 0) {
    if (rest_expected >= 5 || ka.empty()) {
      ka.push_back(rest_a);
      kb.push_back(rest_b);
    } else {
      ka.back() += rest_a;  // the smallest kept bin (sorted by expected count)
      kb.back() += rest_b;
    }
  }
  return chi_square_homogeneity(ka, kb);
}

double poisson_at_least_p(uint64_t k, double lambda) {
  if (k == 0) return 1;
  if (!(lambda > 0)) return 0;
  return boost::math::gamma_p(static_cast<double>(k), lambda);
}

double unseen_category_mass(uint64_t singletons, uint64_t sample_size) {
  if (sample_size == 0) return 1;
  return std::min(1.0, static_cast<double>(singletons + 1) / static_cast<double>(sample_size));
}

}  // namespace driftd::stats
