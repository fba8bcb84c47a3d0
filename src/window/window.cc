// The model monitor: staging and batching events, panes, window closes,
// the label join and its state (the summaries it keeps are in
// src/summaries/). Past 600 lines because its event path, its window
// decisions and its save/load must be read together: they are one
// invariant (a state that is a pure function of the events given).
#include "driftd/window/window.h"
#include "driftd/check/report.h"

#include "driftd/io/json_number.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <xxhash.h>

#include "driftd/detectors/detector.h"
#include "driftd/io/json_writer.h"
#include "driftd/stats/summary.h"

namespace driftd {

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

// ---- ModelMonitor -------------------------------------------------------------

ModelMonitor::ModelMonitor(std::shared_ptr<const Baseline> baseline, MonitorSettings settings)
    : baseline_(std::move(baseline)), settings_(std::move(settings)) {
  for (const auto& c : baseline_->columns) {
    // Labels arrive later, as their own events: the label join summarizes
    // them apart (Pane::label), in the window of their arrival.
    if (c.role == ColumnRole::kId || c.role == ColumnRole::kTimestamp ||
        c.role == ColumnRole::kLabel) {
      continue;
    }
    const int index = static_cast<int>(columns_.size());
    columns_.push_back(&c);
    column_index_.emplace(c.name, static_cast<uint32_t>(index));
    if (c.role == ColumnRole::kPrediction) prediction_column_ = index;
    if (c.kind == ColumnKind::kNumeric) {
      grids_.emplace_back(c, settings_.ks_resolution);
      bins_.emplace_back(nullptr);
    } else {
      grids_.emplace_back();
      bins_.push_back(std::make_unique<CategoryBins>(c.categorical));
    }
  }
  state_.assign(columns_.size(), CellState::kAbsent);
  number_.assign(columns_.size(), 0.0);
  text_.assign(columns_.size(), {});
  bin_.assign(columns_.size(), 0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    const bool numeric = columns_[c]->kind == ColumnKind::kNumeric;
    (numeric ? numeric_columns_ : categorical_columns_).push_back(static_cast<uint32_t>(c));
  }
  batch_at_.assign(columns_.size(), -1);
  for (size_t k = 0; k < numeric_columns_.size(); ++k) {
    batch_at_[numeric_columns_[k]] = static_cast<int32_t>(k * kBatchStride);
  }
  batch_pane_.resize(kBatchRows);
  batch_state_.assign(numeric_columns_.size() * kBatchStride, CellState::kAbsent);
  batch_number_.resize(numeric_columns_.size() * kBatchStride);
  // 16 bytes past the last cell: kernels::read_json_numbers may read that far.
  batch_text_.resize(numeric_columns_.size() * kBatchStride * kNumberTextBytes + 32);
  batch_all_text_.assign(numeric_columns_.size(), 0);
  const size_t lanes = (numeric_columns_.size() + 7) / 8 * 8;
  for (auto* v :
       {&moment_lanes_.p0, &moment_lanes_.p1, &moment_lanes_.p2, &moment_lanes_.p3,
        &moment_lanes_.lo, &moment_lanes_.hi, &moment_lanes_.center, &moment_lanes_.scale}) {
    v->assign(lanes, 1.0);
  }
  moment_lanes_.offset.assign(lanes, 0);  // padding lanes read column 0's rows
  moment_lanes_.summary.assign(lanes, nullptr);
  if (const auto& m = baseline_->multivariate) {
    // The reader checked that each is a numeric feature of this baseline.
    for (const std::string& name : m->columns) {
      const int c = column_of(name);
      if (c < 0 || batch_at_[static_cast<size_t>(c)] < 0) throw std::logic_error(name);
      multivariate_at_.push_back(static_cast<size_t>(batch_at_[static_cast<size_t>(c)]));
    }
    multivariate_ = &*m;
    run_plain_.assign(numeric_columns_.size(), 0);
    multivariate_z_.resize(m->dimensions() * kBatchRows);
    multivariate_errors_.resize(kBatchRows);
  }
  prediction_numeric_ =
      prediction_column_ >= 0 && columns_[prediction_column_]->kind == ColumnKind::kNumeric;
  for (const auto& c : baseline_->columns) {
    if (c.role != ColumnRole::kLabel) continue;
    label_profile_ = &c;
    if (c.kind == ColumnKind::kNumeric) {
      label_grid_ = NumericGrid(c, settings_.ks_resolution);
      if (c.numeric.moments.count > 0) label_center_ = c.numeric.moments.mean;
    } else {
      label_bins_ = std::make_unique<CategoryBins>(c.categorical);
    }
  }
  // The task: the baseline's (built from its prediction and label columns),
  // else classification when the baseline's labels are 0 and 1 only.
  if (baseline_->performance) {
    task_ = baseline_->performance->task;
  } else if (label_profile_ != nullptr && label_profile_->kind == ColumnKind::kNumeric) {
    const auto& m = label_profile_->numeric.moments;
    task_ = m.count > 0 && m.min == 0 && m.max == 1 && label_grid_.points() == 2
                ? Task::kClassification
                : Task::kRegression;
  }
}

uint64_t ModelMonitor::id_key(std::string_view id) {
  if (id.empty()) return 0;
  return std::max<uint64_t>(1, XXH3_64bits(id.data(), id.size()));  // 0 marks "no id"
}

int ModelMonitor::column_of(std::string_view name) const {
  const auto it = column_index_.find(name);
  return it == column_index_.end() ? -1 : static_cast<int>(it->second);
}

void ModelMonitor::clear_stage() {
  std::fill(state_.begin(), state_.end(), CellState::kAbsent);
  for (size_t k = 0; k < numeric_columns_.size(); ++k) {
    batch_state_[k * kBatchStride + batch_rows_] = CellState::kAbsent;
  }
  staged_id_ = 0;
}

int64_t ModelMonitor::pane_of(int64_t t) const {
  return floor_div(t, settings_.window.step);
}

namespace {

void init_summary(ColumnSummary& cs, const ColumnProfile& base, const NumericGrid& grid,
                  const CategoryBins* bins) {
  if (base.kind == ColumnKind::kNumeric) {
    cs.numeric.init(grid);
  } else {
    cs.categorical.bin_counts.assign(bins->size(), 0);
  }
}

// Counts a numeric cell that holds no finite number, as the batch reader
// would; false for a finite number (the caller adds it).
inline bool count_non_finite(ColumnSummary& cs, CellState st, double number) {
  if (st == CellState::kAbsent || st == CellState::kNull) {
    ++cs.missing;
  } else if (st != CellState::kNumber) {
    ++cs.type_errors;
  } else if (std::isnan(number)) {
    ++cs.missing;
  } else if (std::isinf(number)) {
    ++cs.infinite;
  } else {
    return false;
  }
  return true;
}

// Adds one cell of a numeric column to its summary.
inline void add_numeric_cell(ColumnSummary& cs, const NumericGrid& grid, CellState st,
                             double number) {
  if (!count_non_finite(cs, st, number)) cs.numeric.add(grid, number);
}

// Adds one cell to a column's summary, as the batch reader would count it.
// `number` is the cell's for kNumber, `text` for kText, `bin` for kBin.
void add_cell(ColumnSummary& cs, const ColumnProfile& base, const NumericGrid& grid,
              const CategoryBins* bins, size_t max_new, CellState st, double number,
              std::string_view text, uint32_t bin = 0) {
  if (base.kind == ColumnKind::kNumeric) {
    add_numeric_cell(cs, grid, st, number);
    return;
  }
  if (st == CellState::kAbsent || st == CellState::kNull) {
    ++cs.missing;
    return;
  }
  // Categorical: numbers and booleans count by their text, as in the batch reader.
  if (st == CellState::kBadType) {
    ++cs.type_errors;
    return;
  }
  char buf[32];
  if (st == CellState::kNumber) {  // decoders stage raw literals; this is a fallback
    const auto res = std::to_chars(buf, buf + sizeof buf, number);
    text = std::string_view(buf, static_cast<size_t>(res.ptr - buf));
  }
  CategoricalSummary& cat = cs.categorical;
  ++cat.present;
  if (st != CellState::kBin) bin = bins->bin_of(text);  // kBin: matched when staged
  if (bin != CategoryBins::kNew) {
    ++cat.bin_counts[bin];
    return;
  }
  auto it = std::find_if(cat.new_categories.begin(), cat.new_categories.end(),
                         [&](const auto& e) { return e.first == text; });
  if (it != cat.new_categories.end()) {
    ++it->second;
  } else if (cat.new_categories.size() < max_new) {
    cat.new_categories.emplace_back(std::string(text), 1);
  } else {
    ++cat.new_pooled;
  }
}

}  // namespace

Pane& ModelMonitor::pane_for(int64_t index) {
  auto [it, inserted] = panes_.try_emplace(index);
  if (inserted) {
    Pane& p = it->second;
    p.columns.resize(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) {
      init_summary(p.columns[c], *columns_[c], grids_[c], bins_[c].get());
    }
    if (label_profile_ != nullptr) {
      init_summary(p.label, *label_profile_, label_grid_, label_bins_.get());
    }
    if (joins_labels() && task_ == Task::kClassification) {
      p.performance.positive_slots.assign(grids_[prediction_column_].slots(), 0);
      p.performance.negative_slots.assign(grids_[prediction_column_].slots(), 0);
    }
  }
  return it->second;
}

void ModelMonitor::add_to_pane(Pane& pane) {
  ++pane.rows;
  for (const uint32_t c : categorical_columns_) {
    if (state_[c] == CellState::kBin) {  // the usual cell, as add_cell counts it
      CategoricalSummary& cat = pane.columns[c].categorical;
      ++cat.present;
      ++cat.bin_counts[bin_[c]];
      continue;
    }
    add_cell(pane.columns[c], *columns_[c], grids_[c], bins_[c].get(), settings_.max_new_categories,
             state_[c], number_[c], text_[c], bin_[c]);
  }
  if (numeric_columns_.empty()) return;
  batch_pane_[batch_rows_++] = &pane;  // its numeric cells are staged in this row
  if (batch_rows_ == kBatchRows) apply_batch();
}

// The numbers of a column's kNumberText cells, read together: most by the
// vector reader (kernels::read_json_numbers), the rest by simdjson. A
// number simdjson refuses is a type error, as when the decoder reads it at
// once. The texts of other cells are read too (and ignored): no branch per
// cell before the kernel.
void ModelMonitor::read_number_texts(CellState* st, double* number, const char* text, size_t rows) {
  double parsed[kBatchRows];
  kernels::read_json_numbers(text, rows, parsed);
  for (size_t i = 0; i < rows; ++i) {
    if (st[i] != CellState::kNumberText) continue;
    if (!std::isnan(parsed[i]) ||
        read_json_number_text(text + i * kNumberTextBytes, kNumberTextBytes, &parsed[i])) {
      number[i] = parsed[i];
      st[i] = CellState::kNumber;
    } else {
      st[i] = CellState::kBadType;
    }
  }
}

void ModelMonitor::resolve_staged_text(int column) {
  const int32_t at = column < 0 ? -1 : batch_at_[static_cast<size_t>(column)];
  if (at < 0) return;
  const size_t cell = static_cast<size_t>(at) + batch_rows_;
  read_number_texts(&batch_state_[cell], &batch_number_[cell],
                    &batch_text_[cell * kNumberTextBytes], 1);
}

void ModelMonitor::apply_batch() {
  const size_t rows = batch_rows_;
  batch_rows_ = 0;
  if (rows == 0) return;
  // Rows come in runs of one pane (one run, unless the batch spans a pane
  // boundary or holds out-of-order events): found once for every column.
  size_t run_end[kBatchRows];
  size_t runs = 0;
  for (size_t r = 0; r < rows;) {
    size_t end = r + 1;
    while (end < rows && batch_pane_[end] == batch_pane_[r]) ++end;
    run_end[runs++] = end;
    r = end;
  }
  // Every column's numbers first. Mostly every cell of a column is a
  // number's text (the decoder's direct path): read straight into the
  // numbers, a text the kernel declines left NaN for the checks below to
  // find. Else the texts are read into the cells that hold them.
  for (size_t k = 0; k < numeric_columns_.size(); ++k) {
    const CellState* const st = &batch_state_[k * kBatchStride];
    uint8_t not_text = 0;
    for (size_t i = 0; i < rows; ++i) {
      not_text |= static_cast<uint8_t>(st[i]) ^ static_cast<uint8_t>(CellState::kNumberText);
    }
    batch_all_text_[k] = not_text == 0;
    double* const number = &batch_number_[k * kBatchStride];
    const char* const text = &batch_text_[k * kBatchStride * kNumberTextBytes];
    if (batch_all_text_[k]) {
      kernels::read_json_numbers(text, rows, number);
    } else {
      read_number_texts(&batch_state_[k * kBatchStride], number, text, rows);
    }
  }
  // Then run by run, in arrival order (a pane may come back in a later run).
  MomentLanes& ml = moment_lanes_;
  for (size_t run = 0, r = 0; run < runs; r = run_end[run++]) {
    const size_t end = run_end[run];
    size_t lanes = 0;
    for (size_t k = 0; k < numeric_columns_.size(); ++k) {
      const uint32_t c = numeric_columns_[k];
      const NumericGrid& grid = grids_[c];
      CellState* const st = &batch_state_[k * kBatchStride];
      double* const number = &batch_number_[k * kBatchStride];
      const char* const text = &batch_text_[k * kBatchStride * kNumberTextBytes];
      const bool all_text = batch_all_text_[k] != 0;
      ColumnSummary& cs = batch_pane_[r]->columns[c];
      // Mostly every cell is a finite number: checked without a branch per
      // cell (two loops the compiler vectorizes), the run then goes to the
      // summary as it lies: its slots now, its moments below with the
      // other columns' (kernels::column_moments, a column a lane).
      uint8_t not_number = 0;  // (texts read here are numbers or NaN, which the next check finds)
      if (!all_text) {
        for (size_t i = r; i < end; ++i) {
          not_number |= static_cast<uint8_t>(st[i]) ^ static_cast<uint8_t>(CellState::kNumber);
        }
      }
      // x * 0 is a zero for finite x and NaN otherwise: OR-ed together, the
      // exponent bits are all set exactly when some value is not finite.
      uint64_t product_bits = 0;
      for (size_t i = r; i < end; ++i) product_bits |= std::bit_cast<uint64_t>(number[i] * 0.0);
      constexpr uint64_t kExponent = 0x7ff0000000000000;
      const bool plain = not_number == 0 && (product_bits & kExponent) != kExponent;
      if (!run_plain_.empty()) run_plain_[k] = plain;
      if (plain) {
        NumericSummary& ns = cs.numeric;
        ns.add_slots(grid, number + r, end - r);
        ml.summary[lanes] = &ns;
        ml.p0[lanes] = ns.power[0];
        ml.p1[lanes] = ns.power[1];
        ml.p2[lanes] = ns.power[2];
        ml.p3[lanes] = ns.power[3];
        ml.lo[lanes] = ns.count == 0 ? number[r] : ns.min;
        ml.hi[lanes] = ns.count == 0 ? number[r] : ns.max;
        ml.center[lanes] = grid.center();
        ml.scale[lanes] = grid.scale();
        ml.offset[lanes] = static_cast<int64_t>(k * kBatchStride + r);
        ++lanes;
        continue;
      }
      // A text the kernel declined (NaN) is read by simdjson here.
      if (all_text) read_number_texts(st + r, number + r, text + r * kNumberTextBytes, end - r);
      double finite[kBatchRows];
      size_t n_finite = 0;
      for (size_t i = r; i < end; ++i) {
        if (!count_non_finite(cs, st[i], number[i])) finite[n_finite++] = number[i];
      }
      cs.numeric.add_all(grid, finite, n_finite);
    }
    if (multivariate_ != nullptr) add_multivariate(r, end, batch_pane_[r]->multivariate);
    if (lanes == 0) continue;
    kernels::column_moments(batch_number_.data(), end - r, lanes,
                            {ml.p0.data(), ml.p1.data(), ml.p2.data(), ml.p3.data(), ml.lo.data(),
                             ml.hi.data(), ml.center.data(), ml.scale.data(), ml.offset.data()});
    for (size_t j = 0; j < lanes; ++j) {
      NumericSummary& ns = *ml.summary[j];
      ns.power[0] = ml.p0[j];
      ns.power[1] = ml.p1[j];
      ns.power[2] = ml.p2[j];
      ns.power[3] = ml.p3[j];
      ns.min = ml.lo[j];
      ns.max = ml.hi[j];
      ns.count += end - r;
    }
  }
  for (size_t k = 0; k < numeric_columns_.size(); ++k) {  // the rows are free for new events
    std::fill_n(&batch_state_[k * kBatchStride], rows, CellState::kAbsent);
  }
}

void ModelMonitor::add_multivariate(size_t begin, size_t end, stats::ReconstructionSums& out) {
  const stats::ReconstructionModel& m = *multivariate_;
  const size_t n = end - begin;
  for (size_t j = 0; j < multivariate_at_.size(); ++j) {
    // A number's cell is kNumber, or still kNumberText when its column's
    // texts were all read by the kernel; any other cell is imputed.
    const CellState* st = &batch_state_[multivariate_at_[j] + begin];
    const double* x = &batch_number_[multivariate_at_[j] + begin];
    double* z = &multivariate_z_[j * kBatchRows];
    if (run_plain_[multivariate_at_[j] / kBatchStride]) {  // every cell a finite number
      for (size_t i = 0; i < n; ++i) z[i] = m.standardized_finite(j, x[i]);
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      const bool number = st[i] == CellState::kNumber || st[i] == CellState::kNumberText;
      z[i] = m.standardized(j, number ? x[i] : NAN);
    }
  }
  m.errors(multivariate_z_.data(), kBatchRows, n, multivariate_errors_.data());
  out.add(m, multivariate_errors_.data(), n);
}

void ModelMonitor::attach_reference(std::shared_ptr<const Baseline> reference, std::string name) {
  reference_ = std::make_unique<ModelMonitor>(std::move(reference), settings_);
  reference_name_ = std::move(name);
  reference_column_.clear();
  for (const auto* c : columns_) {
    const int rc = reference_->column_of(c->name);
    // check_reference_schema guarantees every column is there.
    reference_column_.push_back(rc < 0 ? 0 : static_cast<uint32_t>(rc));
  }
}

void ModelMonitor::feed_reference(int64_t ts_ms) {
  ModelMonitor& r = *reference_;
  for (size_t c = 0; c < columns_.size(); ++c) {
    const uint32_t rc = reference_column_[c];
    resolve_staged_text(static_cast<int>(c));
    const CellState st = staged_state(static_cast<int>(c));
    r.staged_state(static_cast<int>(rc)) = st;
    r.staged_number(static_cast<int>(rc)) = staged_number(static_cast<int>(c));
    r.text_[rc] = text_[c];
    if (st == CellState::kBin) {  // a bin is this baseline's: the reference gets its text
      r.staged_state(static_cast<int>(rc)) = CellState::kText;
      r.text_[rc] = bins_[c]->category(bin_[c]);
    }
  }
  r.commit(ts_ms, [this](WindowResult&& w) { reference_results_.push_back(std::move(w)); });
}

void ModelMonitor::take_reference(WindowResult& w) {
  for (auto& r : reference_results_) {
    if (r.start == w.start && r.end == w.end) {
      w.reference = std::make_shared<const CheckReport>(std::move(r.report));
      w.reference_name = reference_name_;
      return;
    }
  }
}

bool ModelMonitor::commit(int64_t ts_ms, const OnWindow& on_window) {
  // The reference sees the same event first: its windows close at the same
  // event, before ours, so ours find its result (take_reference).
  if (reference_) feed_reference(ts_ms);
  const bool added = commit_own(ts_ms, on_window);
  reference_results_.clear();
  return added;
}

bool ModelMonitor::commit_own(int64_t ts_ms, const OnWindow& on_window) {
  const WindowSettings& w = settings_.window;
  const int64_t t = w.kind == WindowSettings::Kind::kCount ? static_cast<int64_t>(events_) : ts_ms;
  if (!started_) {
    started_ = true;
    next_end_ = (pane_of(t) + 1) * w.step;
    max_time_ = t;
  }
  if (t < next_end_ - w.size) {
    ++late_;
    clear_stage();
    return false;
  }
  if (staged_id_ != 0 && joins_labels()) {
    resolve_staged_text(prediction_column_);
    if (staged_state(prediction_column_) == CellState::kNumber &&
        std::isfinite(staged_number(prediction_column_))) {
      uint64_t evicted = 0;
      pending_.insert(staged_id_, staged_number(prediction_column_), ts_ms,
                      settings_.labels.max_pending, &evicted);
      label_counters_.evicted += evicted;
    }
  }
  add_to_pane(pane_for(pane_of(t)));  // takes the staged row: the next one is empty
  ++events_;
  std::fill(state_.begin(), state_.end(), CellState::kAbsent);
  staged_id_ = 0;
  max_time_ = std::max(max_time_, t);
  watermark_ =
      w.kind == WindowSettings::Kind::kCount ? max_time_ + 1 : max_time_ - w.allowed_lateness;
  if (pending_.size() > 0 && w.kind == WindowSettings::Kind::kTime) {
    label_counters_.expired += pending_.expire(max_time_ - settings_.labels.ttl_ms);
  }
  close_through(watermark_, on_window);
  return true;
}

LabelOutcome ModelMonitor::join_label(uint64_t key, double label, std::optional<int64_t> ts_ms) {
  PendingLabels::Entry e;
  if (key == 0 || !joins_labels() || !pending_.take(key, &e)) {
    ++label_counters_.unmatched;
    return LabelOutcome::kUnmatched;
  }
  const WindowSettings& w = settings_.window;
  const int64_t t =
      w.kind == WindowSettings::Kind::kCount ? static_cast<int64_t>(events_) : ts_ms.value_or(e.ts);
  if (!started_ || t < next_end_ - w.size) {
    ++label_counters_.late;
    return LabelOutcome::kLate;
  }
  Pane& pane = pane_for(pane_of(t));
  ++pane.labels;
  ++label_counters_.joined;
  if (ts_ms && w.kind == WindowSettings::Kind::kTime) {
    label_counters_.lag_seconds.observe(static_cast<double>(*ts_ms - e.ts) / 1000.0);
  }
  if (label_profile_ != nullptr) {
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, label);
    add_cell(pane.label, *label_profile_, label_grid_, label_bins_.get(),
             settings_.max_new_categories, CellState::kNumber, label,
             std::string_view(buf, static_cast<size_t>(res.ptr - buf)));
  }
  PerformanceSummary& perf = pane.performance;
  ++perf.n;
  if (task_ == Task::kClassification) {
    const bool predicted = e.score >= settings_.labels.threshold;
    const bool actual = label == 1;
    perf.tp += predicted && actual;
    perf.fp += predicted && !actual;
    perf.tn += !predicted && !actual;
    perf.fn += !predicted && actual;
    perf.log_loss_sum += log_loss_term(e.score, actual);
    const uint32_t slot = grids_[prediction_column_].slot_of(e.score);
    ++(actual ? perf.positive_slots : perf.negative_slots)[slot];
  } else {
    const double err = label - e.score;
    const double y = label - label_center_;
    perf.abs_error_sum += std::fabs(err);
    perf.sq_error_sum += err * err;
    perf.y_sum += y;
    perf.y2_sum += y * y;
  }
  return LabelOutcome::kJoined;
}

