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
// The summaries a pane keeps, and what is exact in what they give, are in
// driftd/summaries/summaries.h.
// Second reference: a model may also be compared with another baseline of
//   the same schema (e.g. the last healthy week of serving data, built with
//   `driftd baseline build`). A second monitor on that baseline gets every
//   event the first adds (the same cells, before the same window decision),
//   so its windows have the same bounds and rows; each window result
//   carries both reports. It doubles the memory and per-event work of its
//   model; labels and performance stay with the training baseline.
// Delayed labels: a prediction with an id waits in a bounded table (id hash
//   -> score and time) until its label arrives, at most label_ttl of event
//   time (then it expires) and at most max_pending entries (the oldest is
//   evicted); both are counted. A joined (score, label) pair is added to the
//   pane of the label's event time, so a window reports the performance of
//   the labels that arrived in it (and label drift against the baseline's
//   label column). Per pane, mergeable: the confusion counts at the
//   threshold, the log-loss sum, per-class counts on the prediction grid
//   for ROC AUC, and error sums for regression. Ids are keyed by XXH3-64:
//   with 1e6 pending ids a false join has a probability below 1e-7.
//   - accuracy, precision, recall, f1, log_loss, mae, rmse: exact (sums).
//   - r2: from sums of the label shifted by the baseline's label mean.
//   - roc_auc: pairs of a positive and a negative in the same grid slot
//     count one half, as ties do; exact when no open cell holds both
//     classes, else off by at most half their pair share (below 1/G for
//     scores spread like the baseline's).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/baseline/baseline.h"
#include "driftd/check/check.h"
#include "driftd/common/binary_io.h"
#include "driftd/common/histogram.h"
#include "driftd/io/json_number.h"
#include "driftd/io/same_bytes.h"
#include "driftd/kernels/kernels.h"
#include "driftd/stats/performance.h"
#include "driftd/summaries/summaries.h"
#include "driftd/window/pending_labels.h"

namespace driftd {

struct Pane {
  uint64_t rows = 0;
  std::vector<ColumnSummary> columns;  // ModelMonitor::columns() order
  uint64_t labels = 0;                 // labels joined into this pane
  ColumnSummary label;                 // their values (label drift)
  PerformanceSummary performance;
  // The rows' reconstruction errors (the baseline's multivariate model).
  stats::ReconstructionSums multivariate;
};

struct LabelJoinSettings {
  int64_t ttl_ms = 6 * 3600 * 1000;  // a prediction waits this long (event time)
  size_t max_pending = 100000;       // predictions waiting at most (oldest evicted)
  double threshold = 0.5;            // classification: class = score >= threshold
};

enum class LabelOutcome { kJoined, kUnmatched, kLate };

// Event times (ms since the epoch) and counts driftd takes are within this
// (the decoder refuses others; a loaded state is held to it too).
inline constexpr int64_t kMaxEventTime = 9'000'000'000'000'000;

struct WindowSettings {
  enum class Kind { kTime, kCount };
  Kind kind = Kind::kTime;
  int64_t size = 300000;         // ms, or events for count windows
  int64_t step = 300000;         // == size: tumbling
  int64_t allowed_lateness = 0;  // ms; time windows only
  // ms; time windows only: events dated further ahead of the wall clock are
  // refused (future_timestamp), so that one bad clock cannot move the
  // watermark past every later event. 0: no bound.
  int64_t max_future = 3'600'000;
};

struct MonitorSettings {
  WindowSettings window;
  LabelJoinSettings labels;
  size_t ks_resolution = 512;
  size_t max_new_categories = 1000;
  DriftRules rules;
};

// One evaluated window.
struct WindowResult {
  std::string id;              // stable: model, version, kind and bounds
  int64_t start = 0, end = 0;  // [start, end): ms since epoch, or event sequence numbers
  CheckReport report;
  // The same rows against the second reference baseline, when configured.
  std::shared_ptr<const CheckReport> reference;
  std::string reference_name;
  // Seconds the monitor spent computing it (not in the windows log).
  double evaluation_seconds = 0;
};

// One value of one column of the event being staged.
// kBin: a categorical cell already matched to its baseline bin (staged by
// stage_json_category; no text is staged).
// kNumberText: a numeric batch cell staged as its JSON number's text, read
// with the rest of its column when the batch is applied (apply_batch).
enum class CellState : uint8_t { kAbsent, kNumber, kText, kNull, kBadType, kBin, kNumberText };

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
  // The same for the key at `position` in an event's features object.
  // Producers write keys in the same order event after event, so the key
  // seen at this position last time is compared first (one 16-byte compare;
  // the key lies in a padded buffer, see PaddedKey); the hash lookup runs
  // only when it differs. Not part of the state.
  // The same with the key still raw: `raw` points after the opening quote
  // of the key in a padded JSON buffer, and full_key(std::string_view&)
  // reads the whole key (false: malformed), needed only when the cached key
  // is not the one there.
  template <class FullKey>
  int column_at_json(size_t position, const char* raw, FullKey&& full_key, bool* malformed) {
    int column = -1;
    if (key_order_.find_json(position, raw, &column)) return column;
    std::string_view key;
    if (!full_key(key)) {
      *malformed = true;
      return -1;
    }
    return column_at(position, key);
  }
  int column_at(size_t position, std::string_view key) {
    int column = -1;
    if (key_order_.find(position, key, &column)) return column;
    column = column_of(key);
    key_order_.learn(position, key, column);
    return column;
  }
  int prediction_column() const { return prediction_column_; }
  // Numeric columns are the ones with a slot in the numeric batch.
  bool is_numeric(int column) const { return batch_at_[static_cast<size_t>(column)] >= 0; }

