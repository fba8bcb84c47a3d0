// Profiling a training table into a Baseline (`driftd baseline build`).
#include "driftd/baseline/baseline.h"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <random>

#include <simdjson.h>

#include <xxhash.h>
#include "src/io/json_walk.h"

#include "driftd/common/parallel.h"
#include "driftd/io/base64.h"
#include "driftd/io/json_writer.h"
#include "driftd/kernels/kernels.h"
#include "driftd/stats/quantile.h"

namespace driftd {

const char* to_string(ColumnRole role) {
  switch (role) {
    case ColumnRole::kFeature:
      return "feature";
    case ColumnRole::kPrediction:
      return "prediction";
    case ColumnRole::kLabel:
      return "label";
    case ColumnRole::kId:
      return "id";
    case ColumnRole::kTimestamp:
      return "timestamp";
  }
  return "feature";
}

const ColumnProfile* Baseline::find(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<ColumnSpec> Baseline::schema() const {
  std::vector<ColumnSpec> s;
  for (const auto& c : columns) s.push_back({c.name, c.kind});
  return s;
}

std::string build_timestamp() {
  std::time_t t = std::time(nullptr);
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde) {
    t = static_cast<std::time_t>(std::strtoll(sde, nullptr, 10));
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

uint64_t name_hash(const std::string& s) {
  return XXH3_64bits(s.data(), s.size());
}

// `scratch`: the column's own array when the table was given away (the
// values are compacted and sorted in place and end up as the sample), else
// null and the values are copied.
NumericProfile profile_numeric(const Column& col, NumberVector* scratch,
                               const BaselineSettings& st) {
  NumericProfile p;
  NumberVector copied;
  NumberVector& values = finite_working_values(col, scratch, copied);
  p.moments = compute_moments(values);
  if (values.empty()) return p;
  if (values.size() > st.sample_cap) {
    // Reservoir sampling, Algorithm R (Vitter 1985, "Random sampling with a
    // reservoir"), over the values in input order (so before sorting).
    // mt19937_64's output is fixed by the C++ standard, so the same seed
    // gives the same sample on every platform; the seed is mixed with the
    // column name so columns do not share one sample pattern.
    std::mt19937_64 rng(st.seed ^ name_hash(col.name));
    p.sample.assign(values.begin(), values.begin() + static_cast<ptrdiff_t>(st.sample_cap));
    for (uint64_t i = st.sample_cap; i < values.size(); ++i) {
      const uint64_t j = rng() % (i + 1);
      if (j < st.sample_cap) p.sample[j] = values[i];
    }
    kernels::sort(p.sample.data(), p.sample.size());
    p.sample_is_complete = false;
  }
  kernels::sort(values.data(), values.size());
  p.cut_points = stats::quantile_cut_points(values, st.bins);
  p.bin_counts = bin_counts_sorted(values, p.cut_points);
  if (p.sample.empty()) {
    p.sample = std::move(values);
    p.sample_is_complete = true;
  }
  return p;
}

CategoricalProfile profile_categorical(const Column& col, const BaselineSettings& st) {
  CategoricalProfile p;
  std::vector<uint64_t> counts(col.dictionary.size(), 0);
  for (const uint32_t code : col.codes) {
    if (code != Column::kMissingCode) ++counts[code];
  }
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (counts[a] != counts[b]) return counts[a] > counts[b];
    return col.dictionary[a] < col.dictionary[b];
  });
  for (size_t k = 0; k < order.size(); ++k) {
    const uint32_t code = order[k];
    p.count += counts[code];
    if (k < st.max_categories) {
      p.categories.push_back({col.dictionary[code], counts[code]});
    } else {
      p.other_count += counts[code];
      if (p.other_names.size() < st.max_other_names) {
        p.other_names.push_back(col.dictionary[code]);
      } else {
        p.other_names_complete = false;
      }
    }
  }
  std::sort(p.other_names.begin(), p.other_names.end());
  return p;
}

}  // namespace

