#include "driftd/check/check.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "driftd/common/parallel.h"
#include "driftd/detectors/detector.h"
#include "driftd/kernels/kernels.h"
#include "driftd/stats/summary.h"
#include "driftd/stats/two_sample.h"

namespace driftd {

std::optional<double> FeatureResult::get(std::string_view key) const {
  for (const auto& s : stats) {
    if (s.key == key) return s.value;
  }
  return std::nullopt;
}

namespace {

class VectorSink final : public StatisticSink {
 public:
  explicit VectorSink(std::vector<StatValue>& out) : out_(out) {}
  void put(std::string_view key, std::optional<double> value) override {
    out_.push_back({std::string(key), value});
  }

 private:
  std::vector<StatValue>& out_;
};

// `scratch` is the column's own array when the caller gave the table away
// (the finite values are compacted and sorted in place), else null and the
// values are copied.
}  // namespace

FeatureResult start_feature(const ColumnProfile& base, const DriftRules& rules, uint64_t rows,
                            uint64_t missing, uint64_t type_errors, uint64_t infinite) {
  FeatureResult r;
  r.name = base.name;
  r.kind = base.kind;
  r.role = base.role;
  r.rule = rules.rule_for(base.name);
  r.rows = rows;
  r.baseline_missing_rate =
      base.rows > 0 ? static_cast<double>(base.missing) / static_cast<double>(base.rows) : 0.0;
  r.missing = missing;
  r.type_errors = type_errors;
  r.infinite = infinite;
  const double n = static_cast<double>(rows);
  r.missing_rate = n > 0 ? static_cast<double>(missing) / n : 0.0;
  r.type_error_rate = n > 0 ? static_cast<double>(type_errors) / n : 0.0;
  r.infinite_rate = n > 0 ? static_cast<double>(infinite) / n : 0.0;
  return r;
}

CategoryBins::CategoryBins(const CategoricalProfile& profile) : profile_(profile) {
  for (const auto& c : profile.categories) {
    index_.emplace(c.category, static_cast<uint32_t>(index_.size()));
  }
  size_ = profile.categories.size() + (profile.other_count > 0 ? 1 : 0);
  if (profile.categories.size() <= kMaxScanned) {
    std::vector<std::string_view> names;
    for (const auto& c : profile.categories) {
      names.emplace_back(c.category);
      ShortText packed;
      if (c.category.size() <= ShortText::kMax) {
        packed = ShortText::of(c.category);
      } else {
        packed.size = ~size_t{0};  // no text of up to 16 bytes has this size
      }
      packed_.push_back(packed);
    }
    raw_.assign(names);
  }
}

uint32_t CategoryBins::bin_of_searched(std::string_view category) const {
  if (!packed_.empty()) {  // a text longer than any packed one: by bytes
    const auto& categories = profile_.categories;
    for (size_t i = 0; i < categories.size(); ++i) {
      if (same_bytes(categories[i].category, category)) return static_cast<uint32_t>(i);
    }
  } else if (const auto it = index_.find(category); it != index_.end()) {
    return it->second;
  }
  return bin_of_absent(category);
}

uint32_t CategoryBins::bin_of_absent(std::string_view category) const {
  if (profile_.other_count > 0 &&
      (!profile_.other_names_complete ||
       std::binary_search(profile_.other_names.begin(), profile_.other_names.end(), category))) {
    return static_cast<uint32_t>(profile_.categories.size());
  }
  return kNew;
}

FeatureResult compare_multivariate(const stats::ReconstructionModel& model,
                                   const stats::ReconstructionSums& sums, const DriftRules& rules,
                                   uint64_t rows) {
  FeatureResult r;
  r.name = kMultivariateColumn;
  r.kind = ColumnKind::kNumeric;
  r.role = ColumnRole::kFeature;
  r.rule = rules.rule_for(r.name);
  r.rows = rows;
  const MultivariateComparison in{model, sums};
  VectorSink sink(r.stats);
  for (const Detector* d : all_detectors()) d->multivariate(in, sink);
  decide_drift(r);
  return r;
}

void run_numeric_detectors(const NumericComparison& in, FeatureResult& r) {
  VectorSink sink(r.stats);
  for (const Detector* d : all_detectors()) d->numeric(in, sink);
  if (in.baseline_proportions.size() == in.current_proportions.size() &&
      !in.current_proportions.empty()) {
    auto d = std::make_shared<Distribution>();
    d->edges = in.baseline.numeric.cut_points;
    d->baseline.assign(in.baseline_proportions.begin(), in.baseline_proportions.end());
    d->current.assign(in.current_proportions.begin(), in.current_proportions.end());
    r.distribution = std::move(d);
  }
}

namespace {

// The categorical bins the report draws: the kMaxShown baseline bins with
// the largest share on either side and the kMaxNewShown largest new ones,
// in that order; the rest pooled in one bar each.
std::shared_ptr<const Distribution> categorical_distribution(
    const CategoricalProfile& bp, std::span<const double> base_props,
    std::span<const double> cur_props, std::span<const std::string_view> new_names) {
  constexpr size_t kMaxShown = 15, kMaxNewShown = 8;
  const size_t known = bp.categories.size() + (bp.other_count > 0 ? 1 : 0);
  auto d = std::make_shared<Distribution>();
  const auto pick = [&](size_t from, size_t to, size_t max, auto&& name_of, const char* rest_name) {
    std::vector<size_t> idx(to - from);
    std::iota(idx.begin(), idx.end(), from);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return std::max(base_props[a], cur_props[a]) > std::max(base_props[b], cur_props[b]);
    });
    double rest_b = 0, rest_c = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k < max) {
        d->labels.push_back(name_of(idx[k]));
        d->baseline.push_back(base_props[idx[k]]);
        d->current.push_back(cur_props[idx[k]]);
      } else {
        rest_b += base_props[idx[k]];
        rest_c += cur_props[idx[k]];
      }
    }
    if (idx.size() > max) {
      d->labels.push_back(rest_name);
      d->baseline.push_back(rest_b);
      d->current.push_back(rest_c);
    }
  };
  pick(
      0, known, kMaxShown,
      [&](size_t i) {
        return i < bp.categories.size() ? bp.categories[i].category : std::string("(other)");
      },
      "(the rest)");
  if (base_props.size() > known) {
    d->first_new = d->labels.size();
    pick(
        known, base_props.size(), kMaxNewShown,
        [&](size_t i) {
          return i - known < new_names.size() ? std::string(new_names[i - known])
                                              : std::string("(other new)");
        },
        "(other new)");
  }
  return d;
}

}  // namespace

