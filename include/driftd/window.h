// Streaming windows: per model, panes of mergeable summaries that merge into
// tumbling or sliding windows over event time (or event count), evaluated
// with the same detectors as the batch check when a window closes.
//
// Invariants (what makes restarts exact):
// - A monitor's state is a pure function of the sequence of events it was
//   given: window closes are decided per event (never per batch), so the
//   same events in the same order give the same windows however they were
//   batched or interrupted.
// - Everything a monitor holds is serialized by save() and restored by
//   load(); nothing depends on wall-clock time.
//
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
// Categorical summary: counts per baseline bin (categories, then 'other'),
// and per new category up to max_new_categories names; rows of further new
// names are counted in one pooled new bin.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/baseline.h"
#include "driftd/binary_io.h"
#include "driftd/check.h"

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
  uint32_t bin_of_slot(uint32_t slot) const { return slot_bin_[slot]; }
  size_t bins() const { return bins_; }
  double center() const { return center_; }
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
  // Equal-width bucket index over the points (see build_index).
  void build_index();
  std::vector<uint32_t> bucket_first_;
  double index_origin_ = 0, index_scale_ = 0;
  size_t bins_ = 1;
  double center_ = 0, scale_ = 1;
  uint64_t sample_size_ = 0;
};

struct NumericSummary {
  std::vector<uint64_t> slot_counts;  // 2K+1
  std::vector<double> cell_sums;      // K+1: values strictly between points
  double power[4] = {0, 0, 0, 0};     // sums of u, u^2, u^3, u^4
  uint64_t count = 0;                 // finite values
  double min = 0, max = 0;

  void init(const NumericGrid& grid);
  void add(const NumericGrid& grid, double v);
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

struct Pane {
  uint64_t rows = 0;
  std::vector<ColumnSummary> columns;  // ModelMonitor::columns() order
};

struct WindowSettings {
  enum class Kind { kTime, kCount };
  Kind kind = Kind::kTime;
  int64_t size = 300000;         // ms, or events for count windows
  int64_t step = 300000;         // == size: tumbling
  int64_t allowed_lateness = 0;  // ms; time windows only
};

struct MonitorSettings {
  WindowSettings window;
  size_t ks_resolution = 512;
  size_t max_new_categories = 1000;
  DriftRules rules;
};

// One evaluated window.
struct WindowResult {
  std::string id;              // stable: model, version, kind and bounds
  int64_t start = 0, end = 0;  // [start, end): ms since epoch, or event sequence numbers
  CheckReport report;
};

// The core report shape plus model, window id, bounds and row count, on one line.
std::string window_json_line(const WindowResult& w, const WindowSettings& settings);

// One value of one column of the event being staged.
enum class CellState : uint8_t { kAbsent, kNumber, kText, kNull, kBadType };

class ModelMonitor {
 public:
  ModelMonitor(std::shared_ptr<const Baseline> baseline, MonitorSettings settings);

  const Baseline& baseline() const { return *baseline_; }
  const MonitorSettings& settings() const { return settings_; }
  // Profiled baseline columns, in report order (ids, timestamps and the
  // label excluded).
  const std::vector<const ColumnProfile*>& columns() const { return columns_; }
  // Column index for an event field name, or -1.
  int column_of(std::string_view name) const;
  int prediction_column() const { return prediction_column_; }

  // Staging of one event: set cells, then commit.
  void stage_number(int column, double v) {
    state_[column] = CellState::kNumber;
    number_[column] = v;
  }
  void stage_text(int column, std::string_view s) {
    state_[column] = CellState::kText;
    text_[column] = s;
  }
  void stage_null(int column) { state_[column] = CellState::kNull; }
  void stage_bad_type(int column) { state_[column] = CellState::kBadType; }
  void clear_stage();

  using OnWindow = std::function<void(WindowResult&&)>;
  // Adds the staged event at event time `ts_ms` (ignored by count windows),
  // closing every window the event's arrival completes. Returns false when
  // the event was too late for any open window (counted, not added).
  bool commit(int64_t ts_ms, const OnWindow& on_window);
  // Closes every window that holds events (end of a bounded input).
  void flush(const OnWindow& on_window);

  uint64_t events() const { return events_; }
  uint64_t late_events() const { return late_; }
  int64_t watermark() const { return watermark_; }

  void save(ByteWriter& out) const;
  // Restores state saved by save() with the same baseline and settings.
  bool load(ByteReader& in);

 private:
  Pane& pane_for(int64_t index);
  void add_to_pane(Pane& pane);
  void close_through(int64_t watermark, const OnWindow& on_window);
  WindowResult evaluate(int64_t start, int64_t end);
  int64_t pane_of(int64_t t) const;

  std::shared_ptr<const Baseline> baseline_;
  MonitorSettings settings_;
  std::vector<const ColumnProfile*> columns_;
  std::vector<NumericGrid> grids_;  // per column (empty for categoricals)
  std::vector<std::unique_ptr<CategoryBins>> bins_;
  StringIndex column_index_;
  int prediction_column_ = -1;

  std::vector<CellState> state_;
  std::vector<double> number_;
  std::vector<std::string_view> text_;

  std::map<int64_t, Pane> panes_;  // by pane index (time / step)
  bool started_ = false;
  int64_t next_end_ = 0;   // end of the next window to close
  int64_t max_time_ = 0;   // largest event time (or count) seen
  int64_t watermark_ = 0;  // max_time - allowed lateness
  uint64_t events_ = 0, late_ = 0;
};

}  // namespace driftd