void ModelMonitor::flush(const OnWindow& on_window) {
  apply_batch();
  if (reference_) {
    reference_->flush([this](WindowResult&& w) { reference_results_.push_back(std::move(w)); });
  }
  if (!panes_.empty()) {
    const int64_t last_end = panes_.rbegin()->first * settings_.window.step + settings_.window.size;
    close_through(last_end, on_window);
  }
  reference_results_.clear();
}

void ModelMonitor::close_through(int64_t watermark, const OnWindow& on_window) {
  const WindowSettings& w = settings_.window;
  if (next_end_ <= watermark) apply_batch();  // a window closes: its panes complete
  while (next_end_ <= watermark) {
    const int64_t start = next_end_ - w.size;
    bool has_rows = false;
    for (auto it = panes_.lower_bound(pane_of(start)); it != panes_.end(); ++it) {
      if (it->first >= pane_of(next_end_)) break;
      has_rows = has_rows || it->second.rows > 0 || it->second.labels > 0;
    }
    if (has_rows) {
      const auto began = std::chrono::steady_clock::now();
      WindowResult result = evaluate(start, next_end_);
      if (reference_) take_reference(result);
      result.evaluation_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      on_window(std::move(result));
    }
    next_end_ += w.step;
    // Panes no open window covers any more.
    const int64_t first_needed = pane_of(next_end_ - w.size);
    while (!panes_.empty() && panes_.begin()->first < first_needed) panes_.erase(panes_.begin());
    if (panes_.empty()) {
      // Nothing buffered: skip straight past the watermark (no empty windows).
      next_end_ = std::max(next_end_, (floor_div(watermark, w.step) + 1) * w.step);
    } else if (!has_rows) {
      // Skip windows that end before the first buffered pane starts.
      next_end_ = std::max(next_end_, (panes_.begin()->first + 1) * w.step);
    }
  }
}

