// The training baseline: a profile of the training data that every drift
// statistic compares against. Built once by `driftd baseline build`, stored
// as a JSON file (format "driftd-baseline", version 2; version 1 is still
// read) that ends with an XXH3-64 checksum of everything before it.
//
// File layout (keys in this order; see README "Baseline file"):
//   format, format_version, driftd_version, built_at, model {name, version},
//   input {file, format, bytes, xxh3_64, rows, skipped_rows},
//   settings {bins, sample_cap, seed, max_categories, max_other_names},
//   roles {prediction, label, id, timestamp}, performance, columns [...],
//   multivariate (version 2 on: the principal components, or null), checksum
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "driftd/common/result.h"
#include "driftd/io/readers.h"
#include "driftd/io/table.h"
#include "driftd/stats/performance.h"
#include "driftd/stats/reconstruction.h"
#include "driftd/stats/summary.h"

namespace driftd {

// 2: the multivariate test's model (stats/reconstruction.h).
inline constexpr int kBaselineFormatVersion = 2;
inline constexpr int kOldestBaselineFormatVersion = 1;
inline constexpr const char* kBaselineFormatName = "driftd-baseline";

// The pseudo-column that reports the multivariate test (a column of this
// name gets no multivariate model).
inline constexpr const char* kMultivariateColumn = "_multivariate";

enum class ColumnRole { kFeature, kPrediction, kLabel, kId, kTimestamp };
const char* to_string(ColumnRole role);

struct NumericProfile {
  Moments moments;                   // over present, finite values
  std::vector<double> cut_points;    // quantiles at k/B, duplicates removed
  std::vector<uint64_t> bin_counts;  // cut_points.size() + 1
  NumberVector sample;               // sorted; every value, or a reservoir
  bool sample_is_complete = true;    // false: a seeded reservoir of sample_cap values
};

struct CategoryCount {
  std::string category;
  uint64_t count = 0;
};

struct CategoricalProfile {
  uint64_t count = 0;  // present values
  // The most frequent categories, by count descending then text ascending.
  std::vector<CategoryCount> categories;
  // Everything past max_categories, pooled into one bin.
  uint64_t other_count = 0;
  // Names of the pooled categories (sorted), so that a serving value from the
  // pool is not mistaken for a new category; complete up to max_other_names.
  std::vector<std::string> other_names;
  bool other_names_complete = true;
};

struct ColumnProfile {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  ColumnRole role = ColumnRole::kFeature;
  uint64_t rows = 0;
  uint64_t missing = 0;
  uint64_t type_errors = 0;  // always 0 for a baseline: kinds come from the data
  uint64_t infinite = 0;
  NumericProfile numeric;          // kind == kNumeric
  CategoricalProfile categorical;  // kind == kCategorical
};

struct BaselineSettings {
  int bins = 10;
  uint64_t sample_cap = 100000;
  uint64_t seed = 42;
  uint64_t max_categories = 1000;
  uint64_t max_other_names = 100000;
};

// The role columns a baseline, or its build options, name, each with its
// role (an empty name names no column).
template <class Named>
std::array<std::pair<const std::string*, ColumnRole>, 4> role_columns(const Named& n) {
  return {{{&n.prediction_column, ColumnRole::kPrediction},
           {&n.label_column, ColumnRole::kLabel},
           {&n.id_column, ColumnRole::kId},
           {&n.timestamp_column, ColumnRole::kTimestamp}}};
}

struct Baseline {
  int format_version = kBaselineFormatVersion;
  std::string driftd_version;
  std::string built_at;  // ISO 8601, UTC
  std::string model_name;
  std::string model_version;
  struct Input {
    std::string file;    // base name
    std::string format;  // "csv" or "jsonl"
    uint64_t bytes = 0;
    std::string xxh3_64;
    uint64_t rows = 0;
    uint64_t skipped_rows = 0;
  } input;
  BaselineSettings settings;
  std::string prediction_column, label_column, id_column, timestamp_column;
  std::optional<Performance> performance;
  std::vector<ColumnProfile> columns;
  // The multivariate test's model, fitted on the numeric features (none:
  // fewer than two, too few rows, a version 1 file, or a column named
  // kMultivariateColumn).
  std::optional<stats::ReconstructionModel> multivariate;

  const ColumnProfile* find(std::string_view name) const;
  std::vector<ColumnSpec> schema() const;
};

struct BaselineBuildOptions {
  BaselineSettings settings;
  std::set<std::string> categorical;  // forced categorical
  std::string prediction_column, label_column, id_column, timestamp_column;
  std::string model_name, model_version;
  std::optional<Task> task;  // performance task override
  double threshold = 0.5;    // classification threshold for performance
  std::string built_at;      // empty: now, or SOURCE_DATE_EPOCH when set
  ReadOptions read;
};

// Reads `input` and profiles it.
Result<Baseline> build_baseline(const FileBuffer& input, const BaselineBuildOptions& options);

// Profiles an already-read table (input metadata left for the caller).
Result<Baseline> profile_table(const Table& table, const BaselineBuildOptions& options);

// The file's exact bytes, checksum included.
std::string serialize_baseline(const Baseline& baseline);
// The same bytes as pieces to write in order (no copy of the large samples).
std::vector<std::string> serialize_baseline_pieces(const Baseline& baseline);

// Parses and checks: format name and version, checksum, and that every part
// is consistent (bins match cuts, samples sorted, counts add up).
Result<Baseline> parse_baseline(std::string_view text, const std::string& source);

Result<Baseline> load_baseline(const std::string& path);

// Writes to a temporary file in the same directory, fsyncs, renames over
// `path`: readers see the old file or the new one, never a partial one.
Status write_file_atomic(const std::string& path, std::string_view bytes);
Status write_file_atomic(const std::string& path, std::span<const std::string> pieces);

// Refuses a baseline of another model or model version (when asked for one).
Status check_baseline_identity(const Baseline& baseline, const std::string& source,
                               const std::string& model_name, const std::string& model_version);

// Current UTC time (or SOURCE_DATE_EPOCH) as ISO 8601 with a Z.
std::string build_timestamp();

}  // namespace driftd
