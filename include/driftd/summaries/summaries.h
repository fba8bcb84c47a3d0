// Numeric summary (per feature per pane): counts on a grid of baseline
// points, from which KS, W1, PSI bins and moments are computed.
//   The grid holds the baseline's PSI cut points, G+1 order statistics of
//   the baseline sample (ranks k(m-1)/G, k = 0..G; G = ks_resolution) and
//   G/2 - 1 evenly spaced points strictly between the sample's min and max, sorted and
//   distinct. A value falls either exactly on a grid point or strictly
//   between two: 2K+1 slots for K points. Per slot a count, and per open
//   cell the sum of its values.
//   - PSI/JS/Hellinger bins: exact (every cut point is a grid point).
//   - KS D: the baseline ECDF is exact at and just before every grid point,
//     the serving ECDF too, so D is the exact maximum over those points; the
//     true D can only exceed it inside an open cell, by at most the baseline
//     mass strictly inside that cell, which is below 1/G. With the default
//     G = 512, |D - D_exact| < 0.002.
//   - W1: below the lowest and above the highest grid point it is exact
//     (from the cell sums); inside a cell it is exact unless the two ECDFs
//     cross inside it; where they do (the sign of F_b - F_c differs at the
//     cell's two ends) the cell is integrated as if both were linear in it,
//     off by at most (cell width) * (serving + baseline mass in the cell).
//     The evenly spaced points keep such cells narrow in sparse tails.
//   - Moments: power sums of (v - baseline mean) / baseline std, so that
//     skewness and kurtosis keep their precision for data near the baseline.
//
// Performance summary (per pane, of the labels joined in it): the confusion
// counts at the threshold, the log-loss sum, per-class counts on the
// prediction grid for ROC AUC, and error sums for regression.
// Categorical summary: counts per baseline bin (categories, then 'other'),
// and per new category up to max_new_categories names; rows of further new
// names are counted in one pooled new bin.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "driftd/baseline/baseline.h"
#include "driftd/common/binary_io.h"
#include "driftd/kernels/kernels.h"
#include "driftd/stats/robust.h"
#include "driftd/stats/summary.h"
#include "driftd/stats/two_sample.h"

namespace driftd {

class NumericGrid {
 public:
  NumericGrid() = default;
  NumericGrid(const ColumnProfile& base, size_t resolution);

  size_t points() const { return point_.size(); }
  size_t slots() const { return 2 * point_.size() + 1; }
  // Slot of a finite value: 2i+1 when it equals point i, else 2i where i is
  // the number of points below it.
  uint32_t slot_of(double v) const;
  // The same by binary search over every point: the reference slot_of is
  // tested against.
  uint32_t slot_of_by_search(double v) const;
  // slot_of for n values at once, by the grid_slots kernel (SIMD gathers).
  void slots_of(const double* values, size_t n, uint32_t* slots) const {
    kernels::grid_slots(index(), values, n, slots);
  }
  // The grid as the kernel reads it (views into this grid's arrays).
  kernels::GridIndex index() const {
    kernels::GridIndex g;
    g.points = padded_point_.data();
    g.k = point_.size();
    if (!bucket_lo_.empty()) {
      g.bucket_lo = bucket_lo_.data();
      g.buckets = bucket_lo_.size() - 1;
      g.origin = index_origin_;
      g.scale = index_scale_;
      g.bit_shift = index_bit_shift_;
    }
    return g;
  }
  uint32_t bin_of_slot(uint32_t slot) const { return slot_bin_[slot]; }
  size_t bins() const { return bins_; }
  double center() const { return center_; }
  // The baseline's winsorized location and spread; their clamp points and
  // median are points of the grid, so robust_of is exact.
  const stats::RobustReference& robust() const { return robust_; }
  double scale() const { return scale_; }
  uint64_t sample_size() const { return sample_size_; }
  const std::vector<double>& point() const { return point_; }
  double cdf_at(size_t i) const { return cdf_at_[i]; }
  double cdf_before(size_t i) const { return cdf_before_[i]; }
  double cell_area(size_t i) const { return cell_area_[i]; }