FeatureResult ModelMonitor::compare_summary(const ColumnProfile& base, const NumericGrid& grid,
                                            const ColumnSummary& cs, uint64_t rows) const {
  FeatureResult r =
      start_feature(base, settings_.rules, rows, cs.missing, cs.type_errors, cs.infinite);
  if (base.kind == ColumnKind::kNumeric) {
    const Moments moments = moments_of(grid, cs.numeric);
    std::vector<uint64_t> bin_counts(grid.bins(), 0);
    for (size_t s = 0; s < cs.numeric.slot_counts.size(); ++s) {
      bin_counts[grid.bin_of_slot(static_cast<uint32_t>(s))] += cs.numeric.slot_counts[s];
    }
    std::vector<double> current_props;
    if (base.numeric.moments.count > 0) current_props = proportions(bin_counts);
    const std::vector<double> base_props = proportions(base.numeric.bin_counts);
    const stats::EcdfDistances ecdf = ecdf_of(grid, cs.numeric);
    const CellCounts cells{r.rows, r.missing, r.type_errors};
    const stats::RobustMoments robust = robust_of(grid, cs.numeric);
    const NumericComparison in{base, base_props, cs.numeric.count, current_props, moments,
                               ecdf, cells,      grid.robust(),    robust};
    run_numeric_detectors(in, r);
  } else {
    const CategoricalSummary& cat = cs.categorical;
    std::vector<uint64_t> new_counts;
    std::vector<std::string_view> new_names;
    new_counts.reserve(cat.new_categories.size() + 1);
    new_names.reserve(cat.new_categories.size());
    for (const auto& e : cat.new_categories) {
      new_counts.push_back(e.second);
      new_names.push_back(e.first);
    }
    if (cat.new_pooled > 0) new_counts.push_back(cat.new_pooled);  // named "(other new)"
    compare_categorical_bins(base, cat.bin_counts, new_counts, new_names, cat.present, r);
  }
  decide_drift(r);
  return r;
}