void compare_categorical_bins(const ColumnProfile& base, std::span<const uint64_t> current_bins,
                              std::span<const uint64_t> new_counts,
                              std::span<const std::string_view> new_names, uint64_t present,
                              FeatureResult& r) {
  const CategoricalProfile& bp = base.categorical;
  // Aligned on the union: the baseline's categories, its 'other' bin when
  // non-empty, then each new category in its own bin (empty on the
  // baseline side).
  std::vector<uint64_t> base_counts;
  base_counts.reserve(current_bins.size() + new_counts.size());
  for (const auto& c : bp.categories) base_counts.push_back(c.count);
  if (bp.other_count > 0) base_counts.push_back(bp.other_count);
  std::vector<uint64_t> cur_counts(current_bins.begin(), current_bins.end());
  uint64_t new_rows = 0;
  for (const uint64_t n : new_counts) {
    new_rows += n;
    base_counts.push_back(0);
    cur_counts.push_back(n);
  }
  const auto base_props = proportions(base_counts);
  const auto cur_props = proportions(cur_counts);
  const CellCounts cells{r.rows, r.missing, r.type_errors};
  const CategoricalComparison in{base,      base_counts, cur_counts, base_props,
                                 cur_props, present,     new_rows,   cells};
  VectorSink sink(r.stats);
  for (const Detector* d : all_detectors()) d->categorical(in, sink);
  if (present > 0) r.distribution = categorical_distribution(bp, base_props, cur_props, new_names);
}

