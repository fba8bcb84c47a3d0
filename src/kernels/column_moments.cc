// kernels::column_moments (driftd/kernels/kernels.h): the streamed moments of
// several columns at once, a column a lane. In a file of its own so that
// it alone is compiled with -ffp-contract=off (CMakeLists.txt), as are its
// scalar reference and the per-column loop it must match bit for bit
// (NumericSummary::add_all); the other kernels keep their codegen.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/column_moments.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "driftd/kernels/kernels.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace driftd::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Lanes are columns; each lane does one column's scalar steps in row
// order (Min(v, lo) is v < lo ? v : lo, as std::min(lo, v); Max likewise),
// and this file is compiled without contracting a product and a sum into
// one FMA (CMakeLists.txt): the sums are those of the scalar loop, bit for
// bit.
void ColumnMomentsImpl(const double* HWY_RESTRICT values, size_t rows, size_t n_columns,
                       const ColumnMoments& m) {
  // At most 4 lanes: with 8, the 512-bit gather and division ran at half
  // the rate of AVX2 (driftd_kernel_bench: 5.7e8 against 1.1e9 values/s).
  const hn::CappedTag<double, 4> d;
  const hn::RebindToSigned<decltype(d)> di;
  const size_t N = hn::Lanes(d);
  for (size_t j = 0; j < n_columns; j += N) {
    const auto offset = hn::LoadU(di, m.offset + j);
    const auto center = hn::LoadU(d, m.center + j);
    const auto scale = hn::LoadU(d, m.scale + j);
    auto p0 = hn::LoadU(d, m.p0 + j), p1 = hn::LoadU(d, m.p1 + j);
    auto p2 = hn::LoadU(d, m.p2 + j), p3 = hn::LoadU(d, m.p3 + j);
    auto lo = hn::LoadU(d, m.lo + j), hi = hn::LoadU(d, m.hi + j);
    for (size_t i = 0; i < rows; ++i) {
      const auto v = hn::GatherIndex(d, values + i, offset);
      const auto u = hn::Div(hn::Sub(v, center), scale);
      const auto u2 = hn::Mul(u, u);
      p0 = hn::Add(p0, u);
      p1 = hn::Add(p1, u2);
      p2 = hn::Add(p2, hn::Mul(u2, u));
      p3 = hn::Add(p3, hn::Mul(u2, u2));
      lo = hn::Min(v, lo);
      hi = hn::Max(v, hi);
    }
    hn::StoreU(p0, d, m.p0 + j);
    hn::StoreU(p1, d, m.p1 + j);
    hn::StoreU(p2, d, m.p2 + j);
    hn::StoreU(p3, d, m.p3 + j);
    hn::StoreU(lo, d, m.lo + j);
    hn::StoreU(hi, d, m.hi + j);
  }
}

}  // namespace driftd::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace driftd::kernels {

HWY_EXPORT(ColumnMomentsImpl);

void column_moments(const double* values, size_t rows, size_t n_columns, const ColumnMoments& m) {
  HWY_DYNAMIC_DISPATCH(ColumnMomentsImpl)(values, rows, n_columns, m);
}

}  // namespace driftd::kernels
#endif  // HWY_ONCE