namespace {

// `consumable`: the same table when its arrays may be reused as working
// memory (then `table`'s numeric columns are compacted and sorted).
Result<Baseline> profile_impl(const Table& table, Table* consumable,
                              const BaselineBuildOptions& opt) {
  Baseline b;
  b.driftd_version = DRIFTD_VERSION;
  b.built_at = opt.built_at.empty() ? build_timestamp() : opt.built_at;
  b.model_name = opt.model_name;
  b.model_version = opt.model_version;
  b.settings = opt.settings;
  b.input.rows = table.rows;
  b.input.skipped_rows = table.skipped_rows;
  b.prediction_column = opt.prediction_column;
  b.label_column = opt.label_column;
  b.id_column = opt.id_column;
  b.timestamp_column = opt.timestamp_column;

  std::string names;
  for (const auto& c : table.columns) names += (names.empty() ? "" : ", ") + c.name;
  const std::pair<const std::string*, const char*> roles[] = {
      {&opt.prediction_column, "--prediction"},
      {&opt.label_column, "--label"},
      {&opt.id_column, "--id"},
      {&opt.timestamp_column, "--timestamp"}};
  for (const auto& [col, flag] : roles) {
    if (!col->empty() && table.find(*col) == nullptr) {
      return Error{std::string(flag) + " " + *col + ": " + table.source +
                   " has no such column (columns: " + names + ")"};
    }
  }
  for (const auto& name : opt.categorical) {
    if (table.find(name) == nullptr) {
      return Error{"--categorical " + name + ": " + table.source +
                   " has no such column (columns: " + names + ")"};
    }
  }

  // Performance first: it pairs prediction and label rows, which profiling
  // in place reorders.
  if (!opt.prediction_column.empty() && !opt.label_column.empty()) {
    const Column* pred = table.find(opt.prediction_column);
    const Column* label = table.find(opt.label_column);
    if (pred->kind == ColumnKind::kNumeric && label->kind == ColumnKind::kNumeric) {
      const Task task = opt.task.value_or(infer_task(label->numbers));
      b.performance = performance_metrics(pred->numbers, label->numbers, task, opt.threshold);
    }
  }
  // The multivariate model too: it reads the numeric features' rows
  // together. A column with the pseudo-column's name gets none.
  std::vector<stats::ReconstructionColumn> features;
  bool name_taken = false;
  for (const Column& col : table.columns) {
    name_taken = name_taken || col.name == kMultivariateColumn;
    bool has_role = false;
    for (const auto& [role_column, role] : role_columns(opt)) {
      has_role = has_role || (!role_column->empty() && col.name == *role_column);
    }
    if (col.kind == ColumnKind::kNumeric && col.present_in_input && !has_role) {
      features.push_back({col.name, col.numbers});
    }
  }
  if (!name_taken) b.multivariate = stats::fit_reconstruction(features, table.rows);

  b.columns.resize(table.columns.size());
  // Columns are independent: profile them on all cores.
  parallel_for(table.columns.size(), [&](size_t i) {
    const Column& col = table.columns[i];
    ColumnProfile& p = b.columns[i];
    p.name = col.name;
    p.kind = col.kind;
    p.rows = table.rows;
    p.missing = col.missing;
    p.type_errors = col.type_errors;
    p.infinite = col.infinite;
    // A role not given is empty and names no column (an unnamed one, like
    // the index pandas writes, is a feature).
    for (const auto& [role_column, role] : role_columns(opt)) {
      if (!role_column->empty() && col.name == *role_column) p.role = role;
    }
    if (p.role == ColumnRole::kId || p.role == ColumnRole::kTimestamp) return;
    if (col.kind == ColumnKind::kNumeric) {
      p.numeric = profile_numeric(col, consumable ? &consumable->columns[i].numbers : nullptr,
                                  opt.settings);
    } else {
      p.categorical = profile_categorical(col, opt.settings);
    }
  });

  return b;
}

}  // namespace

Result<Baseline> profile_table(const Table& table, const BaselineBuildOptions& opt) {
  return profile_impl(table, nullptr, opt);
}

Result<Baseline> build_baseline(const FileBuffer& input, const BaselineBuildOptions& opt) {
  const InputFormat format = detect_format(input);
  Result<Table> table = Error{};
  if (format == InputFormat::kCsv) {
    // One pass in the common case: read every column as numeric (unless
    // forced categorical); a column with a value that is not a number is
    // categorical, and only then is the file read again with that schema.
    auto names = csv_header_names(input);
    if (!names) return names.error();
    std::vector<ColumnSpec> schema;
    for (const auto& n : *names) {
      schema.push_back(
          {n, opt.categorical.count(n) ? ColumnKind::kCategorical : ColumnKind::kNumeric});
    }
    table = read_table(input, format, schema, opt.read);
    if (!table) return table.error();
    bool reread = false;
    for (size_t i = 0; i < schema.size(); ++i) {
      if (table->columns[i].kind == ColumnKind::kNumeric && table->columns[i].type_errors > 0) {
        schema[i].kind = ColumnKind::kCategorical;
        reread = true;
      }
    }
    if (reread) table = read_table(input, format, schema, opt.read);
  } else {
    auto schema = infer_schema(input, format, opt.categorical, opt.read);
    if (!schema) return schema.error();
    table = read_table(input, format, *schema, opt.read);
  }
  if (!table) return table.error();
  auto b = profile_impl(*table, &*table, opt);
  if (!b) return b;
  b->input.file = base_name(input.path());
  b->input.format = format == InputFormat::kCsv ? "csv" : "jsonl";
  b->input.bytes = input.size();
  b->input.xxh3_64 = input.content_hash();
  return b;
}

}  // namespace driftd