Performance ModelMonitor::performance_of(const PerformanceSummary& p) const {
  if (task_ == Task::kClassification) {
    // Mann-Whitney over the grid slots: a positive above a negative counts
    // 1, in the same slot 1/2 (exact ties, and pairs sharing an open cell).
    double positives = 0, negatives = 0, wins = 0;
    for (size_t s = 0; s < p.positive_slots.size(); ++s) {
      const double pos = static_cast<double>(p.positive_slots[s]);
      const double neg = static_cast<double>(p.negative_slots[s]);
      wins += pos * negatives + 0.5 * pos * neg;
      positives += pos;
      negatives += neg;
    }
    std::optional<double> auc;
    if (positives > 0 && negatives > 0) auc = wins / (positives * negatives);
    return classification_from_counts(p.n, static_cast<double>(p.tp), static_cast<double>(p.fp),
                                      static_cast<double>(p.tn), static_cast<double>(p.fn),
                                      p.log_loss_sum, auc);
  }
  // The labels' sums are about the baseline's label mean (label_center_),
  // so that y2_sum - y_sum^2 / n keeps its digits.
  const double n = static_cast<double>(p.n);
  const double ss_tot = p.n > 0 ? std::max(0.0, p.y2_sum - p.y_sum * p.y_sum / n) : 0.0;
  return regression_from_sums(p.n, p.abs_error_sum, p.sq_error_sum, ss_tot);
}

