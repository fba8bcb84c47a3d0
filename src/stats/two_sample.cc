#include <algorithm>
#include <cmath>

#include <boost/math/distributions/chi_squared.hpp>

#include "driftd/stats/kolmogorov.h"
#include "driftd/stats/two_sample.h"

namespace driftd::stats {

// One walk gives both statistics. The merged order is: for each tie group
// of the smaller sample ("outer"), the larger sample's values below it, then
// the group. After a point, i and j count the outer and inner values
// consumed; at the last point of a run of equal values they are the
// searchsorted(..., side='right') counts scipy uses, so F = i/m and j/n
// there. Gaps are the exact integers |i n - j m| = m n |F_outer - F_inner|.
//   KS: the largest gap at the end of a run of equal values; D is formed
//       as scipy forms it, |i/m - j/n|, at that point.
//   W1: sum over consecutive points of gap * (next - current), divided by
//       m n once; inside a run of ties the width is 0.
// The inner loop's exit is the only hard-to-predict branch, taken once per
// outer tie group instead of once per element of a two-way merge.
EcdfDistances ecdf_distances(std::span<const double> a, std::span<const double> b) {
  EcdfDistances r;
  if (a.empty() || b.empty()) {
    r.ks = r.wasserstein = std::nan("");
    return r;
  }
  // The statistics are symmetric: walk the smaller sample on the outside.
  const std::span<const double> outer = a.size() <= b.size() ? a : b;
  const std::span<const double> inner = a.size() <= b.size() ? b : a;
  const size_t m = outer.size(), n = inner.size();
  const double dm = static_cast<double>(m), dn = static_cast<double>(n);
  // Gaps as doubles are exact while m n < 2^53 (sample sizes below ~9e7
  // each); beyond that they are within one rounding, far below 1e-12.
  auto gap = [&](size_t i, size_t j) {
    return std::fabs(static_cast<double>(i) * dn - static_cast<double>(j) * dm);
  };
  double best = -1;
  // Four partial sums of the area, by inner index, so that consecutive
  // additions do not wait on each other (the walk is otherwise bound by
  // the latency of one long chain of adds).
  double area_part[4] = {0, 0, 0, 0};
  // scipy takes the largest of the float differences; points with the same
  // exact gap can round differently, so ties keep the larger float.
  double best_float = 0;
  auto consider = [&](double g, size_t i, size_t j) {
    if (g < best) return;
    const double f = std::fabs(static_cast<double>(i) / dm - static_cast<double>(j) / dn);
    best_float = g > best ? f : std::max(best_float, f);
    best = g;
  };
  size_t j = 0;
  for (size_t k = 0; k < m;) {
    const double x = outer[k];
    size_t k_end = k + 1;
    while (k_end < m && outer[k_end] == x) ++k_end;
    // Inner values strictly below x: i = k outer values so far.
    const double ci = static_cast<double>(k) * dn;
    while (j < n && inner[j] < x) {
      const double v = inner[j];
      const double next = j + 1 < n ? std::min(inner[j + 1], x) : x;
      const double g = std::fabs(ci - static_cast<double>(j + 1) * dm);
      area_part[j & 3] += g * (next - v);
      if (next != v) consider(g, k, j + 1);
      ++j;
    }
    while (j < n && inner[j] == x) ++j;
    // The point x closes the run of x on both sides.
    const double g = gap(k_end, j);
    consider(g, k_end, j);
    double next = k_end < m ? outer[k_end] : HUGE_VAL;
    if (j < n) next = std::min(next, inner[j]);
    if (next != HUGE_VAL) area_part[k & 3] += g * (next - x);
    k = k_end;
  }
  // Inner values above the last outer value: i = m.
  for (; j < n; ++j) {
    const double g = gap(m, j + 1);
    if (j + 1 < n) {
      area_part[j & 3] += g * (inner[j + 1] - inner[j]);
      if (inner[j + 1] != inner[j]) consider(g, m, j + 1);
    }
  }
  r.ks = best_float;
  const double area = (area_part[0] + area_part[1]) + (area_part[2] + area_part[3]);
  r.wasserstein = area / (dm * dn);
  return r;
}

double ks_statistic(std::span<const double> a, std::span<const double> b) {
  return ecdf_distances(a, b).ks;
}

double wasserstein1(std::span<const double> a, std::span<const double> b) {
  return ecdf_distances(a, b).wasserstein;
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
  r.p_value = boost::math::cdf(
      boost::math::complement(boost::math::chi_squared_distribution<double>(r.dof), r.statistic));
  return r;
}

}  // namespace driftd::stats
