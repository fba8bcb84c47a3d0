#include <algorithm>
#include <cmath>

#include <boost/math/distributions/chi_squared.hpp>

#include "driftd/stats.h"

namespace driftd::stats {

// Both statistics walk the two sorted samples once, in merged order, one
// element per step and without data-dependent branches (the next element
// comes from a or b by a select), which matters because which side holds
// the next value is a coin flip for similar samples. After the step that
// consumes the last copy of a value v, i and j are the searchsorted(...,
// side='right') positions of v in a and b: F_a(v) = i/m and F_b(v) = j/n are
// exactly what scipy compares. Gaps are kept as the integer |i n - j m| (=
// m n |F_a - F_b|), exact, and divided once at the end.

namespace {

// m n can pass 2^64 only for absurd sample sizes, but the product must be
// exact: 128-bit integers (a GCC/Clang extension).
__extension__ typedef __int128 Wide;

struct MergeWalk {
  std::span<const double> a, b;
  size_t i = 0, j = 0;
  double current = 0;  // value just consumed
  double next = 0;     // value the next step consumes (+inf at the end)

  double at_a(size_t k) const { return k < a.size() ? a[k] : HUGE_VAL; }
  double at_b(size_t k) const { return k < b.size() ? b[k] : HUGE_VAL; }
  bool done() const { return i == a.size() && j == b.size(); }
  // Consumes one element; returns true when it closed a run of equal values.
  bool step() {
    const double x = at_a(i), y = at_b(j);
    const bool take_a = x <= y;
    current = take_a ? x : y;
    i += take_a ? 1 : 0;
    j += take_a ? 0 : 1;
    next = std::min(at_a(i), at_b(j));
    return next != current;
  }
  // m n |F_a - F_b| at the current position.
  uint64_t gap() const {
    const auto p = static_cast<Wide>(i) * static_cast<Wide>(b.size());
    const auto q = static_cast<Wide>(j) * static_cast<Wide>(a.size());
    return static_cast<uint64_t>(p > q ? p - q : q - p);
  }
};

}  // namespace

double ks_statistic(std::span<const double> a, std::span<const double> b) {
  const size_t m = a.size(), n = b.size();
  if (m == 0 || n == 0) return std::nan("");
  MergeWalk w{a, b};
  uint64_t best = 0;
  size_t best_i = 0, best_j = 0;
  while (!w.done()) {
    const bool closed = w.step();
    const uint64_t g = closed ? w.gap() : 0;
    const bool better = g > best;
    best = better ? g : best;
    best_i = better ? w.i : best_i;
    best_j = better ? w.j : best_j;
  }
  // D exactly as scipy forms it, at the point of the largest gap.
  return std::fabs(static_cast<double>(best_i) / static_cast<double>(m) -
                   static_cast<double>(best_j) / static_cast<double>(n));
}

double wasserstein1(std::span<const double> a, std::span<const double> b) {
  const size_t m = a.size(), n = b.size();
  if (m == 0 || n == 0) return std::nan("");
  MergeWalk w{a, b};
  // Between consecutive merged values both CDFs are constant: the area is
  // sum over steps of gap * (next - current), zero within runs of ties.
  double total = 0;
  while (true) {
    w.step();
    if (w.done()) break;
    total += static_cast<double>(w.gap()) * (w.next - w.current);
  }
  return total / (static_cast<double>(m) * static_cast<double>(n));
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