WindowResult ModelMonitor::evaluate(int64_t start, int64_t end) {
  Pane merged;
  merged.columns.resize(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    init_summary(merged.columns[c], *columns_[c], grids_[c], bins_[c].get());
  }
  if (label_profile_ != nullptr) {
    init_summary(merged.label, *label_profile_, label_grid_, label_bins_.get());
  }
  for (auto it = panes_.lower_bound(pane_of(start)); it != panes_.end(); ++it) {
    if (it->first >= pane_of(end)) break;
    const Pane& p = it->second;
    merged.rows += p.rows;
    for (size_t c = 0; c < columns_.size(); ++c) {
      ColumnSummary& dst = merged.columns[c];
      const ColumnSummary& src = p.columns[c];
      dst.missing += src.missing;
      dst.type_errors += src.type_errors;
      dst.infinite += src.infinite;
      dst.numeric.merge(src.numeric);
      dst.categorical.merge(src.categorical, settings_.max_new_categories);
    }
    merged.labels += p.labels;
    merged.label.missing += p.label.missing;
    merged.label.type_errors += p.label.type_errors;
    merged.label.infinite += p.label.infinite;
    merged.label.numeric.merge(p.label.numeric);
    merged.label.categorical.merge(p.label.categorical, settings_.max_new_categories);
    merged.performance.merge(p.performance);
    merged.multivariate.merge(p.multivariate);
  }

  WindowResult out;
  out.start = start;
  out.end = end;
  const bool by_count = settings_.window.kind == WindowSettings::Kind::kCount;
  out.id = baseline_->model_name + "@" + baseline_->model_version + (by_count ? "/n/" : "/t/") +
           std::to_string(start) + "-" + std::to_string(end);
  CheckReport& rep = out.report;
  rep.model_name = baseline_->model_name;
  rep.model_version = baseline_->model_version;
  rep.rows = merged.rows;
  rep.share_threshold = settings_.rules.share_threshold;
  rep.baseline_performance = baseline_->performance;
  rep.features.resize(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    rep.features[c] = compare_summary(*columns_[c], grids_[c], merged.columns[c], merged.rows);
  }
  if (multivariate_ != nullptr) {
    rep.features.push_back(
        compare_multivariate(*multivariate_, merged.multivariate, settings_.rules, merged.rows));
  }
  if (merged.labels > 0) {
    // Label drift: the labels that arrived in this window against the
    // baseline's label column (a label role: outside the drift share).
    if (label_profile_ != nullptr) {
      rep.features.push_back(
          compare_summary(*label_profile_, label_grid_, merged.label, merged.labels));
    }
    rep.performance = performance_of(merged.performance);
  }
  decide_calibrated(rep, settings_.rules);
  summarize_features(rep);
  return out;
}

