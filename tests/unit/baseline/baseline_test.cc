// The baseline file format: golden file, every truncation, version and
// checksum refusals, atomic writes, and the seeded reservoir.
#include <filesystem>
#include <fstream>
#include <set>

#include <simdjson.h>
#include <xxhash.h>

#include "driftd/baseline/baseline.h"
#include "test_util.h"

using namespace driftd;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

BaselineBuildOptions golden_options() {
  BaselineBuildOptions o;
  o.id_column = "id";
  o.prediction_column = "score";
  o.label_column = "label";
  o.model_name = "fraud";
  o.model_version = "3";
  o.settings.bins = 4;
  o.settings.max_categories = 3;
  o.built_at = "2025-11-25T00:00:00Z";
  return o;
}
}  // namespace

TEST_CASE("golden baseline v1 reads back with its values", "[baseline][golden]") {
  auto b = load_baseline(test::data_path("golden/baseline_v1.json"));
  REQUIRE(b.ok());
  CHECK(b->format_version == 1);
  CHECK(b->model_name == "fraud");
  CHECK(b->model_version == "3");
  CHECK(b->built_at == "2025-11-25T00:00:00Z");
  CHECK(b->input.rows == 40);
  CHECK(b->input.file == "train.csv");
  const ColumnProfile* amount = b->find("amount");
  REQUIRE(amount);
  CHECK(amount->missing == 3);
  CHECK(amount->numeric.cut_points == std::vector<double>{9.01, 15.54, 37.11});
  CHECK(amount->numeric.bin_counts == std::vector<uint64_t>{9, 9, 9, 10});
  const ColumnProfile* country = b->find("country");
  REQUIRE(country);
  CHECK(country->kind == ColumnKind::kCategorical);
  CHECK(country->categorical.categories.size() == 3);
  CHECK(country->categorical.other_count == 7);
  CHECK(country->categorical.other_names == std::vector<std::string>{"DE"});
  CHECK(b->find("id")->role == ColumnRole::kId);
  REQUIRE(b->performance);
  CHECK(b->performance->task == Task::kClassification);
}

namespace {
// Same JSON document: strings, integers and structure exactly, floating
// point values within 1e-12 relative (the last bit of a sum can differ
// between -O2 and -O3 builds).
bool same_document(simdjson::dom::element a, simdjson::dom::element b, std::string where) {
  using simdjson::dom::element_type;
  if (a.type() != b.type()) {
    UNSCOPED_INFO(where << ": types differ");
    return false;
  }
  switch (a.type()) {
    case element_type::OBJECT: {
      auto oa = a.get_object().value(), ob = b.get_object().value();
      if (oa.size() != ob.size()) return UNSCOPED_INFO(where << ": sizes differ"), false;
      for (auto [k, v] : oa) {
        simdjson::dom::element w;
        if (ob[k].get(w)) return UNSCOPED_INFO(where << "." << k << ": missing"), false;
        if (k == "checksum") continue;  // covers the bytes, compared below by value
        if (!same_document(v, w, where + "." + std::string(k))) return false;
      }
      return true;
    }
    case element_type::ARRAY: {
      auto aa = a.get_array().value(), ab = b.get_array().value();
      if (aa.size() != ab.size()) return UNSCOPED_INFO(where << ": lengths differ"), false;
      for (size_t i = 0; i < aa.size(); ++i) {
        if (!same_document(aa.at(i).value(), ab.at(i).value(),
                           where + "[" + std::to_string(i) + "]"))
          return false;
      }
      return true;
    }
    case element_type::DOUBLE: {
      const double x = a.get_double().value(), y = b.get_double().value();
      if (std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y))) return true;
      UNSCOPED_INFO(where << ": " << x << " vs " << y);
      return false;
    }
    default:
      if (simdjson::to_string(a) == simdjson::to_string(b)) return true;
      UNSCOPED_INFO(where << ": " << simdjson::to_string(a) << " vs " << simdjson::to_string(b));
      return false;
  }
}
}  // namespace

