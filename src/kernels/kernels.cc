// Highway implementations of the kernels declared in driftd/kernels/kernels.h.
// This file is compiled once per instruction set (hwy/foreach_target.h) and
// the entry points at the bottom dispatch to the best one at run time.
//
// Binning uses compare-and-count rather than a per-value search: for every
// cut point c_j, count_ge[j] = #{v >= c_j} is a vector compare plus a masked
// decrement, and bin i holds count_ge[i-1] - count_ge[i]. No scatter, no
// branches, and values are read from L1 once per group of four cuts. Its cost
// grows with the number of cuts, so above kMaxCompareCuts a branchless
// per-lane binary search (with gathers) takes over.
//
// Past 600 lines by design: Highway compiles this file once per
// instruction set (foreach_target), so every kernel that dispatches at run
// time is in it; the scalar references are in kernels_scalar.cc.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "driftd/io/json_number.h"
#include "driftd/kernels/kernels.h"
#include "driftd/stats/log_gamma.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace driftd::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kMaxCompareCuts = 32;
constexpr size_t kBlock = 2048;  // values per L1-resident block (16 KiB)

// Counts of values >= cuts[j] for j in [first, first + 4) over one block.
template <class D>
HWY_INLINE void CountGeFour(D d, const double* HWY_RESTRICT v, size_t n,
                            const double* HWY_RESTRICT cuts, uint64_t* HWY_RESTRICT count_ge) {
  const hn::RebindToSigned<D> di;
  const size_t N = hn::Lanes(d);
  const auto c0 = hn::Set(d, cuts[0]);
  const auto c1 = hn::Set(d, cuts[1]);
  const auto c2 = hn::Set(d, cuts[2]);
  const auto c3 = hn::Set(d, cuts[3]);
  auto a0 = hn::Zero(di), a1 = hn::Zero(di), a2 = hn::Zero(di), a3 = hn::Zero(di);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto x = hn::LoadU(d, v + i);
    // An all-ones mask lane is -1 as an integer: subtracting counts it.
    a0 = hn::Sub(a0, hn::VecFromMask(di, hn::RebindMask(di, x >= c0)));
    a1 = hn::Sub(a1, hn::VecFromMask(di, hn::RebindMask(di, x >= c1)));
    a2 = hn::Sub(a2, hn::VecFromMask(di, hn::RebindMask(di, x >= c2)));
    a3 = hn::Sub(a3, hn::VecFromMask(di, hn::RebindMask(di, x >= c3)));
  }
  count_ge[0] += static_cast<uint64_t>(hn::GetLane(hn::SumOfLanes(di, a0)));
  count_ge[1] += static_cast<uint64_t>(hn::GetLane(hn::SumOfLanes(di, a1)));
  count_ge[2] += static_cast<uint64_t>(hn::GetLane(hn::SumOfLanes(di, a2)));
  count_ge[3] += static_cast<uint64_t>(hn::GetLane(hn::SumOfLanes(di, a3)));
  for (; i < n; ++i) {
    for (size_t j = 0; j < 4; ++j) count_ge[j] += v[i] >= cuts[j] ? 1u : 0u;
  }
}

void HistogramCompare(const double* HWY_RESTRICT values, size_t n, const double* HWY_RESTRICT cuts,
                      size_t n_cuts, uint64_t* HWY_RESTRICT bins) {
  const hn::ScalableTag<double> d;
  // Pad the cuts to a multiple of four with +inf: v >= +inf never holds for
  // finite v, and for v == +inf the padded counts are simply not read.
  double padded[kMaxCompareCuts + 4];
  uint64_t count_ge[kMaxCompareCuts + 4] = {};
  const size_t groups = (n_cuts + 3) / 4;
  for (size_t j = 0; j < groups * 4; ++j) {
    padded[j] = j < n_cuts ? cuts[j] : HUGE_VAL;
  }
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t len = std::min(kBlock, n - start);
    for (size_t g = 0; g < groups; ++g) {
      CountGeFour(d, values + start, len, padded + 4 * g, count_ge + 4 * g);
    }
  }
  uint64_t above = n;  // values >= -inf
  for (size_t j = 0; j < n_cuts; ++j) {
    bins[j] += above - count_ge[j];
    above = count_ge[j];
  }
  bins[n_cuts] += above;
}

// Branchless binary search per lane: index = number of cuts <= v.
void HistogramSearch(const double* HWY_RESTRICT values, size_t n, const double* HWY_RESTRICT cuts,
                     size_t n_cuts, uint64_t* HWY_RESTRICT bins) {
  const hn::ScalableTag<double> d;
  const hn::RebindToSigned<decltype(d)> di;
  const size_t N = hn::Lanes(d);
  size_t top = 1;
  while (top <= n_cuts) top <<= 1;  // power of two > n_cuts
  HWY_ALIGN int64_t idx_lanes[HWY_MAX_BYTES / sizeof(int64_t)];
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto x = hn::LoadU(d, values + i);
    auto idx = hn::Zero(di);
    for (size_t step = top >> 1; step > 0; step >>= 1) {
      const auto cand = hn::Add(idx, hn::Set(di, static_cast<int64_t>(step)));
      // Lanes whose candidate is past the end must not move; clamp the
      // gather index and mask the result.
      const auto in_range = hn::Set(di, static_cast<int64_t>(n_cuts) + 1) > cand;
      const auto safe = hn::IfThenElse(in_range, cand, hn::Set(di, 1));
      const auto cut = hn::GatherIndex(d, cuts - 1, safe);
      const auto take = hn::And(in_range, hn::RebindMask(di, x >= cut));
      idx = hn::IfThenElse(take, cand, idx);
    }
    hn::Store(idx, di, idx_lanes);
    for (size_t k = 0; k < N; ++k) ++bins[idx_lanes[k]];
  }
  for (; i < n; ++i) {
    ++bins[std::upper_bound(cuts, cuts + n_cuts, values[i]) - cuts];
  }
}

