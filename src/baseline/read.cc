// Reading a baseline file back, every field checked (a correct checksum
// does not make a file trustworthy; docs/formats/baseline.md).
#include "driftd/baseline/baseline.h"

#include "src/baseline/format.h"

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

namespace driftd {

namespace {

// On-Demand, not DOM: the DOM copies every string into its own buffer,
// and a baseline is mostly its samples' base64 (21 MB for 20 columns of
// 100,000 values), which is decoded where it lies instead. Loading such a
// baseline took 14 ms of DOM parse and 5,200 page faults; On-Demand walks
// it in 3 ms (stage 1 of the whole text, then only the fields read).
// On-Demand reads forward: each object's fields are read as they come
// (lookups by key may skip ahead, and wrap around once), each value used
// before the next field is looked up.
namespace od = simdjson::ondemand;

// Field access with errors that say where in the file a value is wrong.
struct Reader {
  const std::string& source;
  std::string error;

  bool fail(const std::string& where, const std::string& what) {
    if (error.empty()) error = source + ": " + where + ": " + what;
    return false;
  }
  bool get(od::object& o, const char* key, const std::string& where, od::value& out) {
    if (o[key].get(out)) return fail(where + "." + key, "missing");
    return true;
  }
  bool object(od::object& o, const char* key, const std::string& where, od::object& out) {
    od::value v;
    if (!get(o, key, where, v)) return false;
    if (v.get_object().get(out)) return fail(where + "." + key, "expected an object");
    return true;
  }
  bool array(od::object& o, const char* key, const std::string& where, od::array& out) {
    od::value v;
    if (!get(o, key, where, v)) return false;
    if (v.get_array().get(out)) return fail(where + "." + key, "expected an array");
    return true;
  }
  bool str(od::object& o, const char* key, const std::string& where, std::string& out) {
    od::value v;
    if (!get(o, key, where, v)) return false;
    std::string_view s;
    if (v.get_string().get(s)) return fail(where + "." + key, "expected a string");
    out = std::string(s);
    return true;
  }
  // A string's raw text where it lies, between its quotes (for text that
  // needs no unescaping: a backslash in it stays, for the caller to refuse).
  bool raw_str(od::object& o, const char* key, const std::string& where, std::string_view& out) {
    od::value v;
    if (!get(o, key, where, v)) return false;
    // The token runs from the opening quote to the next structural byte:
    // the closing quote is its last quote.
    const std::string_view token = v.raw_json_token();
    od::raw_json_string raw;
    if (v.get_raw_json_string().get(raw) || token.size() < 2) {
      return fail(where + "." + key, "expected a string");
    }
    const size_t close = token.rfind('"');
    if (close == 0) return fail(where + "." + key, "expected a string");
    out = token.substr(1, close - 1);
    return true;
  }
  bool u64(od::object& o, const char* key, const std::string& where, uint64_t& out) {
    od::value v;
    if (!get(o, key, where, v)) return false;
    if (v.get_uint64().get(out)) return fail(where + "." + key, "expected a non-negative integer");
    return true;
  }
  bool boolean(od::object& o, const char* key, const std::string& where, bool& out) {
    od::value v;
    if (!get(o, key, where, v)) return false;
    if (v.get_bool().get(out)) return fail(where + "." + key, "expected true or false");
    return true;
  }
  // A finite number, or null when `nullable`.
  bool number(od::object& o, const char* key, const std::string& where, std::optional<double>& out,
              bool nullable) {
    od::value v;
    if (!get(o, key, where, v)) return false;
    bool is_null = false;
    if (!v.is_null().get(is_null) && is_null) {
      if (!nullable) return fail(where + "." + key, "expected a number, found null");
      out.reset();
      return true;
    }
    double d;
    if (v.get_double().get(d)) return fail(where + "." + key, "expected a number");
    out = d;
    return true;
  }
  bool number(od::object& o, const char* key, const std::string& where, double& out) {
    std::optional<double> v;
    if (!number(o, key, where, v, false)) return false;
    out = *v;
    return true;
  }
  bool numbers(od::object& o, const char* key, const std::string& where, std::vector<double>& out) {
    od::array a;
    if (!array(o, key, where, a)) return false;
    out.clear();
    for (auto x : a) {
      double d;
      if (x.get_double().get(d)) return fail(where + "." + key, "expected only numbers");
      out.push_back(d);
    }
    return true;
  }
  bool counts(od::object& o, const char* key, const std::string& where,
              std::vector<uint64_t>& out) {
    od::array a;
    if (!array(o, key, where, a)) return false;
    out.clear();
    for (auto x : a) {
      uint64_t u;
      if (x.get_uint64().get(u)) return fail(where + "." + key, "expected only counts");
      out.push_back(u);
    }
    return true;
  }
};

}  // namespace

namespace {

// `capacity`: readable bytes at text.data(), at least text.size() plus
// simdjson's padding, so that the text is parsed where it lies.
Result<Baseline> parse_baseline_padded(std::string_view text, size_t capacity,
                                       const std::string& source);

}  // namespace

Result<Baseline> parse_baseline(std::string_view text, const std::string& source) {
  const simdjson::padded_string padded(text);
  return parse_baseline_padded(std::string_view(padded.data(), padded.size()),
                               padded.size() + simdjson::SIMDJSON_PADDING, source);
}

namespace {

// A decoded sample: what is wrong with it, or nullptr. One vectorized
// pass in the usual case: ascending (<=, false at a NaN) with finite ends
// means every value is finite. Only a refused sample is walked again, so
// that a NaN is reported as non-finite rather than as out of order.
const char* sample_flaw(const NumberVector& x) {
  if (x.empty()) return nullptr;
  if (kernels::ascending(x.data(), x.size()) && std::isfinite(x.front()) &&
      std::isfinite(x.back())) {
    return nullptr;
  }
  for (const double v : x) {
    if (!std::isfinite(v)) return "sample holds a non-finite value";
  }
  return "sample is not sorted";
}

// The multivariate model (version 2 on): null, or a fit whose columns are
// numeric features of this baseline. An error message, or nullopt.
std::optional<std::string> read_multivariate(od::object& top, Reader& r, Baseline& b) {
  const std::string& source = r.source;
  od::value v;
  if (!r.get(top, "multivariate", "", v)) return r.error;
  bool is_null = false;
  if (!v.is_null().get(is_null) && is_null) return std::nullopt;
  od::object mo;
  od::array names, components;
  std::string method;
  stats::ReconstructionModel m;
  std::optional<double> explained, cap, mean, variance;
  const std::string where = "multivariate";
  if (v.get_object().get(mo)) return source + ": multivariate: expected an object or null";
  if (!r.str(mo, "method", where, method)) return r.error;
  if (method != "pca_reconstruction") {
    return source + ": multivariate.method: expected \"pca_reconstruction\"";
  }
  if (!r.array(mo, "columns", where, names)) return r.error;
  for (auto x : names) {
    std::string_view s;
    if (x.get_string().get(s)) return source + ": multivariate.columns: expected names";
    const ColumnProfile* c = b.find(s);
    if (c == nullptr || c->kind != ColumnKind::kNumeric || c->role != ColumnRole::kFeature) {
      return source + ": multivariate.columns: '" + std::string(s) +
             "' is not a numeric feature of the baseline";
    }
    if (std::find(m.columns.begin(), m.columns.end(), s) != m.columns.end()) {
      return source + ": multivariate.columns: '" + std::string(s) + "' twice";
    }
    if (m.columns.size() == stats::kReconstructionMaxColumns) {
      return source + ": multivariate.columns: more than " +
             std::to_string(stats::kReconstructionMaxColumns);
    }
    m.columns.emplace_back(s);
  }
  if (!r.numbers(mo, "means", where, m.means) || !r.numbers(mo, "scales", where, m.scales) ||
      !r.array(mo, "components", where, components)) {
    return r.error;
  }
  const size_t d = m.columns.size();
  // Arrays of d weights each, fewer than d in all.
  auto read_vectors = [&](od::array& vectors, const char* key, std::vector<double>& out,
                          size_t already, size_t& count) -> std::optional<std::string> {
    for (auto x : vectors) {
      od::array weights;
      if (x.get_array().get(weights) || already + count >= d) {
        return source + ": multivariate." + key + ": expected fewer than d arrays of d weights";
      }
      size_t n = 0;
      for (auto w : weights) {
        double value = 0;
        if (w.get_double().get(value) || n == d) {
          return source + ": multivariate." + key + "[" + std::to_string(count) + "]: expected " +
                 std::to_string(d) + " numbers";
        }
        out.push_back(value);
        ++n;
      }
      if (n != d) {
        return source + ": multivariate." + key + "[" + std::to_string(count) + "]: expected " +
               std::to_string(d) + " numbers";
      }
      ++count;
    }
    return std::nullopt;
  };
  if (auto err = read_vectors(components, "components", m.basis, 0, m.components)) return err;
  od::array residual;
  size_t residual_count = 0;
  if (!r.array(mo, "residual_components", where, residual)) return r.error;
  if (auto err =
          read_vectors(residual, "residual_components", m.residual, m.components, residual_count)) {
    return err;
  }
  if (!r.number(mo, "explained_variance", where, explained, false) ||
      !r.u64(mo, "rows", where, m.rows) || !r.number(mo, "error_cap", where, cap, false) ||
      !r.number(mo, "error_mean", where, mean, false) ||
      !r.number(mo, "error_variance", where, variance, false)) {
    return r.error;
  }
  m.explained_variance = *explained;
  m.error_cap = *cap;
  m.error_mean = *mean;
  m.error_variance = *variance;
  if (const std::string flaw = stats::reconstruction_flaw(m); !flaw.empty()) {
    return source + ": multivariate." + flaw;
  }
  if (b.find(kMultivariateColumn) != nullptr) {
    return source + ": multivariate: a column is named " + kMultivariateColumn +
           ", the multivariate test's";
  }
  m.prepare();
  b.multivariate = std::move(m);
  return std::nullopt;
}

Result<Baseline> parse_baseline_padded(std::string_view text, size_t capacity,
                                       const std::string& source) {
  const std::string truncated =
      source + ": not a complete driftd baseline (truncated, or not written by driftd)";
  // The checksum trailer must be the file's last key, covering all before
  // it; its hash runs on another core while this one parses.
  const size_t at = text.rfind(kChecksumKey);
  std::future<uint64_t> body_hash;
  if (at != std::string_view::npos) {
    body_hash = std::async(std::launch::async, [text, at] { return XXH3_64bits(text.data(), at); });
  }
  if (capacity < text.size() + simdjson::SIMDJSON_PADDING) return Error{source + ": not padded"};
  od::parser parser;
  od::document doc;
  auto invalid = [&](simdjson::error_code err, const std::string& where) -> Error {
    if (at == std::string_view::npos) return Error{truncated};
    return Error{source + ": not valid JSON" + (where.empty() ? "" : " at " + where.substr(1)) +
                 ": " + simdjson::error_message(err)};
  };
  if (auto err = parser.iterate(simdjson::padded_string_view(text.data(), text.size(), capacity))
                     .get(doc)) {
    return invalid(err, "");
  }
  // The whole document is walked once before it is read: On-Demand's reads
  // by key assume a valid structure (see json_walk.h), and whoever can write
  // the file can recompute its checksum. The walk visits every token but
  // decodes nothing (the base64 samples are one token each).
  if (std::string where; auto err = json::validate_document(doc, json::kBaselineRules, &where)) {
    return invalid(err, where);
  }
  od::object top;
  if (doc.get_object().get(top)) {
    return Error{source + ": not a driftd baseline (not a JSON object)"};
  }
  std::string_view format;
  if (top["format"].get_string().get(format) || format != kBaselineFormatName) {
    return Error{source + ": not a driftd baseline (\"format\" is not \"" +
                 std::string(kBaselineFormatName) + "\")"};
  }
  int64_t version = 0;
  if (top["format_version"].get_int64().get(version)) {
    return Error{source + ": format_version is missing or not an integer"};
  }
  if (version < kOldestBaselineFormatVersion || version > kBaselineFormatVersion) {
    return Error{source + ": baseline format version " + std::to_string(version) +
                 "; this driftd (" DRIFTD_VERSION ") reads versions " +
                 std::to_string(kOldestBaselineFormatVersion) + " to " +
                 std::to_string(kBaselineFormatVersion) +
                 ": rebuild it with `driftd baseline build`"};
  }
  if (at == std::string_view::npos) return Error{truncated};
  std::string_view stored = text.substr(at + kChecksumKey.size());
  if (stored.size() < 16) return Error{truncated};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(body_hash.get()));
  if (stored.substr(0, 16) != std::string_view(hex, 16) || stored.substr(16) != "\"\n}\n") {
    return Error{source +
                 ": checksum mismatch: the file was changed or damaged after it was written"};
  }