TEST_CASE("golden baseline v2 reads back with its multivariate model", "[baseline][golden]") {
  auto b = load_baseline(test::data_path("golden/baseline_v2.json"));
  REQUIRE(b.ok());
  CHECK(b->format_version == 2);
  CHECK(b->input.rows == 320);
  REQUIRE(b->multivariate);
  const auto& m = *b->multivariate;
  // The numeric features (not the prediction, label or id), baseline order.
  CHECK(m.columns == std::vector<std::string>{"amount", "age", "tenure"});
  // age and tenure move together: two components hold 65% of three.
  CHECK(m.components == 2);
  CHECK(m.explained_variance > 0.65);
  CHECK(m.rows == 320);
  CHECK(m.error_mean > 0);
  CHECK(m.error_mean < m.error_cap);
  CHECK(stats::reconstruction_flaw(m).empty());
  // A version 1 file has no model.
  auto v1 = load_baseline(test::data_path("golden/baseline_v1.json"));
  REQUIRE(v1.ok());
  CHECK_FALSE(v1->multivariate.has_value());
}

TEST_CASE("the writer reproduces the golden files byte for byte", "[baseline][golden]") {
  for (const char* name : {"golden/baseline_v1.json", "golden/baseline_v2.json"}) {
    INFO(name);
    const std::string golden = slurp(test::data_path(name));
    auto b = parse_baseline(golden, "golden");
    REQUIRE(b.ok());
    // If this fails the format changed: bump kBaselineFormatVersion, keep
    // reading the older versions (or refuse them clearly), and add a new
    // golden file.
    CHECK(serialize_baseline(*b) == golden);
  }
}

TEST_CASE("building the golden v2 input again gives the golden document", "[baseline][golden]") {
  auto input = FileBuffer::load(test::data_path("golden/train_v2.csv"));
  REQUIRE(input.ok());
  auto b = build_baseline(*input, golden_options());
  REQUIRE(b.ok());
  b->driftd_version = "0.1.0";
  const std::string rebuilt = serialize_baseline(*b);
  const std::string golden_path = test::data_path("golden/baseline_v2.json");
  if (std::getenv("DRIFTD_WRITE_GOLDEN") != nullptr) std::ofstream(golden_path) << rebuilt;
  REQUIRE(parse_baseline(rebuilt, "rebuilt").ok());
  simdjson::dom::parser pa, pb;
  auto da = pa.parse(rebuilt).value();
  auto db = pb.parse(slurp(golden_path)).value();
  CHECK(same_document(da, db, "$"));
}

TEST_CASE("building the golden input again gives the golden document", "[baseline][golden]") {
  auto input = FileBuffer::load(test::data_path("golden/train.csv"));
  REQUIRE(input.ok());
  auto b = build_baseline(*input, golden_options());
  REQUIRE(b.ok());
  b->driftd_version = "0.1.0";  // the version that wrote the golden file
  b->format_version = 1;        // and its format (no multivariate model: 40 rows)
  CHECK_FALSE(b->multivariate.has_value());
  const std::string rebuilt = serialize_baseline(*b);
  REQUIRE(parse_baseline(rebuilt, "rebuilt").ok());
  simdjson::dom::parser pa, pb;
  auto da = pa.parse(rebuilt).value();
  auto db = pb.parse(slurp(test::data_path("golden/baseline_v1.json"))).value();
  CHECK(same_document(da, db, "$"));
}

TEST_CASE("every truncation of a baseline is refused with a clear error", "[baseline]") {
  for (const char* name : {"golden/baseline_v1.json", "golden/baseline_v2.json"}) {
    const std::string full = slurp(test::data_path(name));
    REQUIRE(parse_baseline(full, "b.json").ok());
    for (size_t len = 0; len < full.size(); ++len) {
      auto r = parse_baseline(std::string_view(full).substr(0, len), "b.json");
      INFO(name << ", length " << len);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message.rfind("b.json: ", 0) == 0);
    }
  }
}