// ---- state ----------------------------------------------------------------------

namespace {

void save_pane(ByteWriter& out, const Pane& p, bool has_label, bool has_multivariate) {
  out.u64(p.rows);
  for (const ColumnSummary& c : p.columns) save_column(out, c);
  out.u64(p.labels);
  if (has_label) save_column(out, p.label);
  const PerformanceSummary& f = p.performance;
  out.u64(f.n);
  out.u64(f.tp);
  out.u64(f.fp);
  out.u64(f.tn);
  out.u64(f.fn);
  out.f64(f.log_loss_sum);
  save_counts(out, f.positive_slots);
  save_counts(out, f.negative_slots);
  out.f64(f.abs_error_sum);
  out.f64(f.sq_error_sum);
  out.f64(f.y_sum);
  out.f64(f.y2_sum);
  if (has_multivariate) {
    out.u64(p.multivariate.rows);
    out.f64(p.multivariate.sum);
    out.f64(p.multivariate.clamped_sum);
  }
}

}  // namespace

void ModelMonitor::save(ByteWriter& out) {
  apply_batch();
  out.u8(started_ ? 1 : 0);
  out.i64(next_end_);
  out.i64(max_time_);
  out.i64(watermark_);
  out.u64(events_);
  out.u64(late_);
  out.u64(panes_.size());
  for (const auto& [index, pane] : panes_) {
    out.i64(index);
    save_pane(out, pane, label_profile_ != nullptr, multivariate_ != nullptr);
  }
  const LabelCounters& l = label_counters_;
  for (uint64_t v : {l.joined, l.unmatched, l.late, l.expired, l.evicted}) out.u64(v);
  pending_.save(out);
  if (reference_) reference_->save(out);
}