  // Staging of one event: set cells, then commit. A numeric column's cell
  // is written straight into its slot of the batch (see batch_state_).
  void stage_number(int column, double v) {
    staged_state(column) = CellState::kNumber;
    staged_number(column) = v;
  }
  void stage_text(int column, std::string_view s) {
    staged_state(column) = CellState::kText;
    text_[column] = s;
  }
  void stage_null(int column) { staged_state(column) = CellState::kNull; }
  // A numeric cell as the text of a JSON number: the kNumberTextBytes bytes
  // from the token's first, which must hold the token and the byte that
  // ends it (',', '}', ']' or whitespace). The number is read when the
  // batch is applied, together with its column's other numbers of the
  // batch (read_number_texts): reading it here, inside the scan of the
  // event, cost more than the whole rest of a number's work. False, with
  // nothing staged, for a column outside the batch (stage it as a number).
  bool stage_number_text(int column, const char* token) {
    const int32_t at = batch_at_[static_cast<size_t>(column)];
    if (at < 0) return false;
    const size_t cell = static_cast<size_t>(at) + batch_rows_;
    batch_state_[cell] = CellState::kNumberText;
    std::memcpy(&batch_text_[cell * kNumberTextBytes], token, kNumberTextBytes);
    return true;
  }
  // A categorical cell from the raw JSON string at `raw` (just after its
  // opening quote, in a padded buffer: CategoryBins::bin_of_json_string),
  // staged with its bin when the string is plainly a baseline category.
  // False (nothing staged) otherwise: the caller stages the text.
  bool stage_json_category(int column, const char* raw) {
    const CategoryBins* bins = bins_[static_cast<size_t>(column)].get();
    if (bins == nullptr) return false;
    const int bin = bins->bin_of_json_string(raw);
    if (bin < 0) return false;
    state_[column] = CellState::kBin;
    bin_[column] = static_cast<uint32_t>(bin);
    return true;
  }
  // The key of an event id for the label join: XXH3-64, never 0 (0: no id).
  static uint64_t id_key(std::string_view id);
  // The staged event's id key (0: none); its prediction then waits for a label.
  void stage_id_key(uint64_t key) { staged_id_ = key; }
  void stage_bad_type(int column) { staged_state(column) = CellState::kBadType; }
  // Forgets the staged event's cells (a rejected or late event).
  void clear_stage();