namespace {

void compare_numeric(const ColumnProfile& base, const Column& col, NumberVector* scratch,
                     FeatureResult& r) {
  NumberVector copied;
  NumberVector& values = finite_working_values(col, scratch, copied);
  const Moments moments = compute_moments(values);
  kernels::sort(values.data(), values.size());
  const auto& cuts = base.numeric.cut_points;
  std::vector<double> current_props;
  if (base.numeric.moments.count > 0) current_props = proportions(bin_counts_sorted(values, cuts));
  const std::vector<double> base_props = proportions(base.numeric.bin_counts);
  const stats::EcdfDistances ecdf = stats::ecdf_distances(base.numeric.sample, values);
  const CellCounts cells{r.rows, r.missing, r.type_errors};
  const stats::RobustReference robust_base = stats::robust_reference(base.numeric.sample);
  const stats::RobustMoments robust = stats::robust_moments(values, robust_base);
  const NumericComparison in{base, base_props, values.size(), current_props, moments,
                             ecdf, cells,      robust_base,   robust};
  run_numeric_detectors(in, r);
}

void compare_categorical(const ColumnProfile& base, const Column& col, FeatureResult& r) {
  const CategoricalProfile& bp = base.categorical;
  const CategoryBins bins(bp);
  std::vector<uint64_t> code_counts(col.dictionary.size(), 0);
  uint64_t present = 0;
  for (const uint32_t code : col.codes) {
    if (code != Column::kMissingCode) ++code_counts[code], ++present;
  }
  std::vector<uint64_t> cur_counts(bins.size(), 0);
  std::vector<uint64_t> new_counts;
  std::vector<std::string_view> new_names;
  for (size_t code = 0; code < col.dictionary.size(); ++code) {
    if (code_counts[code] == 0) continue;
    const uint32_t bin = bins.bin_of(col.dictionary[code]);
    if (bin == CategoryBins::kNew) {
      new_counts.push_back(code_counts[code]);
      new_names.push_back(col.dictionary[code]);
    } else {
      cur_counts[bin] += code_counts[code];
    }
  }
  compare_categorical_bins(base, cur_counts, new_counts, new_names, present, r);
}

}  // namespace

void decide_drift(FeatureResult& r) {
  if (r.status == "missing_in_serving") {
    r.drift = true;
    r.rule.method = "schema";
    r.severity = HUGE_VAL;
    return;
  }
  if (r.rule.method == kCalibratedMethod) return;  // decide_calibrated, over every column
  const StatisticInfo* info = find_statistic(r.rule.method);
  r.drift_value = r.get(r.rule.method);
  if (info == nullptr || !r.drift_value) return;  // not emitted for this kind, or undefined
  const double v = *r.drift_value, t = r.rule.threshold;
  if (info->direction == DriftDirection::kHigherIsDrift) {
    r.drift = v >= t;
    r.severity = t > 0 ? v / t : (v > 0 ? HUGE_VAL : 0);
  } else {
    r.drift = v < t;
    r.severity = v > 0 ? t / v : HUGE_VAL;
  }
}

std::optional<double> effect_of(const FeatureResult& r, std::string_view effect) {
  if (auto v = r.get(effect)) return v;
  if (effect == "type_error_rate") return r.type_error_rate;
  if (effect == "missing_rate") return r.missing_rate;
  return std::nullopt;
}