void Histogram(const double* HWY_RESTRICT values, size_t n, const double* HWY_RESTRICT cuts,
               size_t n_cuts, uint64_t* HWY_RESTRICT bins) {
  if (n_cuts == 0) {
    bins[0] += n;
  } else if (n_cuts <= kMaxCompareCuts) {
    HistogramCompare(values, n, cuts, n_cuts, bins);
  } else {
    HistogramSearch(values, n, cuts, n_cuts, bins);
  }
}

void MinMax(const double* HWY_RESTRICT values, size_t n, double* min_out, double* max_out) {
  const hn::ScalableTag<double> d;
  const size_t N = hn::Lanes(d);
  auto lo = hn::Set(d, values[0]);
  auto hi = lo;
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto x = hn::LoadU(d, values + i);
    lo = hn::Min(lo, x);
    hi = hn::Max(hi, x);
  }
  double mn = hn::GetLane(hn::MinOfLanes(d, lo));
  double mx = hn::GetLane(hn::MaxOfLanes(d, hi));
  for (; i < n; ++i) {
    mn = std::min(mn, values[i]);
    mx = std::max(mx, values[i]);
  }
  *min_out = mn;
  *max_out = mx;
}

// No exit inside the loop: the flags of all the vectors' compares are
// ANDed and tested once (a baseline's samples are sorted unless damaged).
bool Ascending(const double* HWY_RESTRICT values, size_t n) {
  const hn::ScalableTag<double> d;
  const size_t N = hn::Lanes(d);
  if (n < 2) return true;
  // Lane pairs (values[i + k], values[i + k + 1]) for k < N.
  auto in_order = hn::FirstN(d, N);
  size_t i = 0;
  for (; i + N + 1 <= n; i += N) {
    in_order = hn::And(in_order, hn::Le(hn::LoadU(d, values + i), hn::LoadU(d, values + i + 1)));
  }
  bool ok = hn::AllTrue(d, in_order);
  for (; i + 1 < n; ++i) ok &= values[i] <= values[i + 1];
  return ok;
}

PowerSums PowerSumsImpl(const double* HWY_RESTRICT values, size_t n, double scale, double center) {
  const hn::ScalableTag<double> d;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, scale);
  const auto vc = hn::Set(d, center);
  // Two independent accumulator sets hide the FMA latency.
  auto s1a = hn::Zero(d), s2a = hn::Zero(d), s3a = hn::Zero(d), s4a = hn::Zero(d);
  auto s1b = hn::Zero(d), s2b = hn::Zero(d), s3b = hn::Zero(d), s4b = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto xa = hn::Sub(hn::Mul(hn::LoadU(d, values + i), vs), vc);
    const auto xb = hn::Sub(hn::Mul(hn::LoadU(d, values + i + N), vs), vc);
    const auto x2a = hn::Mul(xa, xa);
    const auto x2b = hn::Mul(xb, xb);
    s1a = hn::Add(s1a, xa);
    s1b = hn::Add(s1b, xb);
    s2a = hn::Add(s2a, x2a);
    s2b = hn::Add(s2b, x2b);
    s3a = hn::MulAdd(x2a, xa, s3a);
    s3b = hn::MulAdd(x2b, xb, s3b);
    s4a = hn::MulAdd(x2a, x2a, s4a);
    s4b = hn::MulAdd(x2b, x2b, s4b);
  }
  PowerSums r;
  r.s1 = hn::GetLane(hn::SumOfLanes(d, hn::Add(s1a, s1b)));
  r.s2 = hn::GetLane(hn::SumOfLanes(d, hn::Add(s2a, s2b)));
  r.s3 = hn::GetLane(hn::SumOfLanes(d, hn::Add(s3a, s3b)));
  r.s4 = hn::GetLane(hn::SumOfLanes(d, hn::Add(s4a, s4b)));
  for (; i < n; ++i) {
    const double x = values[i] * scale - center;
    const double x2 = x * x;
    r.s1 += x;
    r.s2 += x2;
    r.s3 += x2 * x;
    r.s4 += x2 * x2;
  }
  return r;
}

double PsiSum(const double* HWY_RESTRICT b, const double* HWY_RESTRICT c, size_t n) {
  const hn::ScalableTag<double> d;
  const size_t N = hn::Lanes(d);
  auto acc = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto vb = hn::LoadU(d, b + i);
    const auto vc = hn::LoadU(d, c + i);
    acc = hn::MulAdd(hn::Sub(vc, vb), hn::Log(d, hn::Div(vc, vb)), acc);
  }
  double s = hn::GetLane(hn::SumOfLanes(d, acc));
  for (; i < n; ++i) s += (c[i] - b[i]) * std::log(c[i] / b[i]);
  return s;
}

double JsDivergenceSum(const double* HWY_RESTRICT p, const double* HWY_RESTRICT q, size_t n) {
  const hn::ScalableTag<double> d;
  const size_t N = hn::Lanes(d);
  const auto half = hn::Set(d, 0.5);
  const auto zero = hn::Zero(d);
  auto acc = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto vp = hn::LoadU(d, p + i);
    const auto vq = hn::LoadU(d, q + i);
    const auto m = hn::Mul(hn::Add(vp, vq), half);
    // Lanes with a zero proportion contribute 0 (their log is -inf or NaN
    // and is discarded by the mask).
    const auto tp = hn::IfThenElseZero(vp > zero, hn::Mul(vp, hn::Log(d, hn::Div(vp, m))));
    const auto tq = hn::IfThenElseZero(vq > zero, hn::Mul(vq, hn::Log(d, hn::Div(vq, m))));
    acc = hn::Add(acc, hn::Add(tp, tq));
  }
  double s = hn::GetLane(hn::SumOfLanes(d, acc));
  for (; i < n; ++i) {
    const double m = (p[i] + q[i]) * 0.5;
    if (p[i] > 0) s += p[i] * std::log(p[i] / m);
    if (q[i] > 0) s += q[i] * std::log(q[i] / m);
  }
  return s;
}