  using OnWindow = std::function<void(WindowResult&&)>;
  // Adds the staged event at event time `ts_ms` (ignored by count windows),
  // closing every window the event's arrival completes. Returns false when
  // the event was too late for any open window (counted, not added).
  bool commit(int64_t ts_ms, const OnWindow& on_window);
  // Closes every window that holds events (end of a bounded input).
  void flush(const OnWindow& on_window);

  // Joins a label to its waiting prediction and adds the pair to the pane
  // of `ts_ms` (the label's event time; without one, the prediction's).
  LabelOutcome join_label(uint64_t id_key, double label, std::optional<int64_t> ts_ms);
  // The label join works when the baseline names a numeric prediction.
  bool joins_labels() const { return prediction_column_ >= 0 && prediction_numeric_; }

  uint64_t events() const { return events_; }
  uint64_t late_events() const { return late_; }
  struct LabelCounters {
    uint64_t joined = 0, unmatched = 0, late = 0, expired = 0, evicted = 0;
    // Event time from a prediction to its label, in seconds, for joined
    // labels that carry a time (time windows). Since start: not in the
    // checkpoint (a restart resets it, as Prometheus expects of counters).
    Histogram lag_seconds{kLabelLagBounds};
  };
  const LabelCounters& label_counters() const { return label_counters_; }
  size_t pending_labels() const { return pending_.size(); }
  int64_t watermark() const { return watermark_; }
  // The largest event time seen (ms since epoch; time windows), 0 before any.
  int64_t newest_event_time() const { return max_time_; }

  // Not const: numeric cells still batched are added to their panes first.
  void save(ByteWriter& out);
  // Restores state saved by save() with the same baseline and settings
  // (and the same reference).
  bool load(ByteReader& in);

  // Compares every window with a second baseline too (see the top of this
  // file). Its schema must match (check_reference_schema). Call before the
  // first event.
  void attach_reference(std::shared_ptr<const Baseline> reference, std::string name);
  const ModelMonitor* reference() const { return reference_.get(); }

 private:
  Pane& pane_for(int64_t index);
  bool commit_own(int64_t ts_ms, const OnWindow& on_window);
  void add_to_pane(Pane& pane);
  void close_through(int64_t watermark, const OnWindow& on_window);
  WindowResult evaluate(int64_t start, int64_t end);
  FeatureResult compare_summary(const ColumnProfile& base, const NumericGrid& grid,
                                const ColumnSummary& cs, uint64_t rows) const;
  Performance performance_of(const PerformanceSummary& p) const;
  int64_t pane_of(int64_t t) const;

  std::shared_ptr<const Baseline> baseline_;
  MonitorSettings settings_;
  std::vector<const ColumnProfile*> columns_;
  std::vector<NumericGrid> grids_;  // per column (empty for categoricals)
  std::vector<std::unique_ptr<CategoryBins>> bins_;
  StringIndex column_index_;
  int prediction_column_ = -1;
  static constexpr size_t kMaxKeyOrder = 4096;
  KeysByPosition<int> key_order_{kMaxKeyOrder};  // column_at's cache

  // The staged event's cells: categorical columns here; numeric columns in
  // the batch's next row (batch_at_), so committing them copies nothing.
  std::vector<CellState> state_;
  std::vector<double> number_;
  std::vector<std::string_view> text_;
  std::vector<uint32_t> bin_;      // kBin cells: the bin
  std::vector<int32_t> batch_at_;  // per column: k * kBatchStride for numeric column k, else -1
  CellState& staged_state(int column) {
    const int32_t at = batch_at_[static_cast<size_t>(column)];
    return at >= 0 ? batch_state_[static_cast<size_t>(at) + batch_rows_] : state_[column];
  }
  double& staged_number(int column) {
    const int32_t at = batch_at_[static_cast<size_t>(column)];
    return at >= 0 ? batch_number_[static_cast<size_t>(at) + batch_rows_] : number_[column];
  }
  uint64_t staged_id_ = 0;  // XXH3-64 of the staged event's id; 0: none

