// SIMD kernels behind the statistics, dispatched at run time for the CPU.
//
// Each function here is a plain function over pointers and counts; vector
// types never leak to callers. The implementations in src/kernels/kernels.cc
// are compiled once per instruction set with Google Highway (AVX-512, AVX2,
// SSE4, SSSE3 and a portable EMU128 fallback) and the best one the CPU has is
// chosen on first use. DRIFTD_SIMD_TARGET forces one (see simd_target.h).
//
// driftd::kernels::scalar holds the scalar reference of every kernel; the
// tests run both on the same inputs for every target the machine supports.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace driftd::kernels {

// Sums of powers of (x * scale - center) over n values: s1, s2, s3, s4.
// `scale` is a power of two chosen by the caller so that huge (1e300) or tiny
// values cannot overflow or underflow when raised to the fourth power.
struct PowerSums {
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
};

// bins[i] += number of values v with exactly i cut points <= v, for i in
// [0, n_cuts]. `cuts` must be sorted ascending and free of NaN; values must
// be free of NaN (missing values are removed before binning). This is
// numpy.searchsorted(cuts, v, side='right').
void histogram(const double* values, size_t n, const double* cuts, size_t n_cuts, uint64_t* bins);

// Minimum and maximum of n >= 1 values.
void min_max(const double* values, size_t n, double* min_out, double* max_out);

// Whether values[i - 1] <= values[i] for every i in [1, n): false where a
// NaN is compared. So a true answer with n >= 2 means no NaN anywhere, and
// every value between the first and the last (a baseline's samples are
// checked this way when they are loaded).
bool ascending(const double* values, size_t n);

PowerSums power_sums(const double* values, size_t n, double scale, double center);

// The running moments of several columns, one entry per column in each
// array (structure of arrays, so that a vector holds several columns).
struct ColumnMoments {
  double* p0;  // sums of u, u^2, u^3, u^4 with u = (v - center) / scale
  double* p1;
  double* p2;
  double* p3;
  double* lo;  // running minimum and maximum
  double* hi;
  const double* center;
  const double* scale;
  const int64_t* offset;  // where the column's row 0 is in `values`
};

// Adds rows [0, rows) of each of n_columns columns to their moments: for
// every column, row by row, exactly the operations of adding one value at
// a time (u = (v - center) / scale; u2 = u * u; p0 += u; p1 += u2;
// p2 += u2 * u; p3 += u2 * u2; lo = min(v, lo); hi = max(v, hi)), so the
// sums are bit-identical to a scalar loop over one column. Lanes hold
// columns, not rows: that keeps each column's order while a vector adds
// several columns. Column j's row i is values[offset[j] + i]; values must
// be finite. The arrays hold at least round_up(n_columns, 8) entries (the
// vectors' tails read and write the padding: its offsets must be valid).
void column_moments(const double* values, size_t rows, size_t n_columns, const ColumnMoments& m);

// sum_i (c_i - b_i) * ln(c_i / b_i); every proportion must be > 0 (the caller
// has already replaced zeros by the PSI floor).
double psi_sum(const double* baseline, const double* current, size_t n);

// sum_i rel_entr(p_i, m_i) + rel_entr(q_i, m_i) with m = (p + q) / 2 and
// rel_entr(x, y) = x ln(x / y) for x > 0, 0 for x == 0 (scipy.special.rel_entr).
double js_divergence_sum(const double* p, const double* q, size_t n);

// sum_i sqrt(p_i * q_i), the Bhattacharyya coefficient.
double bhattacharyya_sum(const double* p, const double* q, size_t n);

// Sorts ascending (Highway vqsort). Values must be free of NaN.
void sort(double* values, size_t n);

// Offsets of every ',' and '\n' in text[0, n), ascending, written to out
// (room for n entries). Returns how many. The structural index of a CSV
// block without quotes, as simdjson's stage 1 is for JSON.
size_t find_csv_delimiters(const char* text, size_t n, uint32_t* out);

// A grid of K >= 1 sorted distinct points with an equal-width bucket index
// (what the daemon's NumericGrid builds). The slot of a finite value v is
// 2 * (number of points < v) + (1 if v is a point): the point it is on, or
// the cell between points it falls in.
constexpr size_t kGridWindow = 2;
struct GridIndex {
  const double* points = nullptr;  // K points, then kGridWindow copies of +inf
  size_t k = 0;
  // Equal-width buckets over [points[0], points[K-1]], in the value or (for
  // positive points, bit_shift >= 0) in its bit pattern read as an integer,
  // which grows with a positive double and spaces buckets about evenly in
  // log(v): heavy-tailed columns, whose points crowd into a few buckets of
  // equal width, spread out. A value's bucket is grid_bucket. That map is
  // monotone in the value (each of its integer and IEEE operations is), so a point in a lower
  // bucket is below every value of a higher one: the number of points < v is bucket_lo[b] (the
  // points in the buckets below v's) plus those of v's own bucket below v, and a point equal to v
  // lies in v's bucket. bucket_lo[b] is -1 where bucket b holds more than kGridWindow points (a
  // crowded bucket: its values take a binary search).
  // (32 bits: each batch of the daemon brings a column's table back into
  // L1, and half the bytes missed half as often: see README, Performance.)
  const int32_t* bucket_lo = nullptr;  // buckets + 1 entries
  size_t buckets = 0;
  double origin = 0, scale = 0;
  // Bit pattern buckets: (bits(v) - bits(origin)) >> bit_shift (below
  // 2^52, so exact as a double) times scale. -1: buckets in the value.
  int bit_shift = -1;
};

