#include <algorithm>
#include <cmath>

#include <boost/math/distributions/chi_squared.hpp>

#include "driftd/stats.h"

namespace driftd::stats {

// Both statistics walk the two sorted samples once, in merged order. After
// all copies of a value v are consumed, i and j are the searchsorted(...,
// side='right') positions of v in a and b, so F_a(v) = i/m and F_b(v) = j/n
// are exactly the values scipy compares.

double ks_statistic(std::span<const double> a, std::span<const double> b) {
  const size_t m = a.size(), n = b.size();
  if (m == 0 || n == 0) return std::nan("");
  const double dm = static_cast<double>(m), dn = static_cast<double>(n);
  size_t i = 0, j = 0;
  double d = 0;
  while (i < m || j < n) {
    const double v = (j >= n || (i < m && a[i] <= b[j])) ? a[i] : b[j];
    while (i < m && a[i] <= v) ++i;
    while (j < n && b[j] <= v) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / dm - static_cast<double>(j) / dn));
  }
  return d;
}

double wasserstein1(std::span<const double> a, std::span<const double> b) {
  const size_t m = a.size(), n = b.size();
  if (m == 0 || n == 0) return std::nan("");
  const double dm = static_cast<double>(m), dn = static_cast<double>(n);
  size_t i = 0, j = 0;
  double total = 0;
  double prev = std::min(a[0], b[0]);
  // Between consecutive distinct merged values the two CDFs are constant.
  while (i < m || j < n) {
    const double v = (j >= n || (i < m && a[i] <= b[j])) ? a[i] : b[j];
    total += std::fabs(static_cast<double>(i) / dm - static_cast<double>(j) / dn) * (v - prev);
    prev = v;
    while (i < m && a[i] <= v) ++i;
    while (j < n && b[j] <= v) ++j;
  }
  return total;
}

double ks_two_sample_p_value(double d, uint64_t m, uint64_t n) {
  const double big = static_cast<double>(std::max(m, n));
  const double small = static_cast<double>(std::min(m, n));
  const double en = big * small / (big + small);
  const double rounded = std::nearbyint(en);  // FE_TONEAREST: half to even, like numpy.round
  if (rounded < 1) return std::nan("");
  return std::clamp(kolmogorov_sf(static_cast<uint64_t>(rounded), d), 0.0, 1.0);
}

std::optional<ChiSquare> chi_square_homogeneity(std::span<const uint64_t> a,
                                                std::span<const uint64_t> b) {
  const size_t k = a.size();
  double row_a = 0, row_b = 0;
  for (size_t i = 0; i < k; ++i) {
    row_a += static_cast<double>(a[i]);
    row_b += static_cast<double>(b[i]);
  }
  const double total = row_a + row_b;
  if (k == 0 || row_a == 0 || row_b == 0) return std::nullopt;
  ChiSquare r;
  for (size_t i = 0; i < k; ++i) {
    const double col = static_cast<double>(a[i]) + static_cast<double>(b[i]);
    if (col == 0) return std::nullopt;
    const double ea = row_a * col / total;
    const double eb = row_b * col / total;
    const double da = static_cast<double>(a[i]) - ea;
    const double db = static_cast<double>(b[i]) - eb;
    r.statistic += da * da / ea + db * db / eb;
  }
  r.dof = static_cast<double>(k - 1);
  if (k == 1) {
    // scipy: one category leaves no degrees of freedom; statistic 0, p = 1.
    r.statistic = 0;
    r.p_value = 1;
    return r;
  }
  r.p_value = boost::math::cdf(boost::math::complement(
      boost::math::chi_squared_distribution<double>(r.dof), r.statistic));
  return r;
}

}  // namespace driftd::stats