  // Numeric cells of committed events, not yet in their panes. They are
  // added a column at a time (apply_batch), so one column's grid and counts
  // stay in cache across many events instead of every column's tables being
  // touched by every event (with 20 columns these outgrow L2, and each
  // event paid cache misses in each). Categorical cells go in at once: their
  // text lives only as long as the event's bytes. A column's values are
  // added in arrival order, so every sum is the one unbatched adds give.
  // Applied before a window closes, before save() and by flush(). Rows not
  // yet committed hold kAbsent cells (the next row is the staged event's).
  static constexpr size_t kBatchRows = 256;
  // A column's cells lie kBatchStride apart: one cache line more than the
  // rows, so that the columns of one row fall in different L1 sets (at a
  // 2 KiB stride every other column shared sets, and staging an event's
  // 20 numbers missed L1 about 15 times an event under cachegrind).
  static constexpr size_t kBatchStride = kBatchRows + 8;
  std::vector<uint32_t> numeric_columns_;      // columns with grids, in order
  std::vector<uint32_t> categorical_columns_;  // the others
  std::vector<Pane*> batch_pane_;              // per row; panes are map nodes (stable)
  std::vector<CellState> batch_state_;         // [numeric column k * kBatchStride + row]
  std::vector<double> batch_number_;           // same layout
  std::vector<char> batch_text_;               // kNumberTextBytes a cell, same layout, then padding
  std::vector<uint8_t> batch_all_text_;        // per numeric column: every cell of the batch a text
  // The moments of the numeric columns a run adds at once (apply_batch):
  // lane j is summary[j]'s, sized to a multiple of 8 lanes (padding lanes
  // read column 0's rows and are never written back).
  struct MomentLanes {
    std::vector<double> p0, p1, p2, p3, lo, hi, center, scale;
    std::vector<int64_t> offset;
    std::vector<NumericSummary*> summary;
  } moment_lanes_;
  // Turns a staged kNumberText cell into kNumber (or kBadType): for the
  // readers of a staged event's cells (the label join, a second reference).
  void resolve_staged_text(int column);
  static void read_number_texts(CellState* st, double* number, const char* text, size_t rows);
  size_t batch_rows_ = 0;
  void apply_batch();
  // The multivariate test (stats/reconstruction.h), when the baseline has
  // its model: each model column's offset in the batch, and room for one
  // run's standardized values and row errors.
  const stats::ReconstructionModel* multivariate_ = nullptr;
  std::vector<size_t> multivariate_at_;
  // Per numeric column: the run being added had only finite numbers.
  std::vector<uint8_t> run_plain_;
  std::vector<double> multivariate_z_, multivariate_errors_;
  // Adds the errors of the batch's rows [begin, end) (their numbers read).
  void add_multivariate(size_t begin, size_t end, stats::ReconstructionSums& out);

  // Label join.
  bool prediction_numeric_ = false;
  const ColumnProfile* label_profile_ = nullptr;  // the baseline's label column
  NumericGrid label_grid_;
  std::unique_ptr<CategoryBins> label_bins_;
  Task task_ = Task::kClassification;
  double label_center_ = 0;  // the baseline label mean (regression sums' shift)
  PendingLabels pending_;
  LabelCounters label_counters_;

  std::map<int64_t, Pane> panes_;  // by pane index (time / step)
  bool started_ = false;
  int64_t next_end_ = 0;   // end of the next window to close
  int64_t max_time_ = 0;   // largest event time (or count) seen
  int64_t watermark_ = 0;  // max_time - allowed lateness
  uint64_t events_ = 0, late_ = 0;

  // Second reference: a monitor on the other baseline, fed the same cells.
  std::unique_ptr<ModelMonitor> reference_;
  std::string reference_name_;
  std::vector<uint32_t> reference_column_;       // our column -> its column
  std::vector<WindowResult> reference_results_;  // its closes, until ours take them
  void feed_reference(int64_t ts_ms);
  void take_reference(WindowResult& w);
};

// A second reference must hold every column the baseline monitors, with the
// same kind; the error names the first that does not.
Status check_reference_schema(const Baseline& baseline, const Baseline& reference,
                              const std::string& reference_source);

}  // namespace driftd