double BhattacharyyaSum(const double* HWY_RESTRICT p, const double* HWY_RESTRICT q, size_t n) {
  const hn::ScalableTag<double> d;
  const size_t N = hn::Lanes(d);
  auto acc = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    acc = hn::Add(acc, hn::Sqrt(hn::Mul(hn::LoadU(d, p + i), hn::LoadU(d, q + i))));
  }
  double s = hn::GetLane(hn::SumOfLanes(d, acc));
  for (; i < n; ++i) s += std::sqrt(p[i] * q[i]);
  return s;
}

// Compares a vector of bytes with ',' and '\n', turns the matches into a
// bit mask and writes the set bits' positions (lowest first).
size_t FindCsvDelimiters(const char* HWY_RESTRICT text, size_t n, uint32_t* HWY_RESTRICT out) {
  const hn::ScalableTag<uint8_t> d;
  const size_t N = hn::Lanes(d);
  const auto comma = hn::Set(d, static_cast<uint8_t>(','));
  const auto newline = hn::Set(d, static_cast<uint8_t>('\n'));
  const auto* bytes = reinterpret_cast<const uint8_t*>(text);
  size_t k = 0;
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(d, bytes + i);
    const auto m = hn::Or(hn::Eq(v, comma), hn::Eq(v, newline));
    uint8_t mask_bytes[8] = {};
    hn::StoreMaskBits(d, m, mask_bytes);
    uint64_t bits;
    std::memcpy(&bits, mask_bytes, sizeof bits);
    while (bits != 0) {
      out[k++] = static_cast<uint32_t>(i + static_cast<size_t>(__builtin_ctzll(bits)));
      bits &= bits - 1;
    }
  }
  for (; i < n; ++i) {
    if (text[i] == ',' || text[i] == '\n') out[k++] = static_cast<uint32_t>(i);
  }
  return k;
}

// Per lane: the bucket (as grid_bucket computes it), its points' first
// index lo (one gather), then the points lo .. lo + kGridWindow - 1
// compared with the value (a gather each): those below are counted by a
// masked subtract, and a point equal to the value, which can only be one of
// them (GridIndex), marks the slot as on the point. Lanes outside the
// points' range or in a crowded bucket, and the values after the last whole
// vector, go through grid_slot.
void GridSlots(const GridIndex& grid, const double* HWY_RESTRICT values, size_t n,
               uint32_t* HWY_RESTRICT slots) {
  const hn::ScalableTag<double> d;
  const hn::RebindToSigned<decltype(d)> di;
  const size_t N = hn::Lanes(d);
  const double* const points = grid.points;
  size_t i = 0;
  if (grid.k > 0 && grid.bucket_lo != nullptr) {
    const auto low = hn::Set(d, points[0]);
    const auto high = hn::Set(d, points[grid.k - 1]);
    const auto origin = hn::Set(d, grid.origin);
    const auto origin_bits = hn::Set(di, std::bit_cast<int64_t>(grid.origin));
    const bool by_bits = grid.bit_shift >= 0;
    const int bit_shift = by_bits ? grid.bit_shift : 0;
    const auto scale = hn::Set(d, grid.scale);
    const auto last_bucket = hn::Set(d, static_cast<double>(grid.buckets));
    const hn::Rebind<int32_t, decltype(d)> d32;
    HWY_ALIGN int64_t lane_ok[HWY_MAX_BYTES / sizeof(int64_t)];
    for (; i + N <= n; i += N) {
      const auto x = hn::LoadU(d, values + i);
      const auto in_range = hn::And(x >= low, x <= high);
      // Clamped before the conversion, so lanes out of range convert too.
      // (A uniform branch: the grid's kind of buckets.)
      const auto offset =
          by_bits ? hn::ConvertTo(
                        d, hn::ShiftRightSame(hn::Sub(hn::BitCast(di, x), origin_bits), bit_shift))
                  : hn::Sub(x, origin);
      const auto pos = hn::Min(hn::Max(hn::Mul(offset, scale), hn::Zero(d)), last_bucket);
      // 32-bit bucket entries: half the table, which each batch brings back
      // into L1 for every column (see GridIndex).
      const auto lo =
          hn::PromoteTo(di, hn::GatherIndex(d32, grid.bucket_lo, hn::DemoteTo(d32, pos)));
      const auto ok = hn::And(hn::RebindMask(di, in_range), lo > hn::Set(di, int64_t{-1}));
      const auto base = hn::IfThenElseZero(ok, lo);
      auto count = base;
      auto on_point = hn::Zero(di);
      for (size_t j = 0; j < kGridWindow; ++j) {
        const auto p =
            hn::GatherIndex(d, points, hn::Add(base, hn::Set(di, static_cast<int64_t>(j))));
        // A true mask lane is -1 as an integer: subtracting counts it.
        count = hn::Sub(count, hn::VecFromMask(di, hn::RebindMask(di, p < x)));
        on_point = hn::Or(on_point, hn::VecFromMask(di, hn::RebindMask(di, p == x)));
      }
      const auto slot = hn::Sub(hn::Add(count, count), on_point);
      // Slots are below 2^31: exact as doubles, then narrowed to 32 bits and
      // stored at once. Lanes the window could not count are redone.
      hn::StoreU(hn::DemoteTo(d32, hn::ConvertTo(d, slot)), d32,
                 reinterpret_cast<int32_t*>(slots + i));
      if (!hn::AllTrue(di, ok)) {
        hn::Store(hn::VecFromMask(di, ok), di, lane_ok);
        for (size_t l = 0; l < N; ++l) {
          if (lane_ok[l] == 0) slots[i + l] = grid_slot(grid, values[i + l]);
        }
      }
    }
  }
  for (; i < n; ++i) slots[i] = grid_slot(grid, values[i]);
}