  // Past the checksum, the text is as driftd wrote it, unless written to
  // look so: every value is still checked as it is read.
  Baseline b;
  b.format_version = static_cast<int>(version);
  Reader r{source, {}};
  od::object model, input, settings, roles;
  uint64_t bins = 0;
  const bool ok =
      r.str(top, "driftd_version", "", b.driftd_version) &&
      r.str(top, "built_at", "", b.built_at) && r.object(top, "model", "", model) &&
      r.str(model, "name", "model", b.model_name) &&
      r.str(model, "version", "model", b.model_version) && r.object(top, "input", "", input) &&
      r.str(input, "file", "input", b.input.file) &&
      r.str(input, "format", "input", b.input.format) &&
      r.u64(input, "bytes", "input", b.input.bytes) &&
      r.str(input, "xxh3_64", "input", b.input.xxh3_64) &&
      r.u64(input, "rows", "input", b.input.rows) &&
      r.u64(input, "skipped_rows", "input", b.input.skipped_rows) &&
      r.object(top, "settings", "", settings) && r.u64(settings, "bins", "settings", bins) &&
      r.u64(settings, "sample_cap", "settings", b.settings.sample_cap) &&
      r.u64(settings, "seed", "settings", b.settings.seed) &&
      r.u64(settings, "max_categories", "settings", b.settings.max_categories) &&
      r.u64(settings, "max_other_names", "settings", b.settings.max_other_names) &&
      r.object(top, "roles", "", roles) &&
      r.str(roles, "prediction", "roles", b.prediction_column) &&
      r.str(roles, "label", "roles", b.label_column) && r.str(roles, "id", "roles", b.id_column) &&
      r.str(roles, "timestamp", "roles", b.timestamp_column);
  if (!ok) return Error{r.error.empty() ? source + ": malformed header" : r.error};
  if (bins < 2 || bins > 10000) return Error{source + ": settings.bins: must be in [2, 10000]"};
  b.settings.bins = static_cast<int>(bins);

