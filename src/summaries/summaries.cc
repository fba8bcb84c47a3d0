// The window's summaries: what a pane keeps of its events per column and
// of its joined labels, mergeable, saved and loaded with the checkpoint,
// and the comparison inputs computed from them (include/driftd/summaries/summaries.h
// states what is exact and the error bounds of what is not).
#include "driftd/summaries/summaries.h"

#include <algorithm>
#include <cmath>

#include "driftd/kernels/kernels.h"
#include "driftd/stats/summary.h"

namespace driftd {

// ---- numeric and categorical ---------------------------------------------------

void NumericSummary::init(const NumericGrid& grid) {
  slot_counts.assign(grid.slots(), 0);
  cell_sums.assign(grid.points() + 1, 0.0);
}

namespace {

// Adds n finite values in order to a summary's slot counts and cell sums
// and, with kMoments, to its power sums, extrema and count, in one pass
// with the running sums held in registers.
template <bool kMoments>
void add_in_order(NumericSummary& s, const NumericGrid& grid, const double* values, size_t n) {
  uint64_t* const counts = s.slot_counts.data();
  double* const sums = s.cell_sums.data();
  const double center = grid.center(), scale = grid.scale();
  double p0 = s.power[0], p1 = s.power[1], p2 = s.power[2], p3 = s.power[3];
  double lo = s.min, hi = s.max;
  if (kMoments && s.count == 0) lo = hi = values[0];
  constexpr size_t kSlotChunk = 256;  // slots looked up at a time (the kernel's batch)
  uint32_t slots[kSlotChunk];
  for (size_t start = 0; start < n; start += kSlotChunk) {
    const size_t m = std::min(n - start, kSlotChunk);
    const double* const chunk = values + start;
    grid.slots_of(chunk, m, slots);
    for (size_t i = 0; i < m; ++i) {
      const double v = chunk[i];
      const uint32_t slot = slots[i];
      ++counts[slot];
      if ((slot & 1) == 0) sums[slot / 2] += v;
      if constexpr (kMoments) {
        const double u = (v - center) / scale;
        const double u2 = u * u;
        p0 += u;
        p1 += u2;
        p2 += u2 * u;
        p3 += u2 * u2;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  if constexpr (kMoments) {
    s.power[0] = p0;
    s.power[1] = p1;
    s.power[2] = p2;
    s.power[3] = p3;
    s.min = lo;
    s.max = hi;
    s.count += n;
  }
}

}  // namespace

void NumericSummary::add_all(const NumericGrid& grid, const double* values, size_t n) {
  if (n > 0) add_in_order<true>(*this, grid, values, n);
}

void NumericSummary::add_slots(const NumericGrid& grid, const double* values, size_t n) {
  add_in_order<false>(*this, grid, values, n);
}

void NumericSummary::merge(const NumericSummary& o) {
  if (o.count == 0) return;
  for (size_t i = 0; i < slot_counts.size(); ++i) slot_counts[i] += o.slot_counts[i];
  for (size_t i = 0; i < cell_sums.size(); ++i) cell_sums[i] += o.cell_sums[i];
  for (int k = 0; k < 4; ++k) power[k] += o.power[k];
  if (count == 0) {
    min = o.min;
    max = o.max;
  } else {
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }
  count += o.count;
}

void CategoricalSummary::merge(const CategoricalSummary& o, size_t max_new) {
  for (size_t i = 0; i < bin_counts.size(); ++i) bin_counts[i] += o.bin_counts[i];
  present += o.present;
  new_pooled += o.new_pooled;
  for (const auto& [name, n] : o.new_categories) {
    auto it = std::find_if(new_categories.begin(), new_categories.end(),
                           [&](const auto& e) { return e.first == name; });
    if (it != new_categories.end()) {
      it->second += n;
    } else if (new_categories.size() < max_new) {
      new_categories.emplace_back(name, n);
    } else {
      new_pooled += n;
    }
  }
}

Moments moments_of(const NumericGrid& grid, const NumericSummary& s) {
  Moments m;
  m.count = s.count;
  if (s.count == 0) return m;
  const double n = static_cast<double>(s.count);
  const double mu = s.power[0] / n;
  const double e2 = s.power[1] / n, e3 = s.power[2] / n, e4 = s.power[3] / n;
  const double m2 = e2 - mu * mu;
  const double m3 = e3 - 3 * mu * e2 + 2 * mu * mu * mu;
  const double m4 = e4 - 4 * mu * e3 + 6 * mu * mu * e2 - 3 * mu * mu * mu * mu;
  m.min = s.min;
  m.max = s.max;
  m.mean = grid.center() + mu * grid.scale();
  set_spread_and_shape(m, m2, m3, m4, grid.scale());
  return m;
}

// Every open cell lies on one side of each of lo, center and hi (all three
// are grid points), so each slot's clamped values and deviations follow
// from its count and, inside [lo, hi], its sum.
stats::RobustMoments robust_of(const NumericGrid& grid, const NumericSummary& s) {
  const stats::RobustReference& ref = grid.robust();
  stats::RobustMoments w;
  w.count = s.count;
  if (s.count == 0 || grid.points() == 0) return w;
  const auto& p = grid.point();
  const size_t k = p.size();
  for (size_t slot = 0; slot < s.slot_counts.size(); ++slot) {
    const uint64_t count = s.slot_counts[slot];
    if (count == 0) continue;
    const double n = static_cast<double>(count);
    if (slot & 1) {  // exactly on point slot / 2
      const double c = std::clamp(p[slot / 2], ref.lo, ref.hi);
      w.clamped_sum += n * c;
      w.deviation_sum += n * std::fabs(c - ref.center);
      continue;
    }
    const size_t i = slot / 2;  // strictly between p[i - 1] and p[i]
    const bool below_lo = i < k && p[i] <= ref.lo;
    const bool above_hi = i > 0 && p[i - 1] >= ref.hi;
    if (below_lo || above_hi) {
      const double c = below_lo ? ref.lo : ref.hi;
      w.clamped_sum += n * c;
      w.deviation_sum += n * std::fabs(c - ref.center);
      continue;
    }
    const double sum = s.cell_sums[i];
    w.clamped_sum += sum;
    w.deviation_sum += (i < k && p[i] <= ref.center) ? n * ref.center - sum : sum - n * ref.center;
  }
  return w;
}

// KS D and W1 from the grid counts (see window.h for their error bounds).
stats::EcdfDistances ecdf_of(const NumericGrid& grid, const NumericSummary& s) {
  stats::EcdfDistances r;
  const size_t k = grid.points();
  if (s.count == 0 || grid.sample_size() == 0 || k == 0) {
    r.ks = r.wasserstein = std::nan("");
    return r;
  }
  const double n = static_cast<double>(s.count);
  const auto& p = grid.point();
  double d = 0, area = 0;
  uint64_t below = 0;  // serving values below the current position
  // Below the lowest point the baseline ECDF is 0.
  area += (static_cast<double>(s.slot_counts[0]) * p[0] - s.cell_sums[0]) / n;
  double fc_at_prev = 0;
  for (size_t i = 0; i < k; ++i) {
    below += s.slot_counts[2 * i];
    const double fc_before = static_cast<double>(below) / n;
    below += s.slot_counts[2 * i + 1];
    const double fc_at = static_cast<double>(below) / n;
    d = std::max({d, std::fabs(grid.cdf_before(i) - fc_before), std::fabs(grid.cdf_at(i) - fc_at)});
    if (i > 0) {
      const double w = p[i] - p[i - 1];
      const double fc_area =
          fc_at_prev * w + (static_cast<double>(s.slot_counts[2 * i]) * p[i] - s.cell_sums[i]) / n;
      const double d_left = grid.cdf_at(i - 1) - fc_at_prev;
      const double d_right = grid.cdf_before(i) - fc_before;
      if (d_left * d_right >= 0) {
        area += std::fabs(grid.cell_area(i) - fc_area);
      } else {
        area += w * (d_left * d_left + d_right * d_right) /
                (2 * (std::fabs(d_left) + std::fabs(d_right)));
      }
    }
    fc_at_prev = fc_at;
  }
  // Above the highest point the baseline ECDF is 1.
  area += (s.cell_sums[k] - static_cast<double>(s.slot_counts[2 * k]) * p[k - 1]) / n;
  r.ks = d;
  r.wasserstein = area;
  return r;
}

// ---- performance --------------------------------------------------------------

void PerformanceSummary::merge(const PerformanceSummary& o) {
  n += o.n;
  tp += o.tp;
  fp += o.fp;
  tn += o.tn;
  fn += o.fn;
  log_loss_sum += o.log_loss_sum;
  if (positive_slots.size() < o.positive_slots.size()) {
    positive_slots.resize(o.positive_slots.size(), 0);
    negative_slots.resize(o.negative_slots.size(), 0);
  }
  for (size_t s = 0; s < o.positive_slots.size(); ++s) {
    positive_slots[s] += o.positive_slots[s];
    negative_slots[s] += o.negative_slots[s];
  }
  abs_error_sum += o.abs_error_sum;
  sq_error_sum += o.sq_error_sum;
  y_sum += o.y_sum;
  y2_sum += o.y2_sum;
}

// ---- state --------------------------------------------------------------------

void save_column(ByteWriter& out, const ColumnSummary& c) {
  out.u64(c.missing);
  out.u64(c.type_errors);
  out.u64(c.infinite);
  const NumericSummary& n = c.numeric;
  out.u64(n.count);
  out.f64(n.min);
  out.f64(n.max);
  for (double v : n.power) out.f64(v);
  uint64_t nonzero = 0;
  for (uint64_t v : n.slot_counts) nonzero += v != 0;
  out.u64(nonzero);
  for (size_t s = 0; s < n.slot_counts.size(); ++s) {
    if (n.slot_counts[s] == 0) continue;
    out.u32(static_cast<uint32_t>(s));
    out.u64(n.slot_counts[s]);
    if ((s & 1) == 0) out.f64(n.cell_sums[s / 2]);
  }
  const CategoricalSummary& k = c.categorical;
  out.u64(k.present);
  out.u64(k.new_pooled);
  out.u64(k.bin_counts.size());
  for (uint64_t v : k.bin_counts) out.u64(v);
  out.u64(k.new_categories.size());
  for (const auto& [name, count] : k.new_categories) {
    out.str(name);
    out.u64(count);
  }
}

void save_counts(ByteWriter& out, const std::vector<uint64_t>& v) {
  uint64_t nonzero = 0;
  for (uint64_t x : v) nonzero += x != 0;
  out.u64(nonzero);
  for (size_t s = 0; s < v.size(); ++s) {
    if (v[s] == 0) continue;
    out.u32(static_cast<uint32_t>(s));
    out.u64(v[s]);
  }
}

void load_counts(ByteReader& in, std::vector<uint64_t>& v) {
  const uint64_t nonzero = in.count(12);
  for (uint64_t k = 0; k < nonzero && in.ok(); ++k) {
    const uint32_t slot = in.u32();
    const uint64_t count = in.u64();
    if (slot >= v.size()) {
      in.fail("a performance slot past the prediction grid");
      return;
    }
    v[slot] = count;
  }
}

void load_column(ByteReader& in, ColumnSummary& cs) {
  cs.missing = in.u64();
  cs.type_errors = in.u64();
  cs.infinite = in.u64();
  NumericSummary& n = cs.numeric;
  n.count = in.u64();
  n.min = in.f64();
  n.max = in.f64();
  for (double& v : n.power) v = in.f64();
  const uint64_t nonzero = in.count(12);
  for (uint64_t k = 0; k < nonzero && in.ok(); ++k) {
    const uint32_t slot = in.u32();
    const uint64_t count = in.u64();
    if (slot >= n.slot_counts.size()) {
      in.fail("a grid slot past the baseline's grid (another baseline or resolution?)");
      return;
    }
    n.slot_counts[slot] = count;
    if ((slot & 1) == 0) n.cell_sums[slot / 2] = in.f64();
  }
  CategoricalSummary& k = cs.categorical;
  k.present = in.u64();
  k.new_pooled = in.u64();
  const uint64_t nbins = in.count(8);
  if (in.ok() && nbins != k.bin_counts.size()) {
    in.fail("category bins differ from the baseline's");
    return;
  }
  for (uint64_t& v : k.bin_counts) v = in.u64();
  const uint64_t n_new = in.count(16);
  for (uint64_t e = 0; e < n_new && in.ok(); ++e) {
    std::string name = in.str();
    const uint64_t count = in.u64();
    k.new_categories.emplace_back(std::move(name), count);
  }
}

}  // namespace driftd
