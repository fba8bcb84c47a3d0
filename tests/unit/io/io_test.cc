// CSV and JSON-lines reading: kinds, missing values, and every kind of bad
// input, each with a clear error or a counted skip.
#include <charconv>
#include <cstring>
#include <fstream>
#include <random>

#include "driftd/io/number.h"
#include "driftd/io/readers.h"
#include "test_util.h"

using namespace driftd;

namespace {
Result<Table> read_text(const std::string& text, const std::string& name, uint64_t max_errors = 0) {
  const auto file = FileBuffer::from_string(text, name);
  ReadOptions o;
  o.max_errors = max_errors;
  auto schema = infer_schema(file, detect_format(file), {}, o);
  if (!schema) return schema.error();
  return read_table(file, detect_format(file), *schema, o);
}
std::string error_of(const std::string& text, const std::string& name, uint64_t max_errors = 0) {
  auto t = read_text(text, name, max_errors);
  REQUIRE_FALSE(t.ok());
  return t.error().message;
}

// Two reads of the same data hold the same rows: counters equal, numbers
// bit for bit (NaN included), categories by text (codes may differ).
void require_same_columns(const Table& a, const Table& b) {
  REQUIRE(a.columns.size() == b.columns.size());
  for (size_t c = 0; c < a.columns.size(); ++c) {
    const Column& x = a.columns[c];
    const Column& y = b.columns[c];
    INFO("column " << x.name);
    CHECK(x.missing == y.missing);
    CHECK(x.type_errors == y.type_errors);
    CHECK(x.infinite == y.infinite);
    REQUIRE(x.numbers.size() == y.numbers.size());
    // memcmp must not see the null data of an empty vector.
    CHECK((x.numbers.empty() || std::memcmp(x.numbers.data(), y.numbers.data(),
                                            x.numbers.size() * sizeof(double)) == 0));
    REQUIRE(x.codes.size() == y.codes.size());
    for (size_t i = 0; i < x.codes.size(); ++i) {
      const bool xm = x.codes[i] == Column::kMissingCode, ym = y.codes[i] == Column::kMissingCode;
      REQUIRE(xm == ym);
      if (!xm) REQUIRE(x.dictionary[x.codes[i]] == y.dictionary[y.codes[i]]);
    }
  }
}
}  // namespace

TEST_CASE("CSV: kinds, quoting, missing values, NaN/Inf/huge text", "[io]") {
  auto t = read_text(
      "a,b,c\n"
      "1.5,\"x, y\",+2\n"
      ",\"say \"\"hi\"\"\",nan\n"
      "1e400,z,-inf\r\n"
      "\n"
      " 3 ,NaN,1e-400\n",
      "t.csv");
  REQUIRE(t.ok());
  CHECK(t->rows == 4);
  const Column* a = t->find("a");
  CHECK(a->kind == ColumnKind::kNumeric);
  CHECK(a->missing == 1);
  CHECK(a->infinite == 1);  // 1e400 overflows to inf, as numpy reads it
  CHECK(a->numbers[3] == 3.0);
  const Column* b = t->find("b");
  CHECK(b->kind == ColumnKind::kCategorical);
  CHECK(b->dictionary[b->codes[0]] == "x, y");
  CHECK(b->dictionary[b->codes[1]] == "say \"hi\"");
  CHECK(b->codes[3] == Column::kMissingCode);  // NaN text is missing
  const Column* c = t->find("c");
  CHECK(c->kind == ColumnKind::kNumeric);
  CHECK(c->numbers[0] == 2.0);
  CHECK(c->missing == 1);
  CHECK(c->infinite == 1);
  CHECK(c->numbers[3] == 0.0);  // 1e-400 underflows to 0
}

TEST_CASE("CSV: malformed rows name file, line and column", "[io]") {
  CHECK(error_of("a,b\n1,2\n3\n", "f.csv") ==
        "f.csv:3:1: expected 2 fields as in the header, found 1 (1 malformed row; --max-errors 0 "
        "allows 0)");
  CHECK(error_of("a,b\n1,2\n3,4,5\n", "f.csv").rfind("f.csv:3:1: expected 2 fields", 0) == 0);
  CHECK(error_of("a,b\n1,\"2\n", "f.csv").rfind("f.csv:2:3: quoted field is never closed", 0) == 0);
  CHECK(error_of("a,b\n1,\"2\"x\n", "f.csv")
            .rfind("f.csv:2:6: unexpected character after a closing quote", 0) == 0);
  CHECK(error_of("a,b\n1,2\"\n", "f.csv").rfind("f.csv:2:4: quote inside an unquoted field", 0) ==
        0);
  CHECK(error_of("a,a\n1,2\n", "f.csv") == "f.csv:1: header: column 'a' appears twice");
  CHECK(error_of("a,b\n", "f.csv") == "f.csv: no data rows after the header");
}