TEST_CASE("another format version, a changed byte, another file are refused", "[baseline]") {
  const std::string full = slurp(test::data_path("golden/baseline_v1.json"));
  for (const char* other : {"0", "3"}) {
    std::string edited = full;
    edited.replace(edited.find("\"format_version\": 1"), 19,
                   std::string("\"format_version\": ") + other);
    CHECK(parse_baseline(edited, "b.json").error().message ==
          "b.json: baseline format version " + std::string(other) +
              "; this driftd (" DRIFTD_VERSION
              ") reads versions 1 to 2: rebuild it with `driftd baseline build`");
  }
  std::string edited = full;
  edited.replace(edited.find("\"mean\": 51.1"), 12, "\"mean\": 51.2");
  CHECK(parse_baseline(edited, "b.json").error().message ==
        "b.json: checksum mismatch: the file was changed or damaged after it was written");
  CHECK(parse_baseline("{\"a\": 1}", "b.json").error().message ==
        "b.json: not a driftd baseline (\"format\" is not \"driftd-baseline\")");
  CHECK(parse_baseline("[1, 2]", "b.json").error().message ==
        "b.json: not a driftd baseline (not a JSON object)");
  // Text that is no JSON (a CSV given as the baseline) is told apart from
  // JSON of another shape.
  CHECK(parse_baseline("x,c\n1,a\n", "b.json").error().message ==
        "b.json: not a complete driftd baseline (truncated, or not written by driftd)");
  CHECK(parse_baseline("{\"format\": \"driftd-baseline\"", "b.json").error().message ==
        "b.json: not a complete driftd baseline (truncated, or not written by driftd)");
}

TEST_CASE("model identity is checked when asked for", "[baseline]") {
  auto b = load_baseline(test::data_path("golden/baseline_v1.json"));
  REQUIRE(b.ok());
  CHECK(check_baseline_identity(*b, "b.json", "fraud", "3").ok());
  CHECK(check_baseline_identity(*b, "b.json", "", "").ok());
  CHECK(check_baseline_identity(*b, "b.json", "churn", "").error().message ==
        "b.json: baseline is for model 'fraud', not 'churn'");
  CHECK(check_baseline_identity(*b, "b.json", "fraud", "4").error().message ==
        "b.json: baseline is for model version '3', not '4'");
}