  od::value perf;
  if (!r.get(top, "performance", "", perf)) return Error{r.error};
  bool perf_null = false;
  if (perf.is_null().get(perf_null) || !perf_null) {
    od::object po, metrics;
    std::string task;
    Performance p;
    if (perf.get_object().get(po) || !r.str(po, "task", "performance", task) ||
        !r.u64(po, "rows", "performance", p.rows) ||
        !r.object(po, "metrics", "performance", metrics)) {
      return Error{r.error.empty() ? source + ": performance: malformed" : r.error};
    }
    if (task != "classification" && task != "regression") {
      return Error{source + ": performance.task: expected classification or regression"};
    }
    p.task = task == "classification" ? Task::kClassification : Task::kRegression;
    for (auto field : metrics) {
      std::string_view key;
      od::value val;
      if (field.unescaped_key().get(key) || field.value().get(val)) {
        return Error{source + ": performance.metrics: malformed"};
      }
      std::string name(key);
      bool val_null = false;
      double d;
      if (!val.is_null().get(val_null) && val_null) {
        p.metrics.push_back({std::move(name), std::nullopt});
      } else if (!val.get_double().get(d)) {
        p.metrics.push_back({std::move(name), d});
      } else {
        return Error{source + ": performance.metrics." + name + ": expected a number"};
      }
    }
    b.performance = std::move(p);
  }