void decide_calibrated(CheckReport& rep, const DriftRules& rules) {
  struct Candidate {
    FeatureResult* feature;
    const StatisticInfo* info;
    double p;
    double adjusted = 1;
  };
  std::vector<Candidate> family;
  for (FeatureResult& r : rep.features) {
    if (r.rule.method != kCalibratedMethod || r.status != "ok") continue;
    r.drift_value.reset();
    for (const StatValue& s : r.stats) {
      if (!s.value) continue;
      const StatisticInfo* info = find_statistic(s.key);
      if (info != nullptr && info->test != nullptr) family.push_back({&r, info, *s.value});
    }
  }
  if (family.empty()) return;
  rep.false_alarm_rate = rules.false_alarm_rate;
  rep.calibrated_tests = family.size();
  // Adjusted p-values, so that "adjusted <= rate" is the procedure's
  // rejection: Bonferroni m p; Holm's step-down max over the smaller ones
  // of (m - j) p_(j), j from 0 (Wright 1992, "Adjusted p-values for
  // simultaneous inference", Biometrics 48).
  std::stable_sort(family.begin(), family.end(),
                   [](const Candidate& a, const Candidate& b) { return a.p < b.p; });
  const double m = static_cast<double>(family.size());
  double running = 0;
  for (size_t j = 0; j < family.size(); ++j) {
    const double factor = rules.correction == Correction::kHolm ? m - static_cast<double>(j) : m;
    running = std::max(running, std::min(1.0, factor * family[j].p));
    family[j].adjusted =
        rules.correction == Correction::kHolm ? running : std::min(1.0, m * family[j].p);
  }
  const double rate = rules.false_alarm_rate;
  for (const Candidate& c : family) {
    FeatureResult& r = *c.feature;
    if (!r.drift_value || c.adjusted < *r.drift_value) r.drift_value = c.adjusted;
    if (c.adjusted > rate) continue;
    const auto effect = effect_of(r, c.info->test->effect);
    const double floor = rules.floor_of(*c.info->test);
    if (!effect || std::fabs(*effect - c.info->test->center) < floor) continue;
    r.drift = true;
    r.reasons.push_back({c.info->key, c.p, c.adjusted, c.info->test->effect, *effect, floor});
  }
  for (FeatureResult& r : rep.features) {
    if (r.rule.method != kCalibratedMethod || !r.drift_value) continue;
    // How far past the rate, on a log scale: 1 at the rate, 2 at its square.
    const double p = std::max(*r.drift_value, 1e-300);
    r.severity = std::log(p) / std::log(rate);
    if (r.drift) r.severity = std::max(r.severity, 1.0);
  }
}