TEST_CASE("write_file_atomic replaces the file whole and leaves no temp file", "[baseline]") {
  const auto dir = test::temp_dir("atomic");
  const std::string path = (dir / "b.json").string();
  REQUIRE(write_file_atomic(path, "first").ok());
  REQUIRE(write_file_atomic(path, "second").ok());
  CHECK(slurp(path) == "second");
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 1);
  CHECK_FALSE(write_file_atomic((dir / "no/such/dir/b.json").string(), "x").ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("beyond the sample cap, a seeded reservoir: sorted, deterministic, from the data",
          "[baseline]") {
  std::string csv = "x\n";
  for (int i = 0; i < 5000; ++i) csv += std::to_string(i) + "\n";
  const auto file = FileBuffer::from_string(csv, "r.csv");
  BaselineBuildOptions o;
  o.built_at = "2026-01-01T00:00:00Z";
  o.settings.sample_cap = 500;
  auto a = build_baseline(file, o);
  auto b = build_baseline(file, o);
  o.settings.seed = 7;
  auto c = build_baseline(file, o);
  REQUIRE((a.ok() && b.ok() && c.ok()));
  const auto& sa = a->find("x")->numeric.sample;
  CHECK(sa.size() == 500);
  CHECK(std::is_sorted(sa.begin(), sa.end()));
  CHECK(std::set<double>(sa.begin(), sa.end()).size() == 500);  // without replacement
  CHECK(sa == b->find("x")->numeric.sample);
  CHECK(sa != c->find("x")->numeric.sample);
  CHECK_FALSE(a->find("x")->numeric.sample_is_complete);
  // A uniform sample of 0..4999: its mean is near 2499.5 (sd of the mean ~ 62).
  double sum = 0;
  for (double v : sa) sum += v;
  CHECK(std::fabs(sum / 500 - 2499.5) < 300);
  // Round trip through the file keeps it.
  auto back = parse_baseline(serialize_baseline(*a), "r.json");
  REQUIRE(back.ok());
  CHECK(back->find("x")->numeric.sample == sa);
}

TEST_CASE("roles must name existing columns", "[baseline]") {
  const auto file = FileBuffer::from_string("a,b\n1,2\n", "t.csv");
  BaselineBuildOptions o;
  o.label_column = "y";
  CHECK(build_baseline(file, o).error().message ==
        "--label y: t.csv has no such column (columns: a, b)");
}

TEST_CASE("a checksummed baseline with a bad sample is still refused", "[baseline]") {
  auto b = load_baseline(test::data_path("golden/baseline_v1.json"));
  REQUIRE(b.ok());
  ColumnProfile* age = nullptr;
  for (auto& c : b->columns) {
    if (c.name == "age") age = &c;
  }
  REQUIRE(age);
  Baseline unsorted = *b;
  for (auto& c : unsorted.columns) {
    if (c.name == "age") std::swap(c.numeric.sample.front(), c.numeric.sample.back());
  }
  CHECK(parse_baseline(serialize_baseline(unsorted), "b.json").error().message ==
        "b.json: columns[2] (age): sample is not sorted");
  Baseline nan = *b;
  for (auto& c : nan.columns) {
    if (c.name == "age") c.numeric.sample.back() = std::nan("");
  }
  CHECK(parse_baseline(serialize_baseline(nan), "b.json").error().message ==
        "b.json: columns[2] (age): sample holds a non-finite value");
}

// The document with its checksum made right again after an edit (as
// whoever can write the file can do).
std::string rechecksummed(std::string edited) {
  const std::string key = "\"checksum\": \"xxh3-64:";
  const size_t at = edited.rfind(key);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(edited.data(), at)));
  return edited.substr(0, at + key.size()) + hex + "\"\n}\n";
}