// JSON number texts, a number a 64-bit lane: its 16 bytes as two words
// (lo: bytes 0-7, hi: 8-15; the first byte is the low byte of lo), read
// with whole-word arithmetic (SWAR) in every lane at once: the digits'
// extent from flag bytes, the point taken out by shifts, the digits'
// value by multiply-add instructions, one exact division. AVX2 and
// AVX-512: the lanes' values are small, so they are compared as signed
// integers (native on both; Highway 1.0.3 emulates unsigned 64-bit compares
// on AVX2) and turned into doubles by the exponent trick (AVX2 has no
// 64-bit integer conversion). Other targets, and the texts after the last
// whole vector, are read one at a time as the scalar reference reads them.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
namespace number_text {

// Lane comparisons and extrema of small values (below 2^63) as signed
// integers.
template <class D, class V>
HWY_INLINE auto Below(D d, V a, V b) {
  const hn::RebindToSigned<D> di;
  return hn::RebindMask(d, hn::Lt(hn::BitCast(di, a), hn::BitCast(di, b)));
}
template <class D, class V>
HWY_INLINE V Smaller(D d, V a, V b) {
  const hn::RebindToSigned<D> di;
  return hn::BitCast(d, hn::Min(hn::BitCast(di, a), hn::BitCast(di, b)));
}
template <class D, class V>
HWY_INLINE V Larger(D d, V a, V b) {
  const hn::RebindToSigned<D> di;
  return hn::BitCast(d, hn::Max(hn::BitCast(di, a), hn::BitCast(di, b)));
}

// 0x80 in every byte of w that is not an ASCII digit, 0 elsewhere. A
// digit XOR '0' is 0..9; 0x76 added to the low 7 bits carries into the top
// bit exactly from 10 up, and the top bit of the XOR flags bytes >= 0x80.
// Masking to 7 bits first keeps every byte's sum below 0x100: no carry
// crosses into the next byte.
template <class D, class V>
HWY_INLINE V NonDigits(D d, V w) {
  const auto x = hn::Xor(w, hn::Set(d, 0x3030303030303030ull));
  const auto sum =
      hn::Add(hn::And(x, hn::Set(d, 0x7F7F7F7F7F7F7F7Full)), hn::Set(d, 0x7676767676767676ull));
  return hn::And(hn::Or(sum, x), hn::Set(d, 0x8080808080808080ull));
}

// The index of the first non-digit byte of the 16 (16 when all are
// digits). (f - 1) & ~f keeps the bits below f's lowest set bit: with the
// flags in bit 7 of each byte, exactly the top bits of the bytes before
// the first flagged one, so the byte sums (SumsOf8) count those bytes, 128
// each. The high word's bytes count only when the low word has no flag
// (then its kept bits include bit 63).
template <class D, class V>
HWY_INLINE V FirstNonDigit(D d, V lo, V hi) {
  const hn::Repartition<uint8_t, D> d8;
  const hn::RebindToSigned<D> di;
  const auto top_bits = hn::Set(d, 0x8080808080808080ull);
  const auto one = hn::Set(d, 1);
  const auto f_lo = NonDigits(d, lo), f_hi = NonDigits(d, hi);
  const auto before_lo = hn::AndNot(f_lo, hn::Sub(f_lo, one));
  const auto before_hi = hn::AndNot(f_hi, hn::Sub(f_hi, one));
  const auto lo_all_digits = hn::BitCast(d, hn::BroadcastSignBit(hn::BitCast(di, before_lo)));
  const auto count_lo = hn::SumsOf8(hn::BitCast(d8, hn::And(before_lo, top_bits)));
  const auto count_hi =
      hn::SumsOf8(hn::BitCast(d8, hn::And(before_hi, hn::And(top_bits, lo_all_digits))));
  return hn::ShiftRight<7>(hn::Add(count_lo, count_hi));
}

// The index of the first flagged byte of one word (8 when none is): the
// one-word case of FirstNonDigit.
template <class D, class V>
HWY_INLINE V FirstFlag(D d, V f) {
  const hn::Repartition<uint8_t, D> d8;
  const auto before = hn::AndNot(f, hn::Sub(f, hn::Set(d, 1)));
  return hn::ShiftRight<7>(
      hn::SumsOf8(hn::BitCast(d8, hn::And(before, hn::Set(d, 0x8080808080808080ull)))));
}

// Byte `at` (0..7; 8 reads byte 0, for lanes that fail anyway) of one word.
template <class D, class V>
HWY_INLINE V ByteOf(D d, V w, V at) {
  return hn::And(hn::Shr(w, hn::ShiftLeft<3>(hn::And(at, hn::Set(d, 7)))), hn::Set(d, 0xFF));
}

// Byte `at` (0..15; 16 reads byte 8, for lanes that fail anyway) of the 16.
template <class D, class V>
HWY_INLINE V ByteAt(D d, V lo, V hi, V at) {
  const auto word = hn::IfThenElse(Below(d, at, hn::Set(d, 8)), lo, hi);
  return hn::And(hn::Shr(word, hn::ShiftLeft<3>(hn::And(at, hn::Set(d, 7)))), hn::Set(d, 0xFF));
}

// The value of the first 8 - shift / 8 digit bytes of w (shift: 0 to 56
// bits; 64 gives 0). Shifting up by the missing digits' bytes drops the
// bytes after them and puts zero bytes in front (0 & 0x0F is digit 0).
// Then, in ever wider lanes: neighbouring bytes a, b (a the more
// significant, in the lower byte) become 10a + b in 16 bits and
// neighbouring pairs P, Q become 100P + Q in 32 (the multiply-add-adjacent
// instructions, AVX-512BW; Highway 1.0.3 has no op for the first), and the
// halves H, L become 10^4 H + L in 64 (a 32 x 32-bit product).
template <class D, class V>
HWY_INLINE V DigitsValue(D d, V w, V shift) {
  const hn::Repartition<uint32_t, D> d32;
  const auto digits = hn::And(hn::Shl(w, shift), hn::Set(d, 0x0F0F0F0F0F0F0F0Full));
#if HWY_TARGET <= HWY_AVX3
  const __m512i pairs = _mm512_maddubs_epi16(digits.raw, _mm512_set1_epi16(0x010A));
  const V quads{_mm512_madd_epi16(pairs, _mm512_set1_epi32(0x00010064))};
#else
  const __m256i pairs = _mm256_maddubs_epi16(digits.raw, _mm256_set1_epi16(0x010A));
  const V quads{_mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00010064))};