bool ModelMonitor::load(ByteReader& in) {
  started_ = in.u8() != 0;
  next_end_ = in.i64();
  max_time_ = in.i64();
  watermark_ = in.i64();
  events_ = in.u64();
  late_ = in.u64();
  // A checksum does not make a state true: times (and event counts) beyond
  // what an event can carry would overflow the window arithmetic.
  const int64_t step = settings_.window.step;
  const auto in_range = [](int64_t t) { return t >= -kMaxEventTime && t <= kMaxEventTime; };
  if (!in_range(next_end_) || !in_range(max_time_) || !in_range(watermark_)) {
    in.fail("window times out of range");
  }
  batch_rows_ = 0;  // its panes go
  std::fill(batch_state_.begin(), batch_state_.end(), CellState::kAbsent);
  panes_.clear();
  const uint64_t n_panes = in.count(16);
  for (uint64_t i = 0; i < n_panes && in.ok(); ++i) {
    const int64_t index = in.i64();
    if (index < -kMaxEventTime / step || index > kMaxEventTime / step) {
      in.fail("a pane out of range");
      break;
    }
    Pane& p = pane_for(index);
    p.rows = in.u64();
    for (size_t c = 0; c < columns_.size() && in.ok(); ++c) load_column(in, p.columns[c]);
    p.labels = in.u64();
    if (label_profile_ != nullptr) load_column(in, p.label);
    PerformanceSummary& f = p.performance;
    f.n = in.u64();
    f.tp = in.u64();
    f.fp = in.u64();
    f.tn = in.u64();
    f.fn = in.u64();
    f.log_loss_sum = in.f64();
    load_counts(in, f.positive_slots);
    load_counts(in, f.negative_slots);
    f.abs_error_sum = in.f64();
    f.sq_error_sum = in.f64();
    f.y_sum = in.f64();
    f.y2_sum = in.f64();
    if (multivariate_ != nullptr) {
      // Only with a baseline that has the model (the state's key names the
      // baseline). Errors are norms, clamped ones at most the cap.
      stats::ReconstructionSums& s = p.multivariate;
      s.rows = in.u64();
      s.sum = in.f64();
      s.clamped_sum = in.f64();
      if (s.rows > p.rows || !(s.sum >= 0) || !std::isfinite(s.sum) || !(s.clamped_sum >= 0) ||
          s.clamped_sum > multivariate_->error_cap * static_cast<double>(s.rows) * (1 + 1e-9)) {
        in.fail("multivariate sums out of range");
      }
    }
  }
  LabelCounters& l = label_counters_;
  for (uint64_t* v : {&l.joined, &l.unmatched, &l.late, &l.expired, &l.evicted}) *v = in.u64();
  if (in.ok()) pending_.load(in, settings_.labels.max_pending);
  if (in.ok() && reference_) return reference_->load(in);
  return in.ok();
}

Status check_reference_schema(const Baseline& baseline, const Baseline& reference,
                              const std::string& reference_source) {
  for (const auto& c : baseline.columns) {
    if (c.role == ColumnRole::kId || c.role == ColumnRole::kTimestamp ||
        c.role == ColumnRole::kLabel) {
      continue;
    }
    const ColumnProfile* r = reference.find(c.name);
    if (r == nullptr) {
      return Error{reference_source + ": the reference lacks column '" + c.name +
                   "' of the baseline"};
    }
    if (r->kind != c.kind) {
      return Error{reference_source + ": column '" + c.name + "' is " +
                   (r->kind == ColumnKind::kNumeric ? "numeric" : "categorical") +
                   " in the reference but " +
                   (c.kind == ColumnKind::kNumeric ? "numeric" : "categorical") +
                   " in the baseline (pass --categorical when building it)"};
    }
  }
  return {};
}

}  // namespace driftd