TEST_CASE("invalid JSON under a correct checksum is refused, naming the place", "[baseline]") {
  // These crashed driftd (SIGSEGV, free(): invalid pointer): On-Demand's
  // lookups by key assume a valid structure.
  const std::string full = slurp(test::data_path("golden/baseline_v1.json"));
  struct Edit {
    std::string from, to, where;
  };
  for (const auto& e : std::vector<Edit>{
           {"\"settings\": {", "\"settings\": {\"bins\": , ", "settings.bins"},
           {"\"cut_points\": [", "\"cut_points\": [1 2, ", "columns[1].cut_points"},
           {"\"roles\": {", "\"roles\": {\"x\": NaN, ", "roles.x"},
           {"\"model\": {", "\"model\": [[[{\"a\": }]]], \"m\": {", "model[0][0][0].a"},
           {"\"columns\": [", "\"columns\": [" + std::string(200, '['), "too deep"},
       }) {
    INFO(e.from << " -> " << e.to);
    std::string edited = full;
    const size_t at = edited.find(e.from);
    REQUIRE(at != std::string::npos);
    edited.replace(at, e.from.size(), e.to);
    const auto r = parse_baseline(rechecksummed(edited), "b.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.rfind("b.json: not valid JSON", 0) == 0);
    CHECK(r.error().message.find(e.where) != std::string::npos);
  }
  // Content after the document's end.
  const auto r = parse_baseline(full + "}}\n", "b.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("b.json: not valid JSON", 0) == 0);
}

TEST_CASE("a sample's base64 is read raw: a JSON escape in it is refused", "[baseline]") {
  // driftd writes no escapes there (the alphabet needs none) and decodes the
  // text where it lies; "\/" means "/" to a JSON reader but is refused here,
  // with the column named, even under a valid checksum.
  const std::string full = slurp(test::data_path("golden/baseline_v1.json"));
  const size_t sample = full.find("\"sample_f64le_base64\": \"2/l+");
  REQUIRE(sample != std::string::npos);
  std::string edited = full;
  edited.replace(full.find('/', sample + 24), 1, "\\/");
  edited = rechecksummed(edited);
  const auto r = parse_baseline(edited, "b.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("b.json: columns[", 0) == 0);
  CHECK(r.error().message.find(".sample_f64le_base64: not 40 base64-encoded doubles") !=
        std::string::npos);
}

TEST_CASE("profile_table: roles not given name no column, not even an unnamed one", "[baseline]") {
  Column unnamed;
  for (int i = 0; i < 100; ++i) unnamed.numbers.push_back(i * 0.5);
  Table t;
  t.rows = unnamed.numbers.size();
  t.columns.push_back(std::move(unnamed));
  const auto b = profile_table(t, BaselineBuildOptions{});
  REQUIRE(b.ok());
  REQUIRE(b->columns.size() == 1);
  CHECK(b->columns[0].role == ColumnRole::kFeature);
  CHECK(b->columns[0].numeric.sample.size() == 100);
}

TEST_CASE("a checksummed baseline with a hostile multivariate model is refused, naming it",
          "[baseline]") {
  const std::string full = slurp(test::data_path("golden/baseline_v2.json"));
  auto golden = parse_baseline(full, "b.json");
  REQUIRE(golden.ok());
  REQUIRE(golden->multivariate);
  struct Case {
    const char* what;
    void (*edit)(Baseline&);
    std::string message;
  };
  const Case cases[] = {
      {"the prediction as a column", [](Baseline& b) { b.multivariate->columns[1] = "score"; },
       "b.json: multivariate.columns: 'score' is not a numeric feature of the baseline"},
      {"a categorical column", [](Baseline& b) { b.multivariate->columns[1] = "country"; },
       "b.json: multivariate.columns: 'country' is not a numeric feature of the baseline"},
      {"a column twice", [](Baseline& b) { b.multivariate->columns[1] = "amount"; },
       "b.json: multivariate.columns: 'amount' twice"},
      {"components not orthonormal", [](Baseline& b) { b.multivariate->basis[0] *= 2; },
       "b.json: multivariate.components: not orthonormal"},
      {"a component too many",
       [](Baseline& b) {
         auto& m = *b.multivariate;
         m.basis.insert(m.basis.end(), m.basis.begin(), m.basis.begin() + 3);
         m.components = 3;
       },
       "b.json: multivariate.residual_components: expected fewer than d arrays of d weights"},
      {"a scale of 0", [](Baseline& b) { b.multivariate->scales[2] = 0; },
       "b.json: multivariate.means and scales: expected finite numbers, scales above 0"},
      {"a mean error past the cap",
       [](Baseline& b) { b.multivariate->error_mean = 2 * b.multivariate->error_cap; },
       "b.json: multivariate.error_cap, error_mean, error_variance: out of range"},
      {"a column named as the pseudo-column",
       [](Baseline& b) {
         for (auto& c : b.columns) {
           if (c.name == "country") c.name = kMultivariateColumn;
         }
       },
       "b.json: multivariate: a column is named _multivariate, the multivariate test's"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Baseline edited = *golden;
    c.edit(edited);
    const auto r = parse_baseline(serialize_baseline(edited), "b.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
  // Text no writer makes: another method, a component of the wrong length.
  std::string method = full;
  method.replace(method.find("pca_reconstruction"), 18, "kmeans");
  CHECK(parse_baseline(rechecksummed(method), "b.json").error().message ==
        "b.json: multivariate.method: expected \"pca_reconstruction\"");
  std::string short_component = full;
  const size_t first = short_component.find("\"components\": [");
  REQUIRE(first != std::string::npos);
  // The first weight of the first component, then ", ".
  const size_t weights =
      short_component.find_first_not_of(" \n", short_component.find('[', first + 15) + 1);
  short_component.erase(weights, short_component.find(", ", weights) + 2 - weights);
  CHECK(parse_baseline(rechecksummed(short_component), "b.json").error().message ==
        "b.json: multivariate.components[0]: expected 3 numbers");
}
