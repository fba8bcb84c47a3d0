// The numeric grid: the baseline points a window's numeric summaries count
// on (include/driftd/summaries/summaries.h).
#include "driftd/summaries/summaries.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace driftd {

NumericGrid::NumericGrid(const ColumnProfile& base, size_t resolution) {
  const NumericProfile& np = base.numeric;
  const NumberVector& s = np.sample;
  const size_t m = s.size();
  sample_size_ = m;
  if (np.moments.count > 0) {
    center_ = np.moments.mean;
    scale_ = np.moments.std > 0 ? np.moments.std : 1.0;
  }
  std::vector<double> pts(np.cut_points.begin(), np.cut_points.end());
  robust_ = stats::robust_reference(s);
  if (m > 0) {
    // Already among the order statistics below when the resolution is a
    // multiple of 256 (stats/robust.h).
    pts.insert(pts.end(), {robust_.lo, robust_.center, robust_.hi});
    const size_t g = std::max<size_t>(resolution, 1);
    for (size_t k = 0; k <= g; ++k) {
      // Rank k (m-1) / G, exact in integers (k <= G <= 65536 and m < 2^40:
      // no overflow).
      const size_t rank = static_cast<size_t>(static_cast<uint64_t>(k) * (m - 1) / g);
      pts.push_back(s[rank]);
    }
    // And G/2 evenly spaced points between the sample's min and max, so that
    // no cell is wide where the baseline is sparse (heavy tails): W1 is
    // approximated only inside cells where the two ECDFs cross, and its error
    // there grows with the cell's width.
    const double lo = s.front(), hi = s.back();
    const size_t even = g / 2;
    if (hi > lo && std::isfinite(hi - lo)) {
      for (size_t k = 1; k < even; ++k) {
        pts.push_back(lo + (hi - lo) * static_cast<double>(k) / static_cast<double>(even));
      }
    }
  }
  std::sort(pts.begin(), pts.end());
  pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
  point_ = std::move(pts);
  const size_t k_points = point_.size();
  const double dm = static_cast<double>(m);
  cdf_at_.resize(k_points);
  cdf_before_.resize(k_points);
  cell_area_.assign(k_points + 1, 0.0);
  // Both sorted: one merge walk counts the values below and through each
  // point. (Searching for each point, even galloping from the previous
  // one, mispredicted several branches a point: the grids of a 20-column
  // baseline of 100,000 values took 4-6 ms of the daemon's start-up. The
  // walk mispredicts about twice a point.)
  const double* const first = s.data();
  std::vector<size_t> below(k_points), through(k_points);  // values < p_i; values <= p_i
  size_t j = 0;
  for (size_t i = 0; i < k_points; ++i) {
    const double p = point_[i];
    while (j < m && first[j] < p) ++j;
    below[i] = j;
    while (j < m && !(p < first[j])) ++j;
    through[i] = j;
    cdf_before_[i] = m ? static_cast<double>(below[i]) / dm : 0.0;
    cdf_at_[i] = m ? static_cast<double>(through[i]) / dm : 0.0;
  }
  // Integral of F_b over (p_{i-1}, p_i): F_b(p_{i-1}) w plus, for each
  // sample value s strictly inside, (p_i - s) / m. Each cell's sum is one
  // chain of adds in sample order; four cells are summed side by side so
  // that their chains overlap (one alone waits on each add's latency: it
  // was most of the grids' start-up). A cell out of values adds +0, which
  // leaves its sum (never -0: every term is positive) unchanged.
  constexpr size_t kSide = 4;
  for (size_t i = 1; i < k_points && m > 0; i += kSide) {
    const size_t cells = std::min(kSide, k_points - i);
    double sum[kSide] = {}, p[kSide] = {};
    size_t begin[kSide] = {}, len[kSide] = {}, longest = 0;
    for (size_t k = 0; k < cells; ++k) {
      p[k] = point_[i + k];
      begin[k] = through[i + k - 1];
      len[k] = below[i + k] - begin[k];
      longest = std::max(longest, len[k]);
    }
    for (size_t t = 0; t < longest; ++t) {
      for (size_t k = 0; k < kSide; ++k) {
        const double term = p[k] - first[std::min(begin[k] + t, m - 1)];
        sum[k] += t < len[k] ? term : 0.0;
      }
    }
    for (size_t k = 0; k < cells; ++k) {
      cell_area_[i + k] = cdf_at_[i + k - 1] * (p[k] - point_[i + k - 1]) + sum[k] / dm;
    }
  }
  build_index();
  // PSI bin of a value = number of cut points <= it; every cut is a point.
  const auto& cuts = np.cut_points;
  bins_ = cuts.size() + 1;
  slot_bin_.resize(slots());
  for (size_t i = 0; i <= k_points; ++i) {
    if (i < k_points) {
      slot_bin_[2 * i] = static_cast<uint32_t>(
          std::lower_bound(cuts.begin(), cuts.end(), point_[i]) - cuts.begin());
      slot_bin_[2 * i + 1] = static_cast<uint32_t>(
          std::upper_bound(cuts.begin(), cuts.end(), point_[i]) - cuts.begin());
    } else {
      slot_bin_[2 * i] = static_cast<uint32_t>(cuts.size());
    }
  }
}

