#include "driftd/stats/summary.h"

#include <algorithm>
#include <cmath>

#include "driftd/kernels/kernels.h"

namespace driftd {

Moments compute_moments(std::span<const double> values) {
  Moments m;
  const size_t n = values.size();
  m.count = n;
  if (n == 0) return m;
  kernels::min_max(values.data(), n, &m.min, &m.max);
  // Scale by a power of two (exact) so that |x| is near 1 when the data are
  // far from it: x^4 must neither overflow nor underflow.
  const double big = std::max(std::fabs(m.min), std::fabs(m.max));
  double scale = 1.0;
  if (big > 0x1p200 || (big > 0 && big < 0x1p-200)) {
    int e = 0;
    std::frexp(big, &e);
    scale = std::ldexp(1.0, -e);
  }
  const double dn = static_cast<double>(n);
  const double mean_scaled = kernels::power_sums(values.data(), n, scale, 0.0).s1 / dn;
  const kernels::PowerSums c = kernels::power_sums(values.data(), n, scale, mean_scaled);
  m.mean = mean_scaled / scale;
  set_spread_and_shape(m, c.s2 / dn, c.s3 / dn, c.s4 / dn, 1.0 / scale);
  return m;
}

void set_spread_and_shape(Moments& m, double m2, double m3, double m4, double unit) {
  if (m.min == m.max) {
    m.mean = m.min;
    m.std = 0;
    return;
  }
  m2 = std::max(0.0, m2);
  m.std = std::sqrt(m2) * unit;
  // scipy.stats.skew/kurtosis: data whose m2 is at or below the rounding
  // noise of the mean give NaN; driftd reports null.
  const double noise = 1e-15 * (m.mean / unit);
  if (!(m2 <= noise * noise)) {
    m.skewness = m3 / std::pow(m2, 1.5);
    m.kurtosis = m4 / (m2 * m2) - 3.0;
  }
}

NumberVector finite_values(const Column& column) {
  NumberVector out;
  out.reserve(column.numbers.size() - column.missing - column.type_errors - column.infinite);
  for (const double v : column.numbers) {
    if (std::isfinite(v)) out.push_back(v);
  }
  return out;
}

NumberVector& finite_working_values(const Column& column, NumberVector* scratch,
                                    NumberVector& copy) {
  if (scratch == nullptr) {
    copy = finite_values(column);
    return copy;
  }
  // Every non-finite value was counted as missing, a type error or
  // infinite when read: with none counted there is nothing to remove.
  if (column.missing + column.type_errors + column.infinite != 0) {
    scratch->erase(std::remove_if(scratch->begin(), scratch->end(),
                                  [](double v) { return !std::isfinite(v); }),
                   scratch->end());
  }
  return *scratch;
}

std::vector<uint64_t> bin_counts(std::span<const double> values, std::span<const double> cuts) {
  std::vector<uint64_t> bins(cuts.size() + 1, 0);
  kernels::histogram(values.data(), values.size(), cuts.data(), cuts.size(), bins.data());
  return bins;
}

std::vector<uint64_t> bin_counts_sorted(std::span<const double> sorted,
                                        std::span<const double> cuts) {
  std::vector<uint64_t> bins(cuts.size() + 1, 0);
  size_t below = 0;  // values < the previous cut
  for (size_t i = 0; i < cuts.size(); ++i) {
    const auto at = static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), cuts[i]) -
                                        sorted.begin());
    bins[i] = at - below;
    below = at;
  }
  bins[cuts.size()] = sorted.size() - below;
  return bins;
}

std::vector<double> proportions(std::span<const uint64_t> counts) {
  uint64_t total = 0;
  for (const uint64_t c : counts) total += c;
  std::vector<double> p(counts.size(), 0.0);
  if (total == 0) return p;
  for (size_t i = 0; i < counts.size(); ++i) {
    p[i] = static_cast<double>(counts[i]) / static_cast<double>(total);
  }
  return p;
}

}  // namespace driftd
