// Scalar references for every SIMD kernel: the simplest correct code, used by
// the tests as the oracle on every instruction set.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "driftd/kernels/kernels.h"
#include "driftd/stats/log_gamma.h"

#include "driftd/io/json_number.h"

namespace driftd::kernels::scalar {

void histogram(const double* values, size_t n, const double* cuts, size_t n_cuts, uint64_t* bins) {
  for (size_t i = 0; i < n; ++i) {
    ++bins[std::upper_bound(cuts, cuts + n_cuts, values[i]) - cuts];
  }
}

void min_max(const double* values, size_t n, double* min_out, double* max_out) {
  const auto [lo, hi] = std::minmax_element(values, values + n);
  *min_out = *lo;
  *max_out = *hi;
}

bool ascending(const double* values, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    if (!(values[i - 1] <= values[i])) return false;
  }
  return true;
}

PowerSums power_sums(const double* values, size_t n, double scale, double center) {
  PowerSums r;
  for (size_t i = 0; i < n; ++i) {
    const double x = values[i] * scale - center;
    r.s1 += x;
    r.s2 += x * x;
    r.s3 += x * x * x;
    r.s4 += x * x * x * x;
  }
  return r;
}

void column_moments(const double* values, size_t rows, size_t n_columns, const ColumnMoments& m) {
  for (size_t j = 0; j < n_columns; ++j) {
    const double* const v = values + m.offset[j];
    for (size_t i = 0; i < rows; ++i) {
      const double u = (v[i] - m.center[j]) / m.scale[j];
      const double u2 = u * u;
      m.p0[j] += u;
      m.p1[j] += u2;
      m.p2[j] += u2 * u;
      m.p3[j] += u2 * u2;
      m.lo[j] = std::min(m.lo[j], v[i]);
      m.hi[j] = std::max(m.hi[j], v[i]);
    }
  }
}

double psi_sum(const double* b, const double* c, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (c[i] - b[i]) * std::log(c[i] / b[i]);
  return s;
}

double js_divergence_sum(const double* p, const double* q, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    const double m = (p[i] + q[i]) / 2;
    if (p[i] > 0) s += p[i] * std::log(p[i] / m);
    if (q[i] > 0) s += q[i] * std::log(q[i] / m);
  }
  return s;
}

double bhattacharyya_sum(const double* p, const double* q, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::sqrt(p[i] * q[i]);
  return s;
}

void sort(double* values, size_t n) {
  std::sort(values, values + n);
}

size_t find_csv_delimiters(const char* text, size_t n, uint32_t* out) {
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    if (text[i] == ',' || text[i] == '\n') out[k++] = static_cast<uint32_t>(i);
  }
  return k;
}

void grid_slots(const GridIndex& grid, const double* values, size_t n, uint32_t* slots) {
  const double* const first = grid.points;
  const double* const last = grid.points + grid.k;
  for (size_t i = 0; i < n; ++i) {
    const double* at = std::lower_bound(first, last, values[i]);
    const bool on_point = at != last && *at == values[i];
    slots[i] = static_cast<uint32_t>(2 * static_cast<size_t>(at - first) + (on_point ? 1 : 0));
  }
}

void read_json_numbers(const char* texts, size_t n, double* out) {
  for (size_t i = 0; i < n; ++i) {
    if (!short_json_double(texts + i * kNumberTextBytes, &out[i])) {
      out[i] = std::numeric_limits<double>::quiet_NaN();
    }
  }
}

TermsSum smirnov_terms(double n, double x, int64_t first, int64_t count, double log_peak) {
  TermsSum r;
  const double log_n_fact = log_gamma(n + 1), log_n = std::log(n);
  // n(1 - x - j/n) = (n - j) - nx, with nx = hi + lo exactly (see the SIMD
  // kernel: 1 - x - j/n in doubles cancels near j = n(1 - x)).
  const double nx_hi = n * x, nx_lo = std::fma(n, x, -nx_hi);
  for (int64_t j = first; j < first + count; ++j) {
    const double dj = static_cast<double>(j);
    const double na = ((n - dj) - nx_hi) - nx_lo;
    if (na <= 0) continue;
    const double nb = (dj + nx_hi) + nx_lo;
    const double rel = log_n_fact - log_gamma(dj + 1) - log_gamma(n - dj + 1) +
                       (n - dj) * (std::log(na) - log_n) + (dj - 1) * (std::log(nb) - log_n) +
                       std::log(x) - log_peak;
    r.sum += std::exp(rel);
    r.max_rel = std::max(r.max_rel, rel);
  }
  return r;
}

namespace {
constexpr std::array<int8_t, 256> make_base64_values() {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kBase64Values = make_base64_values();
}  // namespace

bool base64_decode_quads(const char* text, size_t n, unsigned char* out) {
  const auto* in = reinterpret_cast<const unsigned char*>(text);
  int bad = 0;
  for (size_t i = 0; i + 4 <= n; i += 4, out += 3) {
    const int a = kBase64Values[in[i]], b = kBase64Values[in[i + 1]], c = kBase64Values[in[i + 2]],
              d = kBase64Values[in[i + 3]];
    bad |= a | b | c | d;  // any -1 sets the sign bit
    const uint32_t x = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    out[0] = static_cast<unsigned char>(x >> 16);
    out[1] = static_cast<unsigned char>(x >> 8);
    out[2] = static_cast<unsigned char>(x);
  }
  return bad >= 0;
}

}  // namespace driftd::kernels::scalar