uint32_t NumericGrid::slot_of_by_search(double v) const {
  uint32_t slot = 0;
  kernels::scalar::grid_slots(index(), &v, 1, &slot);
  return slot;
}

uint32_t NumericGrid::slot_of(double v) const {
  return kernels::grid_slot(index(), v);
}

void NumericGrid::build_index() {
  // Equal-width buckets over [first point, last point]. A value's number of
  // points below it is then found among the few points of its bucket.
  const size_t k = point_.size();
  bucket_lo_.clear();
  padded_point_ = point_;
  padded_point_.resize(k + kernels::kGridWindow, HUGE_VAL);
  if (k < 2) return;
  // 4 buckets a point: with 2 points a window, fewer than 0.1% of the
  // benchmark's values fall in a crowded bucket.
  const size_t buckets = std::min<size_t>(4 * k, 1 << 15);
  kernels::GridIndex g;
  g.points = padded_point_.data();
  g.k = k;
  g.buckets = buckets;
  g.origin = point_.front();
  // Each point's bucket by the kernels' own arithmetic (kernels::grid_bucket),
  // so that a value equal to a point is looked up in that point's bucket.
  std::vector<uint32_t> in_bucket(buckets + 1);
  auto count_points = [&] {
    std::fill(in_bucket.begin(), in_bucket.end(), 0);
    for (const double p : point_) ++in_bucket[kernels::grid_bucket(g, p)];
    size_t crowded = 0;  // points in buckets that take the binary search
    for (const uint32_t n : in_bucket) crowded += n > kernels::kGridWindow ? n : 0;
    return crowded;
  };
  // Buckets of equal width in the value...
  size_t crowded = SIZE_MAX;
  const double range = point_.back() - point_.front();
  const double scale = static_cast<double>(buckets) / range;
  if (std::isfinite(range) && std::isfinite(scale)) {
    g.scale = scale;
    crowded = count_points();
  }
  // ...or, for positive points, in the bit pattern (about even in log v),
  // when fewer points crowd there: the grid's points are mostly quantiles,
  // so that is about the share of values a binary search would take.
  if (point_.front() > 0 && std::isfinite(point_.back())) {
    const int64_t key_range =
        std::bit_cast<int64_t>(point_.back()) - std::bit_cast<int64_t>(point_.front());
    const int width = static_cast<int>(std::bit_width(static_cast<uint64_t>(key_range)));
    kernels::GridIndex by_bits = g;
    by_bits.bit_shift = std::max(0, width - 52);
    by_bits.scale =
        static_cast<double>(buckets) / static_cast<double>(key_range >> by_bits.bit_shift);
    std::swap(g, by_bits);
    const size_t crowded_by_bits = count_points();
    if (crowded_by_bits < crowded) {
      crowded = crowded_by_bits;
    } else {
      std::swap(g, by_bits);
    }
  }
  if (crowded == SIZE_MAX) return;
  if (g.bit_shift < 0) count_points();  // in_bucket holds the last candidate's
  index_origin_ = g.origin;
  index_scale_ = g.scale;
  index_bit_shift_ = g.bit_shift;
  bucket_lo_.assign(buckets + 1, 0);
  size_t below = 0;
  for (size_t b = 0; b <= buckets; ++b) {
    bucket_lo_[b] = in_bucket[b] <= kernels::kGridWindow ? static_cast<int32_t>(below) : -1;
    below += in_bucket[b];
  }
}

}  // namespace driftd