#endif
  return hn::Add(hn::MulEven(hn::BitCast(d32, quads), hn::Set(d32, 10000)),
                 hn::ShiftRight<32>(quads));
}

}  // namespace number_text
#endif

void ReadJsonNumbers(const char* HWY_RESTRICT texts, size_t n, double* HWY_RESTRICT out) {
  size_t i = 0;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  using namespace number_text;
  static constexpr uint64_t kPow10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
  static constexpr double kPow10d[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                         1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const hn::ScalableTag<uint64_t> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Repartition<double, decltype(d)> df;
  const size_t N = hn::Lanes(d);
  const auto zero = hn::Zero(d), one = hn::Set(d, 1), eight = hn::Set(d, 8);
  const auto byte = hn::Set(d, 0xFF);
  auto is = [&](auto v, char c) { return hn::Eq(v, hn::Set(d, static_cast<uint8_t>(c))); };
  // Whether the byte after the number may end it: a bit per byte value
  // below 128, in two 64-bit maps.
  constexpr uint64_t kEndsLow =
      (1ull << '\t') | (1ull << '\n') | (1ull << '\r') | (1ull << ' ') | (1ull << ',');
  constexpr uint64_t kEndsHigh = (1ull << (']' - 64)) | (1ull << ('}' - 64));
  auto ends_number = [&](auto end) {
    const auto end_map =
        hn::IfThenElse(Below(d, end, hn::Set(d, 64)), hn::Set(d, kEndsLow), hn::Set(d, kEndsHigh));
    return hn::And(Below(d, end, hn::Set(d, 128)),
                   hn::Ne(hn::And(hn::Shr(end_map, hn::And(end, hn::Set(d, 63))), one), zero));
  };
  constexpr size_t kSkipShort = 3;
  size_t skip_short = 0;
  for (; i + N <= n; i += N) {
    hn::Vec<decltype(d)> lo, hi;
    hn::LoadInterleaved2(d, reinterpret_cast<const uint64_t*>(texts + i * 16), lo, hi);
    const auto negative = is(hn::And(lo, byte), '-');
    if (skip_short > 0) {
      --skip_short;
    } else {
      // Short numbers first: sign, digits, point and the byte that ends
      // the number all within the first 8 bytes (as "-1.0612," is), so one
      // word per lane holds them and the steps below run once, not for
      // both words: 1.46x the general steps' rate. Where a lane's number is
      // longer, or not a number, the whole vector is read by the general
      // steps after this block, and the next kSkipShort vectors go there
      // at once: a column of longer numbers pays the failed try on one
      // vector in kSkipShort + 1 (each try costs about a quarter of the
      // general steps).
      skip_short = kSkipShort;
      const auto w = hn::IfThenElse(negative, hn::ShiftRight<8>(lo), lo);
      const auto int_len = FirstFlag(d, NonDigits(d, w));  // 8: all digits
      const auto point = is(ByteOf(d, w, int_len), '.');
      // The point taken out: the bytes above it move down one.
      const auto keep = hn::Sub(hn::Shl(one, hn::ShiftLeft<3>(int_len)), one);
      const auto x = hn::IfThenElse(
          point, hn::Or(hn::And(w, keep), hn::AndNot(keep, hn::ShiftRight<8>(w))), w);
      const auto digits = FirstFlag(d, NonDigits(d, x));
      const auto frac_len = hn::IfThenElseZero(point, hn::Sub(digits, int_len));
      // digits == 8 reads byte 0, a digit: no end, so the lane fails.
      const auto ends = ends_number(ByteOf(d, x, digits));
      const auto leading_zero = hn::And(is(hn::And(w, byte), '0'), Below(d, one, int_len));
      auto good = hn::AndNot(leading_zero, hn::And(ends, Below(d, zero, int_len)));
      good = hn::AndNot(hn::And(point, hn::Eq(frac_len, zero)), good);
      if (hn::AllTrue(d, good)) {
        // At most 7 digits: m < 10^7, exact, and 10^frac_len with frac_len
        // below 7; one correctly rounded division, as the reference.
        const auto m = DigitsValue(d, x, hn::ShiftLeft<3>(hn::Sub(eight, digits)));
        const auto divisor = hn::GatherIndex(df, kPow10d, hn::BitCast(di, frac_len));
        const auto two_52 = hn::Set(d, 0x4330000000000000ull);
        const auto m_double = hn::Sub(hn::BitCast(df, hn::Or(m, two_52)), hn::BitCast(df, two_52));
        auto value = hn::Div(m_double, divisor);
        value = hn::IfThenElse(hn::RebindMask(df, negative), hn::Neg(value), value);
        hn::StoreU(value, df, out + i);
        skip_short = 0;
        continue;
      }
    }
    // A minus: the 16 bytes move down one, a zero byte (no digit, no end)
    // coming in at the top.
    lo = hn::IfThenElse(negative, hn::Or(hn::ShiftRight<8>(lo), hn::ShiftLeft<56>(hi)), lo);
    hi = hn::IfThenElse(negative, hn::ShiftRight<8>(hi), hi);
    const auto int_len = FirstNonDigit(d, lo, hi);
    const auto point = is(ByteAt(d, lo, hi, int_len), '.');
    // The point taken out: bytes below int_len stay, the ones above it
    // move down one. The digits then run from byte 0 to the number's end.
    // (int_len is at most 15 where there is a point.)
    const auto in_lo = Below(d, int_len, eight);
    const auto part = hn::Sub(hn::Shl(one, hn::ShiftLeft<3>(hn::And(int_len, hn::Set(d, 7)))), one);
    const auto keep_lo = hn::IfThenElse(in_lo, part, hn::Set(d, ~0ull));
    const auto keep_hi = hn::IfThenElseZero(hn::Not(in_lo), part);
    const auto moved_lo = hn::Or(hn::ShiftRight<8>(lo), hn::ShiftLeft<56>(hi));
    const auto moved_hi = hn::ShiftRight<8>(hi);
    const auto x_lo =
        hn::IfThenElse(point, hn::Or(hn::And(lo, keep_lo), hn::AndNot(keep_lo, moved_lo)), lo);
    const auto x_hi =
        hn::IfThenElse(point, hn::Or(hn::And(hi, keep_hi), hn::AndNot(keep_hi, moved_hi)), hi);
    const auto digits = FirstNonDigit(d, x_lo, x_hi);
    const auto end = ByteAt(d, x_lo, x_hi, digits);
    const auto frac_len = hn::IfThenElseZero(point, hn::Sub(digits, int_len));
    const auto ends = ends_number(end);
    const auto leading_zero = hn::And(is(hn::And(lo, byte), '0'), Below(d, one, int_len));
    auto good = hn::AndNot(leading_zero, hn::And(ends, Below(d, zero, int_len)));
    good = hn::AndNot(hn::And(point, hn::Eq(frac_len, zero)), good);
    good = hn::And(good, Below(d, digits, hn::Set(d, 16)));
    // m: the first 8 digits, times 10^(digits - 8) plus the rest.
    // Digits in the low word: min(digits, 8); in the high: digits - 8.
    const auto value_lo =
        DigitsValue(d, x_lo, hn::ShiftLeft<3>(hn::Sub(eight, Smaller(d, digits, eight))));
    const auto value_hi =
        DigitsValue(d, x_hi, hn::ShiftLeft<3>(hn::Sub(hn::Set(d, 16), Larger(d, digits, eight))));
    // (Indices masked into the tables for the lanes that do not use them.)
    const auto scale_hi =
        hn::GatherIndex(di, reinterpret_cast<const int64_t*>(kPow10),
                        hn::BitCast(di, hn::And(hn::Sub(digits, eight), hn::Set(d, 7))));
    // Both factors are below 10^8 < 2^32: one 32 x 32-bit product.
    const hn::Repartition<uint32_t, decltype(d)> d32;
    const auto high_part =
        hn::MulEven(hn::BitCast(d32, value_lo), hn::BitCast(d32, hn::BitCast(d, scale_hi)));
    const auto m = hn::IfThenElse(Below(d, eight, digits), hn::Add(high_part, value_hi), value_lo);
    const auto divisor =
        hn::GatherIndex(df, kPow10d, hn::BitCast(di, hn::And(frac_len, hn::Set(d, 15))));
    // m < 10^15 < 2^52 where the lane is good: as the low bits of 2^52's
    // mantissa, 2^52 + m is a double, and subtracting 2^52 leaves m exactly.
    const auto two_52 = hn::Set(d, 0x4330000000000000ull);
    const auto m_double = hn::Sub(hn::BitCast(df, hn::Or(m, two_52)), hn::BitCast(df, two_52));
    auto value = hn::Div(m_double, divisor);
    value = hn::IfThenElse(hn::RebindMask(df, negative), hn::Neg(value), value);
    hn::StoreU(hn::IfThenElse(hn::RebindMask(df, good), value,
                              hn::Set(df, std::numeric_limits<double>::quiet_NaN())),
               df, out + i);
  }
#endif
  for (; i < n; ++i) {
    if (!short_json_double(texts + i * 16, &out[i]))
      out[i] = std::numeric_limits<double>::quiet_NaN();
  }
}

// Lanes hold consecutive j. log C(n, j) is lgamma-exact at the run's first
// j; from there it is carried by the logs of the neighbour ratios
// (n-j)/(j+1), summed apart from the large lgamma value so that the
// carried rounding is that of a sum of magnitude tens, not tens of
// thousands. Within a vector the ratios' prefix sum is formed in
// registers; only the vector's total is carried from one to the next. The powers' bases need no
// division: n(1 - x - j/n) = (n - j) - nx and n(x + j/n) = j + nx, with nx taken exactly as a sum
// of two doubles (hi + lo, by an FMA), so the base stays exact to an ulp where 1 - x - j/n cancels
// (j near n(1 - x)): there its relative error is multiplied by the power n - j, and 1 - x - j/n in
// doubles was off by 1e-8 relative in the term at n = 50,000, x = 0.3.
// One division (the ratio), three vector Logs and one Exp per vector.
TermsSum SmirnovTerms(double n, double x, int64_t first, int64_t count, double log_peak) {
  const hn::ScalableTag<double> d;
  const size_t N = hn::Lanes(d);
  TermsSum r;
  if (count <= 0) return r;
  const hn::RebindToSigned<decltype(d)> di;
  const auto lane_offsets = hn::ConvertTo(d, hn::Iota(di, 0));
  // Per prefix step s: each lane takes lane l - 2^s, none where l < 2^s.
  constexpr size_t kMaxSteps = 8;  // 2^8 lanes of doubles: beyond any target
  using Indices = decltype(hn::IndicesFromVec(d, hn::Zero(di)));
  using Mask = decltype(hn::FirstN(d, 0));
  Indices back[kMaxSteps];
  Mask below[kMaxSteps];
  // Step 0 always: the exclusive sum is the inclusive one moved by a lane.
  for (size_t step = 0; step == 0 || (step < kMaxSteps && (size_t{1} << step) < N); ++step) {
    const auto shift = hn::Set(di, static_cast<int64_t>(size_t{1} << step));
    const auto lane = hn::Iota(di, 0);
    back[step] = hn::IndicesFromVec(d, hn::IfThenElse(lane < shift, lane, hn::Sub(lane, shift)));
    below[step] = hn::RebindMask(d, lane < shift);
  }
  const auto last = hn::IndicesFromVec(d, hn::Set(di, static_cast<int64_t>(N - 1)));
  const auto vn = hn::Set(d, n);
  const auto one = hn::Set(d, 1.0);
  const double nx_hi = n * x;
  const auto nx_high = hn::Set(d, nx_hi);
  const auto nx_low = hn::Set(d, std::fma(n, x, -nx_hi));  // nx = hi + lo exactly
  const auto log_n = hn::Set(d, std::log(n));
  const double first_d = static_cast<double>(first);
  const double log_c0 = log_gamma(n + 1) - log_gamma(first_d + 1) - log_gamma(n - first_d + 1);
  const auto rest = hn::Set(d, log_c0 + std::log(x) - log_peak);
  const auto end_j = hn::Set(d, static_cast<double>(first + count));
  auto carried = hn::Zero(d);  // sum of the ratios' logs before this vector
  auto sum = hn::Zero(d);
  auto max_rel = hn::Set(d, -HUGE_VAL);
  for (int64_t j0 = first; j0 < first + count; j0 += static_cast<int64_t>(N)) {
    const auto vj = hn::Add(hn::Set(d, static_cast<double>(j0)), lane_offsets);
    const auto na = hn::Sub(hn::Sub(hn::Sub(vn, vj), nx_high), nx_low);  // n(1 - x - j/n)
    const auto valid = hn::And(vj<end_j, na> hn::Zero(d));
    // log C(n, j+1) - log C(n, j), per lane; 0 where invalid.
    const auto ratio = hn::IfThenElse(valid, hn::Div(hn::Sub(vn, vj), hn::Add(vj, one)), one);
    // Exclusive prefix sum over the lanes (log2 N shifted adds), then the
    // vector's total broadcast from its inclusive last lane.
    const auto log_ratio = hn::Log(d, ratio);
    auto inclusive = log_ratio;
    for (size_t step = 0; (size_t{1} << step) < N; ++step) {
      inclusive = hn::Add(
          inclusive, hn::IfThenZeroElse(below[step], hn::TableLookupLanes(inclusive, back[step])));
    }
    const auto exclusive = hn::IfThenZeroElse(below[0], hn::TableLookupLanes(inclusive, back[0]));
    const auto log_c = hn::Add(carried, exclusive);
    carried = hn::Add(carried, hn::TableLookupLanes(inclusive, last));
    const auto la = hn::Sub(hn::Log(d, hn::IfThenElse(valid, na, one)), log_n);
    const auto lb = hn::Sub(
        hn::Log(d, hn::IfThenElse(valid, hn::Add(hn::Add(vj, nx_high), nx_low), one)), log_n);
    const auto rel = hn::Add(hn::Add(log_c, hn::Mul(hn::Sub(vn, vj), la)),
                             hn::MulAdd(hn::Sub(vj, one), lb, rest));
    const auto masked = hn::IfThenElse(valid, rel, hn::Set(d, -HUGE_VAL));
    max_rel = hn::Max(max_rel, masked);
    sum = hn::Add(sum, hn::IfThenElseZero(valid, hn::Exp(d, hn::Max(rel, hn::Set(d, -1000.0)))));
  }
  r.sum = hn::GetLane(hn::SumOfLanes(d, sum));
  r.max_rel = hn::GetLane(hn::MaxOfLanes(d, max_rel));
  return r;
}

// A vector of characters a step (16, 32 or 64; 12 output bytes per 16).
// Each character's 6-bit value is the character plus an offset chosen by
// its range: 'A'-'Z' -65, 'a'-'z' -71, '0'-'9' +4, '+' +19, '/' +16; a
// character in no range marks the text invalid. Pairs of values join into
// 12 bits in 16-bit lanes, pairs of those into 24 bits in 32-bit lanes; a
// byte shuffle within each 128-bit block puts each lane's three bytes high
// first at the block's start, and a 32-bit lane permutation closes the
// gaps between blocks. Steps stop while a whole vector's store still fits
// in the output; the scalar reference does the rest.
bool Base64DecodeQuads(const char* HWY_RESTRICT text, size_t n, unsigned char* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_SCALAR
  return scalar::base64_decode_quads(text, n, out);  // no 128-bit blocks
#else
  const hn::ScalableTag<uint8_t> d8;
  const hn::Repartition<uint16_t, decltype(d8)> d16;
  const hn::Repartition<uint32_t, decltype(d8)> d32;
  const size_t N = hn::Lanes(d8);
  const auto* in = reinterpret_cast<const uint8_t*>(text);
  const size_t out_size = n / 4 * 3;
  auto in_range = [&](const auto c, uint8_t first, uint8_t count) {
    // c - first < count as unsigned bytes: one compare for the range.
    return hn::Set(d8, count) > hn::Sub(c, hn::Set(d8, first));
  };
  // Per 128-bit block: lane k's bytes 2, 1, 0 to positions 3k .. 3k+2.
  HWY_ALIGN uint8_t high_first_bytes[HWY_MAX_BYTES];
  HWY_ALIGN uint32_t close_gaps[HWY_MAX_BYTES / 4];
  for (size_t b = 0; b < N; ++b) {
    const size_t k = b % 16 / 3;
    high_first_bytes[b] = static_cast<uint8_t>(b % 16 < 12 ? 4 * k + 2 - b % 16 % 3 : 15);
  }
  for (size_t l = 0; l < N / 4; ++l) {  // output lane l from block l / 3, its lane l % 3
    close_gaps[l] = static_cast<uint32_t>(l < N / 16 * 3 ? l / 3 * 4 + l % 3 : 0);
  }
  const auto high_first = hn::Load(d8, high_first_bytes);
  const auto gaps = hn::SetTableIndices(d32, reinterpret_cast<const int32_t*>(close_gaps));
  const size_t out_step = N / 16 * 12;
  auto invalid = hn::Zero(d8);
  size_t i = 0, o = 0;
  for (; i + N <= n && o + N <= out_size; i += N, o += out_step) {
    const auto c = hn::LoadU(d8, in + i);
    const auto upper = in_range(c, 'A', 26);
    const auto lower = in_range(c, 'a', 26);
    const auto digit = in_range(c, '0', 10);
    const auto plus = hn::Eq(c, hn::Set(d8, uint8_t{'+'}));
    const auto slash = hn::Eq(c, hn::Set(d8, uint8_t{'/'}));
    // The ranges are disjoint: each character takes at most one offset
    // (added modulo 256).
    const auto offset =
        hn::Or(hn::Or(hn::IfThenElseZero(upper, hn::Set(d8, static_cast<uint8_t>(-65))),
                      hn::IfThenElseZero(lower, hn::Set(d8, static_cast<uint8_t>(-71)))),
               hn::Or(hn::IfThenElseZero(digit, hn::Set(d8, uint8_t{4})),
                      hn::Or(hn::IfThenElseZero(plus, hn::Set(d8, uint8_t{19})),
                             hn::IfThenElseZero(slash, hn::Set(d8, uint8_t{16})))));
    const auto valid = hn::Or(hn::Or(upper, lower), hn::Or(digit, hn::Or(plus, slash)));
    invalid = hn::Or(invalid, hn::VecFromMask(d8, hn::Not(valid)));
    const auto sextets = hn::BitCast(d16, hn::Add(c, offset));
    // Per 16-bit lane: first character's value << 6 | the second's.
    const auto twelve = hn::Or(hn::ShiftLeft<6>(hn::And(sextets, hn::Set(d16, uint16_t{0x3f}))),
                               hn::ShiftRight<8>(sextets));
    const auto pairs = hn::BitCast(d32, twelve);
    // Per 32-bit lane: first pair << 12 | the second pair: 24 bits.
    const auto word =
        hn::Or(hn::ShiftLeft<12>(hn::And(pairs, hn::Set(d32, 0xfffu))), hn::ShiftRight<16>(pairs));
    const auto blocks = hn::BitCast(d32, hn::TableLookupBytes(hn::BitCast(d8, word), high_first));
    hn::StoreU(hn::BitCast(d8, hn::TableLookupLanes(blocks, gaps)), d8, out + o);
  }
  const bool ok = hn::AllTrue(d8, hn::Eq(invalid, hn::Zero(d8)));
  return scalar::base64_decode_quads(text + i, n - i, out + o) && ok;
#endif
}

int64_t TargetId() {
  return HWY_TARGET;
}

}  // namespace driftd::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hwy/contrib/sort/vqsort.h"