// The bucket of a v in [points[0], points[K-1]]: its offset from the
// origin (in the value, or in the bit pattern) times scale, clamped to
// buckets and truncated. The index is built by this function and the
// kernels compute it with the same operations in the same order, so a
// value and a point equal to it always share a bucket.
inline size_t grid_bucket(const GridIndex& g, double v) {
  const double offset =
      g.bit_shift < 0
          ? v - g.origin
          : static_cast<double>((std::bit_cast<int64_t>(v) - std::bit_cast<int64_t>(g.origin)) >>
                                g.bit_shift);
  return static_cast<size_t>(std::min(offset * g.scale, static_cast<double>(g.buckets)));
}

// One finite value's slot through the index: the bucket's window of points
// counted without a data-dependent branch, or a binary search where the
// bucket is crowded or the value outside the points. grid_slots computes
// the same for whole vectors; this serves single values and its leftovers.
// The window may reach into the next buckets' points (or the +inf
// padding): those are above v, so they count neither as below nor equal.
inline uint32_t grid_slot(const GridIndex& g, double v) {
  if (g.bucket_lo != nullptr && v >= g.points[0] && v <= g.points[g.k - 1]) {
    const int64_t lo = g.bucket_lo[grid_bucket(g, v)];
    if (lo >= 0) {
      size_t below = static_cast<size_t>(lo);
      uint32_t on_point = 0;
      for (size_t j = 0; j < kGridWindow; ++j) {
        below += g.points[static_cast<size_t>(lo) + j] < v ? 1 : 0;
        on_point |= g.points[static_cast<size_t>(lo) + j] == v ? 1 : 0;
      }
      return static_cast<uint32_t>(2 * below) + on_point;
    }
  }
  const double* at = std::lower_bound(g.points, g.points + g.k, v);
  const bool on_point = at != g.points + g.k && *at == v;
  return static_cast<uint32_t>(2 * static_cast<size_t>(at - g.points) + (on_point ? 1 : 0));
}

// Reads n JSON number texts (16 bytes each, back to back: a token from its
// first byte, shorter than 16, then the byte that ends it) as
// short_json_double (driftd/io/json_number.h) reads one: out[i] is the
// text's double where it accepts the text, else NaN (which no JSON number
// is). Reads up to 16 bytes past the last text.
void read_json_numbers(const char* texts, size_t n, double* out);

// slots[i] = the slot of values[i]; values must be finite. Values in
// uncrowded buckets cost kGridWindow + 1 gathers per vector of lanes, with
// no data-dependent branch; the rest a binary search.
void grid_slots(const GridIndex& grid, const double* values, size_t n, uint32_t* slots);

// A run of terms of the Birnbaum-Tingey sum behind the exact one-sided
// Kolmogorov-Smirnov tail (stats::smirnov_sf): for j in [first, first +
// count), L(j) = log C(n,j) + (n-j) log(1 - x - j/n) + (j-1) log(x + j/n)
// + log x, a term being 0 where 1 - x - j/n <= 0. Returns the sum of
// exp(L(j) - log_peak) and the largest L(j) - log_peak (-inf if every term
// is 0), so a walk outward from the peak knows when to stop. 0 < x < 1,
// 0 <= first, first + count <= n. Both implementations take the bases as
// ((n - j) - nx) / n and (j + nx) / n with nx an exact sum of two doubles:
// 1 - x - j/n cancels near j = n(1 - x), where its error is raised to the
// power n - j.
struct TermsSum {
  double sum = 0;
  double max_rel = -HUGE_VAL;
};
TermsSum smirnov_terms(double n, double x, int64_t first, int64_t count, double log_peak);

// Base64 (RFC 4648 section 4) text of n characters, n a multiple of 4 and
// no '=' among them, decoded into out (3n/4 bytes). Returns false when a
// character is outside the alphabet (out then holds unspecified bytes).
// The baseline's samples are base64: tens of MB for a large baseline, read
// at every start and reload.
bool base64_decode_quads(const char* text, size_t n, unsigned char* out);

// Name of the instruction set the dispatcher chose, e.g. "AVX3".
const char* active_target_name();

namespace scalar {
void histogram(const double* values, size_t n, const double* cuts, size_t n_cuts, uint64_t* bins);
void min_max(const double* values, size_t n, double* min_out, double* max_out);
bool ascending(const double* values, size_t n);
PowerSums power_sums(const double* values, size_t n, double scale, double center);
void column_moments(const double* values, size_t rows, size_t n_columns, const ColumnMoments& m);
double psi_sum(const double* baseline, const double* current, size_t n);
double js_divergence_sum(const double* p, const double* q, size_t n);
double bhattacharyya_sum(const double* p, const double* q, size_t n);
void sort(double* values, size_t n);
size_t find_csv_delimiters(const char* text, size_t n, uint32_t* out);
// A table lookup and a shift per character.
bool base64_decode_quads(const char* text, size_t n, unsigned char* out);
// Every term from scratch (lgamma).
TermsSum smirnov_terms(double n, double x, int64_t first, int64_t count, double log_peak);
// short_json_double on each text.
void read_json_numbers(const char* texts, size_t n, double* out);
// By binary search over the points alone (the bucket index unused).
void grid_slots(const GridIndex& grid, const double* values, size_t n, uint32_t* slots);
}  // namespace scalar

}  // namespace driftd::kernels