 private:
  std::vector<double> point_;       // K sorted distinct points
  std::vector<double> cdf_at_;      // F_b(p_i): share of the sample <= p_i
  std::vector<double> cdf_before_;  // F_b(p_i-): share < p_i
  std::vector<double> cell_area_;   // integral of F_b over (p_{i-1}, p_i), i in 1..K-1
  std::vector<uint32_t> slot_bin_;  // PSI bin of each slot
  // Equal-width bucket index over the points, as kernels::GridIndex reads
  // it (see build_index).
  void build_index();
  double index_origin_ = 0, index_scale_ = 0;
  int index_bit_shift_ = -1;          // >= 0: buckets in the bit pattern (GridIndex)
  std::vector<double> padded_point_;  // the points, then kGridWindow +inf
  std::vector<int32_t> bucket_lo_;    // empty: no index (every value searched)
  size_t bins_ = 1;
  double center_ = 0, scale_ = 1;
  stats::RobustReference robust_;
  uint64_t sample_size_ = 0;
};

struct NumericSummary {
  std::vector<uint64_t> slot_counts;  // 2K+1
  std::vector<double> cell_sums;      // K+1: values strictly between points
  double power[4] = {0, 0, 0, 0};     // sums of u, u^2, u^3, u^4
  uint64_t count = 0;                 // finite values
  double min = 0, max = 0;

  void init(const NumericGrid& grid);
  void add(const NumericGrid& grid, double v) { add_all(grid, &v, 1); }
  // Adds finite values in order: the same sums as add() one at a time, with
  // the running sums held in registers.
  void add_all(const NumericGrid& grid, const double* values, size_t n);
  // add_all's slot counts and cell sums only (not the power sums, extrema
  // and count, which the caller adds: ModelMonitor::apply_batch adds them
  // for several columns at once with kernels::column_moments).
  void add_slots(const NumericGrid& grid, const double* values, size_t n);
  void merge(const NumericSummary& other);
};

struct CategoricalSummary {
  std::vector<uint64_t> bin_counts;  // CategoryBins order
  std::vector<std::pair<std::string, uint64_t>> new_categories;
  uint64_t new_pooled = 0;  // rows of new categories past the name cap
  uint64_t present = 0;

  void merge(const CategoricalSummary& other, size_t max_new);
};

struct ColumnSummary {
  uint64_t missing = 0, type_errors = 0, infinite = 0;
  NumericSummary numeric;
  CategoricalSummary categorical;
};

// The performance of joined (prediction, label) pairs, mergeable.
struct PerformanceSummary {
  uint64_t n = 0;
  // classification
  uint64_t tp = 0, fp = 0, tn = 0, fn = 0;
  double log_loss_sum = 0;
  std::vector<uint64_t> positive_slots, negative_slots;  // on the prediction grid
  // regression (label shifted by the baseline's label mean)
  double abs_error_sum = 0, sq_error_sum = 0, y_sum = 0, y2_sum = 0;

  void merge(const PerformanceSummary& other);
};

// The comparison inputs of a window's numeric summary, each paired with
// the batch check's exact computation on the sample and held to it by the
// unit tests (tests/unit/window/window_test.cc, expect_matches_batch):
// moments from the power sums (pair: compute_moments, summary.h; one
// definition of spread and shape, set_spread_and_shape);
Moments moments_of(const NumericGrid& grid, const NumericSummary& s);
// KS D and W1 from the grid counts, within the bounds stated above (pair:
// stats::ecdf_distances, stats/two_sample.h).
stats::EcdfDistances ecdf_of(const NumericGrid& grid, const NumericSummary& s);
// The winsorized sums, exactly (up to the order of additions) what
// stats::robust_moments gives on the values (pair: stats/robust.h).
stats::RobustMoments robust_of(const NumericGrid& grid, const NumericSummary& s);

// A column summary in the checkpoint (slots and counts sparse: only the
// nonzero ones), read back against the grid and bins of the same baseline.
void save_column(ByteWriter& out, const ColumnSummary& c);
void load_column(ByteReader& in, ColumnSummary& cs);
// Sparse counts (a performance summary's per-class slots).
void save_counts(ByteWriter& out, const std::vector<uint64_t>& v);
void load_counts(ByteReader& in, std::vector<uint64_t>& v);

}  // namespace driftd