  od::array columns;
  if (top["columns"].get_array().get(columns))
    return Error{source + ": columns: expected an array"};
  // Samples are decoded after the walk, on all cores (they are most of the file).
  struct PendingSample {
    size_t column;
    std::string where;
    std::string_view base64;
    uint64_t count;
  };
  std::vector<PendingSample> pending_samples;
  size_t idx = 0;
  for (auto ce : columns) {
    const std::string where = "columns[" + std::to_string(idx++) + "]";
    od::object co;
    if (ce.get_object().get(co)) return Error{source + ": " + where + ": expected an object"};
    ColumnProfile c;
    std::string kind, role;
    if (!r.str(co, "name", where, c.name) || !r.str(co, "kind", where, kind) ||
        !r.str(co, "role", where, role) || !r.u64(co, "rows", where, c.rows) ||
        !r.u64(co, "missing", where, c.missing) || !r.u64(co, "infinite", where, c.infinite)) {
      return Error{r.error};
    }
    const std::string named = where + " (" + c.name + ")";
    if (kind == "numeric") {
      c.kind = ColumnKind::kNumeric;
    } else if (kind == "categorical") {
      c.kind = ColumnKind::kCategorical;
    } else {
      return Error{source + ": " + named + ".kind: expected numeric or categorical"};
    }
    const std::pair<const char*, ColumnRole> role_names[] = {
        {"feature", ColumnRole::kFeature},
        {"prediction", ColumnRole::kPrediction},
        {"label", ColumnRole::kLabel},
        {"id", ColumnRole::kId},
        {"timestamp", ColumnRole::kTimestamp}};
    bool role_ok = false;
    for (const auto& [n, v] : role_names) {
      if (role == n) c.role = v, role_ok = true;
    }
    if (!role_ok) return Error{source + ": " + named + ".role: unknown role '" + role + "'"};
    if (b.find(c.name)) return Error{source + ": " + named + ": column name appears twice"};
    if (c.missing + c.infinite > c.rows) {
      return Error{source + ": " + named + ": missing + infinite exceeds rows"};
    }
    if (c.role == ColumnRole::kId || c.role == ColumnRole::kTimestamp) {
      b.columns.push_back(std::move(c));
      continue;
    }
    if (c.kind == ColumnKind::kNumeric) {
      auto& n = c.numeric;
      uint64_t count = 0, sample_count = 0;
      std::string_view sample_text;
      if (!r.u64(co, "count", named, count) || !r.number(co, "min", named, n.moments.min) ||
          !r.number(co, "max", named, n.moments.max) ||
          !r.number(co, "mean", named, n.moments.mean) ||
          !r.number(co, "std", named, n.moments.std) ||
          !r.number(co, "skewness", named, n.moments.skewness, true) ||
          !r.number(co, "kurtosis", named, n.moments.kurtosis, true) ||
          !r.numbers(co, "cut_points", named, n.cut_points) ||
          !r.counts(co, "bin_counts", named, n.bin_counts) ||
          !r.boolean(co, "sample_is_complete", named, n.sample_is_complete) ||
          !r.u64(co, "sample_count", named, sample_count) ||
          !r.raw_str(co, "sample_f64le_base64", named, sample_text)) {
        return Error{r.error};
      }
      pending_samples.push_back({b.columns.size(), named, sample_text, sample_count});
      n.moments.count = count;
      if (count + c.missing + c.infinite != c.rows) {
        return Error{source + ": " + named + ": count + missing + infinite != rows"};
      }
      const size_t want_bins = count == 0 ? 0 : n.cut_points.size() + 1;
      if (n.bin_counts.size() != want_bins) {
        return Error{source + ": " + named + ": bin_counts has " +
                     std::to_string(n.bin_counts.size()) + " entries for " +
                     std::to_string(n.cut_points.size()) + " cut points"};
      }
      uint64_t total = 0;
      for (const uint64_t x : n.bin_counts) total += x;
      if (total != count)
        return Error{source + ": " + named + ": bin_counts do not add up to count"};
      if (!std::is_sorted(n.cut_points.begin(), n.cut_points.end()) ||
          std::adjacent_find(n.cut_points.begin(), n.cut_points.end()) != n.cut_points.end()) {
        return Error{source + ": " + named + ": cut_points are not strictly increasing"};
      }
      if ((count > 0 && sample_count == 0) || sample_count > count ||
          (n.sample_is_complete && sample_count != count)) {
        return Error{source + ": " + named + ": sample size does not match count"};
      }
    } else {
      auto& k = c.categorical;
      od::array ca, on;
      if (!r.u64(co, "count", named, k.count) || !r.array(co, "categories", named, ca)) {
        return Error{r.error};
      }
      const std::string pairs_error =
          source + ": " + named + ".categories: expected [name, count] pairs";
      uint64_t total = 0;
      for (auto pair : ca) {
        od::array pa;
        if (pair.get_array().get(pa)) return Error{pairs_error};
        std::string name;
        uint64_t cnt = 0;
        size_t items = 0;
        for (auto item : pa) {
          std::string_view s;
          if (items == 0 && !item.get_string().get(s)) {
            name = std::string(s);
          } else if (items != 1 || item.get_uint64().get(cnt)) {
            return Error{pairs_error};
          }
          ++items;
        }
        if (items != 2) return Error{pairs_error};
        k.categories.push_back({std::move(name), cnt});
        total += cnt;
      }
      if (!r.u64(co, "other_count", named, k.other_count) ||
          !r.boolean(co, "other_names_complete", named, k.other_names_complete)) {
        return Error{r.error};
      }
      od::value other_names;
      if (co["other_names"].get(other_names) || other_names.get_array().get(on)) {
        return Error{source + ": " + named + ".other_names: expected an array"};
      }
      for (auto x : on) {
        std::string_view s;
        if (x.get_string().get(s))
          return Error{source + ": " + named + ".other_names: expected strings"};
        k.other_names.emplace_back(s);
      }
      if (total + k.other_count != k.count || k.count + c.missing != c.rows) {
        return Error{source + ": " + named + ": category counts do not add up"};
      }
    }
    b.columns.push_back(std::move(c));
  }
  if (b.columns.empty()) return Error{source + ": the baseline has no columns"};
  if (version >= 2) {
    if (auto err = read_multivariate(top, r, b)) return Error{*err};
  }
  std::vector<std::string> sample_errors(pending_samples.size());
  parallel_for(pending_samples.size(), [&](size_t k) {
    const PendingSample& ps = pending_samples[k];
    auto sample = doubles_from_base64(ps.base64);
    std::string& err = sample_errors[k];
    if (!sample || sample->size() != ps.count) {
      err = source + ": " + ps.where + ".sample_f64le_base64: not " + std::to_string(ps.count) +
            " base64-encoded doubles";
      return;
    }
    if (const char* flaw = sample_flaw(*sample)) {
      err = source + ": " + ps.where + ": " + flaw;
      return;
    }
    b.columns[ps.column].numeric.sample = std::move(*sample);
  });
  for (const auto& err : sample_errors) {
    if (!err.empty()) return Error{err};
  }
  for (const auto& [name, role] : role_columns(b)) {
    if (name->empty()) continue;
    const ColumnProfile* c = b.find(*name);
    if (c == nullptr || c->role != role) {
      return Error{source + ": roles." + to_string(role) + " names '" + *name +
                   "', which is not a column with that role"};
    }
  }
  return b;
}

}  // namespace

Result<Baseline> load_baseline(const std::string& path) {
  auto file = FileBuffer::load(path);
  if (!file) return file.error();
  return parse_baseline_padded(file->text(), file->capacity(), path);
}

Status check_baseline_identity(const Baseline& b, const std::string& source,
                               const std::string& model_name, const std::string& model_version) {
  if (!model_name.empty() && model_name != b.model_name) {
    return Error{source + ": baseline is for model '" + b.model_name + "', not '" + model_name +
                 "'"};
  }
  if (!model_version.empty() && model_version != b.model_version) {
    return Error{source + ": baseline is for model version '" + b.model_version + "', not '" +
                 model_version + "'"};
  }
  return {};
}

}  // namespace driftd