namespace {

// The rows' reconstruction errors, in row order (before the columns are
// compared in place). nullopt when the baseline has no multivariate model
// or the table lacks one of its columns (a schema change, reported as
// such).
std::optional<stats::ReconstructionSums> multivariate_sums(const Baseline& baseline,
                                                           const Table& table) {
  if (!baseline.multivariate) return std::nullopt;
  const stats::ReconstructionModel& m = *baseline.multivariate;
  std::vector<const double*> values;
  for (const std::string& name : m.columns) {
    const Column* col = table.find(name);
    if (col == nullptr || !col->present_in_input || col->kind != ColumnKind::kNumeric ||
        col->numbers.size() != table.rows) {
      return std::nullopt;
    }
    values.push_back(col->numbers.data());
  }
  constexpr size_t kChunk = 256;
  const size_t d = m.dimensions();
  std::vector<double> z(d * kChunk), err(kChunk);
  stats::ReconstructionSums sums;
  for (size_t at = 0; at < table.rows; at += kChunk) {
    const size_t n = std::min<size_t>(kChunk, table.rows - at);
    for (size_t j = 0; j < d; ++j) {
      for (size_t i = 0; i < n; ++i) z[j * kChunk + i] = m.standardized(j, values[j][at + i]);
    }
    m.errors(z.data(), kChunk, n, err.data());
    sums.add(m, err.data(), n);
  }
  return sums;
}

// `consumable`: the same table, when its arrays may be reused (then `table`
// must not be read after a column was compared).
CheckReport compare_impl(const Baseline& baseline, const Table& table, Table* consumable,
                         const CheckOptions& options) {
  CheckReport rep;
  rep.model_name = baseline.model_name;
  rep.model_version = baseline.model_version;
  rep.rows = table.rows;
  rep.skipped_rows = table.skipped_rows;
  rep.skipped_examples = table.skipped_examples;
  rep.new_columns = table.extra_columns;
  rep.share_threshold = options.rules.share_threshold;

  // Performance first: it pairs prediction and label rows, which comparing
  // the columns in place reorders. It needs both columns named in the
  // baseline and present, as numbers, in the serving data.
  if (!baseline.prediction_column.empty() && !baseline.label_column.empty()) {
    const Column* pred = table.find(baseline.prediction_column);
    const Column* label = table.find(baseline.label_column);
    if (pred && label && pred->present_in_input && label->present_in_input &&
        pred->kind == ColumnKind::kNumeric && label->kind == ColumnKind::kNumeric) {
      Task task = infer_task(label->numbers);
      if (baseline.performance) task = baseline.performance->task;
      if (options.task) task = *options.task;
      rep.performance = performance_metrics(pred->numbers, label->numbers, task, options.threshold);
    }
    rep.baseline_performance = baseline.performance;
  }

  const auto multivariate = multivariate_sums(baseline, table);
  std::vector<size_t> profiled;  // baseline columns that get statistics
  for (size_t i = 0; i < baseline.columns.size(); ++i) {
    const ColumnProfile& c = baseline.columns[i];
    if (c.role != ColumnRole::kId && c.role != ColumnRole::kTimestamp) profiled.push_back(i);
  }
  rep.features.resize(profiled.size());
  parallel_for(profiled.size(), [&](size_t k) {
    const ColumnProfile& base = baseline.columns[profiled[k]];
    const Column* col = table.find(base.name);
    FeatureResult& r = rep.features[k];
    const bool present = col != nullptr && col->present_in_input;
    if (!present) {
      r = start_feature(base, options.rules, table.rows, table.rows, 0, 0);
      r.status = "missing_in_serving";
    } else {
      r = start_feature(base, options.rules, table.rows, col->missing, col->type_errors,
                        col->infinite);
      if (base.kind == ColumnKind::kNumeric) {
        NumberVector* scratch = nullptr;
        if (consumable != nullptr) {
          scratch = &consumable->columns[static_cast<size_t>(col - table.columns.data())].numbers;
        }
        compare_numeric(base, *col, scratch, r);
      } else {
        compare_categorical(base, *col, r);
      }
    }
    decide_drift(r);
  });
  if (multivariate) {
    rep.features.push_back(
        compare_multivariate(*baseline.multivariate, *multivariate, options.rules, table.rows));
  }
  decide_calibrated(rep, options.rules);
  summarize_features(rep);
  return rep;
}

}  // namespace

void summarize_features(CheckReport& rep) {
  rep.missing_columns.clear();
  rep.drifting_features.clear();
  rep.features_compared = rep.features_drifted = 0;
  bool multivariate_drift = false;
  for (const auto& r : rep.features) {
    if (r.status == "missing_in_serving") rep.missing_columns.push_back(r.name);
    if (r.role != ColumnRole::kFeature) continue;
    if (r.name == kMultivariateColumn) {
      // A test of the features together: not one of the share's features,
      // but the dataset drifts when it does.
      multivariate_drift = r.drift;
      if (r.drift) rep.drifting_features.push_back(r.name);
      continue;
    }
    ++rep.features_compared;
    if (r.drift) {
      ++rep.features_drifted;
      rep.drifting_features.push_back(r.name);
    }
  }
  if (rep.features_compared > 0) {
    rep.drift_share =
        static_cast<double>(rep.features_drifted) / static_cast<double>(rep.features_compared);
    rep.dataset_drift = rep.features_drifted > 0 && rep.drift_share >= rep.share_threshold;
  }
  rep.dataset_drift = rep.dataset_drift || multivariate_drift;
}

CheckReport compare(const Baseline& baseline, const Table& table, const CheckOptions& options) {
  return compare_impl(baseline, table, nullptr, options);
}

CheckReport compare(const Baseline& baseline, Table&& table, const CheckOptions& options) {
  return compare_impl(baseline, table, &table, options);
}

Result<CheckReport> run_check(const Baseline& baseline, const FileBuffer& input,
                              const CheckOptions& options) {
  auto table = read_table(input, detect_format(input), baseline.schema(), options.read);
  if (!table) return table.error();
  return compare(baseline, std::move(*table), options);
}

}  // namespace driftd