TEST_CASE("CSV: --max-errors skips and counts malformed rows, keeps the good ones", "[io]") {
  auto t = read_text("a,b\n1,2\n3\n4,5\n6,7,8\n9,10\n", "f.csv", 2);
  REQUIRE(t.ok());
  CHECK(t->rows == 3);
  CHECK(t->skipped_rows == 2);
  REQUIRE(t->skipped_examples.size() == 2);
  CHECK(t->skipped_examples[0].line == 3);
  CHECK(t->skipped_examples[1].line == 5);
  CHECK(t->find("a")->numbers == NumberVector{1, 4, 9});
  CHECK(error_of("a,b\n1,2\n3\n4,5\n6,7,8\n", "f.csv", 1).find("2 malformed rows in all") !=
        std::string::npos);
}

TEST_CASE("CSV: a numeric column with stray text counts type errors when the schema says numeric",
          "[io]") {
  const auto file = FileBuffer::from_string("x,y\n1,a\noops,b\n3,c\n", "s.csv");
  auto t = read_table(file, InputFormat::kCsv,
                      {{"x", ColumnKind::kNumeric}, {"z", ColumnKind::kNumeric}}, {});
  REQUIRE(t.ok());
  CHECK(t->find("x")->type_errors == 1);
  CHECK(std::isnan(t->find("x")->numbers[1]));
  CHECK_FALSE(t->find("z")->present_in_input);
  CHECK(t->find("z")->missing == 3);
  CHECK(t->extra_columns == std::vector<std::string>{"y"});
}

TEST_CASE("JSON lines: flat objects, the event format, nulls and absent keys", "[io]") {
  auto t = read_text(
      "{\"a\": 1, \"c\": \"DE\"}\n"
      "{\"model\":\"m\",\"features\":{\"a\":2.5,\"c\":\"FR\"},\"prediction\":0.3}\n"
      "\n"
      "{\"a\": null, \"c\": true, \"prediction\": \"0.9\"}\n",
      "t.jsonl");
  REQUIRE(t.ok());
  CHECK(t->rows == 3);
  CHECK(t->find("a")->kind == ColumnKind::kNumeric);
  CHECK(t->find("a")->missing == 1);
  CHECK(t->find("c")->kind == ColumnKind::kCategorical);
  CHECK(t->find("c")->dictionary[t->find("c")->codes[2]] == "true");
  CHECK(t->find("prediction")->kind == ColumnKind::kNumeric);  // "0.9" parses as a number
  CHECK(t->find("prediction")->missing == 1);                  // absent from the first line
  CHECK(t->find("model")->kind == ColumnKind::kCategorical);
}

TEST_CASE("JSON lines: a broken line is an error with its line, or skipped under --max-errors",
          "[io]") {
  const std::string text = "{\"a\": 1}\n{\"a\": 2\n{\"a\": 3} x\n[1]\n{\"a\": 4}\n";
  const auto msg = error_of(text, "t.jsonl");
  CHECK(msg.rfind("t.jsonl:2:1: invalid JSON", 0) == 0);
  auto t = read_text(text, "t.jsonl", 3);
  REQUIRE(t.ok());
  CHECK(t->rows == 2);
  CHECK(t->skipped_rows == 3);
  CHECK(t->find("a")->numbers == NumberVector{1, 4});
}

TEST_CASE("files: missing, empty, directory", "[io]") {
  CHECK(FileBuffer::load("/nonexistent/x.csv").error().message ==
        "/nonexistent/x.csv: cannot open: No such file or directory");
  auto dir = test::temp_dir("io");
  CHECK(FileBuffer::load(dir.string()).error().message ==
        dir.string() + ": cannot read: is a directory");
  const auto empty = dir / "empty.csv";
  { std::ofstream(empty.string()); }
  CHECK(FileBuffer::load(empty.string()).error().message == empty.string() + ": the file is empty");
  std::filesystem::remove_all(dir);
}

TEST_CASE("parse_number follows numpy/pandas text rules", "[io]") {
  double v = 0;
  CHECK(parse_number("+1.5", &v) == NumberParse::kFinite);
  CHECK(v == 1.5);
  CHECK(parse_number("  -2e3 ", &v) == NumberParse::kFinite);
  CHECK(v == -2000);
  CHECK(parse_number("", &v) == NumberParse::kMissing);
  CHECK(parse_number("NaN", &v) == NumberParse::kMissing);
  CHECK(parse_number("-Infinity", &v) == NumberParse::kInfinite);
  CHECK(parse_number("1e999", &v) == NumberParse::kInfinite);
  CHECK(parse_number("1,5", &v) == NumberParse::kNotANumber);
  CHECK(parse_number("+-1", &v) == NumberParse::kNotANumber);
  CHECK(parse_number("0x10", &v) == NumberParse::kNotANumber);
}