namespace driftd::kernels {

HWY_EXPORT(Histogram);
HWY_EXPORT(MinMax);
HWY_EXPORT(Ascending);
HWY_EXPORT(PowerSumsImpl);
HWY_EXPORT(PsiSum);
HWY_EXPORT(JsDivergenceSum);
HWY_EXPORT(BhattacharyyaSum);
HWY_EXPORT(TargetId);
HWY_EXPORT(FindCsvDelimiters);
HWY_EXPORT(GridSlots);
HWY_EXPORT(SmirnovTerms);
HWY_EXPORT(Base64DecodeQuads);
HWY_EXPORT(ReadJsonNumbers);

void histogram(const double* values, size_t n, const double* cuts, size_t n_cuts, uint64_t* bins) {
  HWY_DYNAMIC_DISPATCH(Histogram)(values, n, cuts, n_cuts, bins);
}
void min_max(const double* values, size_t n, double* min_out, double* max_out) {
  HWY_DYNAMIC_DISPATCH(MinMax)(values, n, min_out, max_out);
}
bool ascending(const double* values, size_t n) {
  return HWY_DYNAMIC_DISPATCH(Ascending)(values, n);
}
PowerSums power_sums(const double* values, size_t n, double scale, double center) {
  return HWY_DYNAMIC_DISPATCH(PowerSumsImpl)(values, n, scale, center);
}
double psi_sum(const double* baseline, const double* current, size_t n) {
  return HWY_DYNAMIC_DISPATCH(PsiSum)(baseline, current, n);
}
double js_divergence_sum(const double* p, const double* q, size_t n) {
  return HWY_DYNAMIC_DISPATCH(JsDivergenceSum)(p, q, n);
}
double bhattacharyya_sum(const double* p, const double* q, size_t n) {
  return HWY_DYNAMIC_DISPATCH(BhattacharyyaSum)(p, q, n);
}
void sort(double* values, size_t n) {
  // A Sorter owns scratch memory and is not safe to share between threads.
  thread_local const hwy::Sorter sorter;
  sorter(values, n, hwy::SortAscending());
}
size_t find_csv_delimiters(const char* text, size_t n, uint32_t* out) {
  return HWY_DYNAMIC_DISPATCH(FindCsvDelimiters)(text, n, out);
}
void grid_slots(const GridIndex& grid, const double* values, size_t n, uint32_t* slots) {
  HWY_DYNAMIC_DISPATCH(GridSlots)(grid, values, n, slots);
}
TermsSum smirnov_terms(double n, double x, int64_t first, int64_t count, double log_peak) {
  return HWY_DYNAMIC_DISPATCH(SmirnovTerms)(n, x, first, count, log_peak);
}

void read_json_numbers(const char* texts, size_t n, double* out) {
  HWY_DYNAMIC_DISPATCH(ReadJsonNumbers)(texts, n, out);
}
bool base64_decode_quads(const char* text, size_t n, unsigned char* out) {
  return HWY_DYNAMIC_DISPATCH(Base64DecodeQuads)(text, n, out);
}
const char* active_target_name() {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetId)());
}

}  // namespace driftd::kernels
#endif  // HWY_ONCE