TEST_CASE("parse_decimal_fast equals std::from_chars bit for bit wherever it answers", "[io]") {
  std::mt19937_64 rng(99);
  size_t answered = 0;
  char buf[64];
  for (int i = 0; i < 2'000'000; ++i) {
    // Decimals of many shapes: integers, fractions, exponents, long digit runs.
    const uint64_t mant = rng() >> (rng() % 64);
    const int point = static_cast<int>(rng() % 22);
    const int exp10 = static_cast<int>(rng() % 60) - 30;
    int len = std::snprintf(buf, sizeof buf, "%s%llu", (rng() & 1) ? "-" : "",
                            static_cast<unsigned long long>(mant));
    std::string t(buf, static_cast<size_t>(len));
    const size_t digits_start = t[0] == '-' ? 1 : 0;
    if (point > 0 && static_cast<size_t>(point) < t.size() - digits_start)
      t.insert(t.size() - static_cast<size_t>(point), 1, '.');
    if (rng() % 3 == 0) {
      t += 'e';
      t += std::to_string(exp10);
    }
    double fast = 0, ref = 0;
    if (!parse_decimal_fast(t, &fast)) continue;
    ++answered;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), ref);
    INFO(t);
    REQUIRE(r.ec == std::errc());
    REQUIRE(std::memcmp(&fast, &ref, sizeof fast) == 0);
  }
  CHECK(answered > 500'000);
  double v = 0;
  for (const char* bad : {"", "-", ".", "1e", "1e+", "1.2.3", "1x", "+1", " 1", "nan", "inf",
                          "0x1p3", "12345678901234567890", "1e23"}) {
    INFO(bad);
    CHECK_FALSE(parse_decimal_fast(bad, &v));
  }
  CHECK((parse_decimal_fast("-0", &v) && std::signbit(v) && v == 0));
  CHECK((parse_decimal_fast(".5", &v) && v == 0.5));
  CHECK((parse_decimal_fast("5.", &v) && v == 5.0));
  CHECK((parse_decimal_fast("1.5E-3", &v) && v == 1.5e-3));
}

TEST_CASE("the fused CSV path for unquoted files equals the general tokenizer", "[io]") {
  const bool with_bad_rows = GENERATE(true, false);
  std::mt19937_64 rng(2024);
  const char* odd[] = {"",
                       " 7 ",
                       "+3",
                       "-0",
                       "nan",
                       "-inf",
                       "1e400",
                       "1e-400",
                       "0.000",
                       "00012",
                       ".5",
                       "5.",
                       "1e",
                       "x1",
                       "1.2.3",
                       "abc",
                       "1E+05",
                       "-1e-5",
                       "3.14159265358979323846",
                       "123456789012345678901234"};
  std::string rows;
  for (int i = 0; i < 5000; ++i) {
    const int fields = (with_bad_rows && rng() % 200 == 0) ? 2 : 3;  // wrong field counts
    for (int f = 0; f < fields; ++f) {
      if (f) rows += ',';
      switch (rng() % 4) {
        case 0:
          rows += odd[rng() % (sizeof odd / sizeof *odd)];
          break;
        case 1:
          rows += std::to_string(static_cast<int64_t>(rng() % 2000000) - 1000000);
          break;
        default: {
          char b[40];
          std::snprintf(b, sizeof b, "%.*g", static_cast<int>(rng() % 17) + 1,
                        std::ldexp(static_cast<double>(rng() % 1000000) - 500000,
                                   static_cast<int>(rng() % 40) - 20));
          rows += b;
        }
      }
    }
    rows += (rng() % 10 == 0) ? "\r\n" : "\n";
    if (rng() % 50 == 0) rows += (rng() % 2 == 0) ? "\n" : "\r\n";  // blank lines
  }
  // "z" and "w": columns the files lack, missing in every row.
  const std::vector<ColumnSpec> schema{{"a", ColumnKind::kNumeric},
                                       {"b", ColumnKind::kNumeric},
                                       {"c", ColumnKind::kCategorical},
                                       {"z", ColumnKind::kNumeric},
                                       {"w", ColumnKind::kCategorical}};
  ReadOptions o;
  o.max_errors = 1000;
  // The same last row, quoted in one file: any quote sends a file down the
  // general tokenizer. Half the time the last line lacks its newline.
  const std::string last_end = with_bad_rows ? "\n" : "";
  const auto fused_file = FileBuffer::from_string("a,b,c\n" + rows + "1,2,z" + last_end, "u.csv");
  const auto general_file =
      FileBuffer::from_string("a,b,c\n" + rows + "\"1\",2,z" + last_end, "q.csv");
  auto fused = read_table(fused_file, InputFormat::kCsv, schema, o);
  auto general = read_table(general_file, InputFormat::kCsv, schema, o);
  REQUIRE(fused.ok());
  REQUIRE(general.ok());
  CHECK(fused->rows == general->rows);
  CHECK(fused->skipped_rows == general->skipped_rows);
  CHECK((fused->skipped_rows > 0) == with_bad_rows);
  require_same_columns(*fused, *general);
  // In parallel ranges, numbers go straight to their rows in one array per
  // column; blank and malformed lines leave gaps that must close.
  ReadOptions parallel = o;
  parallel.threads = 3;
  parallel.min_parallel_bytes = 0;
  auto fused_parallel = read_table(fused_file, InputFormat::kCsv, schema, parallel);
  REQUIRE(fused_parallel.ok());
  CHECK(fused_parallel->rows == general->rows);
  CHECK(fused_parallel->skipped_rows == general->skipped_rows);
  require_same_columns(*fused_parallel, *general);
  CHECK(fused_parallel->find("z")->missing == fused_parallel->rows);
}

TEST_CASE("reading in parallel chunks equals reading in one", "[io]") {
  std::mt19937_64 rng(77);
  std::string csv = "x,cat,y\n", jsonl;
  const char* cats[] = {"DE", "FR", "US", "", "IT"};
  for (int i = 0; i < 3000; ++i) {
    const std::string x =
        (i % 37 == 0) ? "" : std::to_string(static_cast<int>(rng() % 1000) - 500) + ".25";
    const std::string cat = cats[rng() % 5];
    const std::string y = (i % 101 == 0) ? "oops" : std::to_string(rng() % 97);
    csv +=
        (i % 211 == 0) ? x + "," + cat + "\n" : x + "," + cat + "," + y + "\n";  // some short rows
    jsonl += (i % 211 == 0) ? "{\"x\": 1,\n"
                            : "{\"x\": " + (x.empty() ? std::string("null") : x) + ", \"cat\": \"" +
                                  cat + "\", \"y\": \"" + y + "\"}\n";
  }
  const std::vector<ColumnSpec> schema{
      {"x", ColumnKind::kNumeric}, {"cat", ColumnKind::kCategorical}, {"y", ColumnKind::kNumeric}};
  for (const auto& [text, format] :
       {std::pair{csv, InputFormat::kCsv}, std::pair{jsonl, InputFormat::kJsonLines}}) {
    const auto file =
        FileBuffer::from_string(text, format == InputFormat::kCsv ? "p.csv" : "p.jsonl");
    ReadOptions one;
    one.max_errors = 100;
    one.threads = 1;
    ReadOptions many = one;
    many.threads = 3;
    many.min_parallel_bytes = 0;
    auto a = read_table(file, format, schema, one);
    auto b = read_table(file, format, schema, many);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->rows == b->rows);
    CHECK(a->skipped_rows == b->skipped_rows);
    CHECK(a->skipped_rows > 0);
    REQUIRE(a->skipped_examples.size() == b->skipped_examples.size());
    for (size_t e = 0; e < a->skipped_examples.size(); ++e) require_same_columns(*a, *b);
    // And schema inference agrees too.
    auto sa = infer_schema(file, format, {}, one);
    auto sb = infer_schema(file, format, {}, many);
    REQUIRE((sa.ok() && sb.ok()));
    REQUIRE(sa->size() == sb->size());
    for (size_t i = 0; i < sa->size(); ++i) {
      CHECK((*sa)[i].name == (*sb)[i].name);
      CHECK((*sa)[i].kind == (*sb)[i].kind);
    }
  }
}

TEST_CASE("JSON lines: numbers out of double range count as infinite, as in CSV", "[io]") {
  auto t = read_text(
      "{\"x\": 1e400, \"c\": 12}\n{\"x\": -1e999, \"c\": 1.50}\n{\"x\": 2, \"c\": \"a\"}\n",
      "big.jsonl");
  REQUIRE(t.ok());
  CHECK(t->find("x")->kind == ColumnKind::kNumeric);
  CHECK(t->find("x")->infinite == 2);
  CHECK(t->find("x")->numbers[2] == 2.0);
  const Column* c = t->find("c");
  REQUIRE(c->kind == ColumnKind::kCategorical);
  CHECK(c->dictionary[c->codes[1]] == "1.50");  // a number's literal text
}
