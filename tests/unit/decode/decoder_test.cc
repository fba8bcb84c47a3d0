// The event decoder without a process: decoding and routing, event times,
// durations, the scanner and its raw-string matchers, and its verdicts on
// hostile events.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <simdjson.h>

#include "driftd/check/report.h"
#include "driftd/decode/event_decoder.h"
#include "driftd/io/json_string.h"
#include "driftd/io/same_bytes.h"
#include "src/common/toml_reader.h"
#include "src/decode/event_scan.h"
#include "test_util.h"

namespace driftd {
namespace {

// Decodes one line with simdjson's padding after it; the windows it closes
// go to `windows` when given.
struct Feeder {
  std::string buf;
  DecodedEvent operator()(EventDecoder& d, std::string_view line,
                          std::vector<WindowResult>* windows = nullptr) {
    buf.assign(line);
    const size_t len = buf.size();
    buf.resize(len + simdjson::SIMDJSON_PADDING, '\0');
    return d.decode(buf.data(), len, buf.size(), [windows](WindowResult&& w) {
      if (windows != nullptr) windows->push_back(std::move(w));
    });
  }
};

// The golden baseline's model behind a decoder, with count windows.
struct GoldenDecoder {
  std::shared_ptr<const Baseline> base = test::golden_baseline();
  ModelMonitor m;
  Router router;
  EventDecoder d{EventFields{}, router};
  explicit GoldenDecoder(int64_t window) : m(base, test::count_windows(window)) {
    router.add(base->model_name, base->model_version, &m);
  }
};

// A numeric feature of the monitor's baseline (the golden one has several).
std::string a_numeric_feature(const ModelMonitor& m) {
  std::string numeric;
  for (const auto* c : m.columns()) {
    if (c->kind == ColumnKind::kNumeric && c->role == ColumnRole::kFeature) numeric = c->name;
  }
  REQUIRE_FALSE(numeric.empty());
  return numeric;
}

// How many rows of the window lacked `feature`.
uint64_t missing_of(const WindowResult& w, const std::string& feature) {
  for (const auto& f : w.report.features) {
    if (f.name == feature) return f.missing;
  }
  FAIL("no feature " << feature);
  return 0;
}

TEST_CASE("ISO 8601 event times with zones and fractions", "[daemon]") {
  int64_t ms = 0;
  REQUIRE(parse_iso8601_ms("1970-01-01T00:00:00Z", &ms));
  CHECK(ms == 0);
  REQUIRE(parse_iso8601_ms("2026-11-22T10:00:00Z", &ms));
  CHECK(ms == 1795341600000);
  REQUIRE(parse_iso8601_ms("2026-11-22T10:00:00.25Z", &ms));
  CHECK(ms == 1795341600250);
  REQUIRE(parse_iso8601_ms("2026-11-22T11:30:00+01:30", &ms));
  CHECK(ms == 1795341600000);
  REQUIRE(parse_iso8601_ms("2024-02-29 23:59:59Z", &ms));
  CHECK(ms == 1709251199000);
  for (const char* bad :
       {"2026-11-22T10:00:00", "2026-13-01T00:00:00Z", "2026-11-22T25:00:00Z", "2026-11-22",
        "yesterday", "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00Zjunk"}) {
    INFO(bad);
    CHECK_FALSE(parse_iso8601_ms(bad, &ms));
  }
}

TEST_CASE("durations in the configuration", "[daemon]") {
  CHECK(*parse_duration_ms("250ms") == 250);
  CHECK(*parse_duration_ms("30s") == 30000);
  CHECK(*parse_duration_ms("5m") == 300000);
  CHECK(*parse_duration_ms("1.5h") == 5400000);
  CHECK(*parse_duration_ms("1d") == 86400000);
  CHECK_FALSE(parse_duration_ms("5 minutes").ok());
  CHECK_FALSE(parse_duration_ms("-1s").ok());
  CHECK_FALSE(parse_duration_ms("s").ok());
}

TEST_CASE("events are routed, decoded in any key order, and bad ones rejected", "[daemon]") {
  GoldenDecoder g(1000);
  const auto& base = g.base;
  ModelMonitor& m = g.m;
  EventDecoder& d = g.d;
  Feeder feed;
  const std::string model = base->model_name;

  auto ev = feed(d, R"({"model":")" + model + R"(","model_version":"3","ts":1,"features":{}})");
  CHECK(ev.outcome == EventOutcome::kAdded);
  CHECK(m.events() == 1);
  // Features before the model, a numeric version, an ISO time.
  ev = feed(d, R"({"features":{"x":1},"prediction":0.5,"model_version":3,"model":")" + model +
                   R"(","ts":"2026-11-22T10:00:00Z"})");
  CHECK(ev.outcome == EventOutcome::kAdded);
  CHECK(ev.ts_ms == 1795341600000);
  // No version: the model's only one.
  ev = feed(d, R"({"model":")" + model + R"(","ts":2,"features":{}})");
  CHECK(ev.outcome == EventOutcome::kAdded);
  // A label event is recognized, not added.
  ev = feed(d, R"({"model":")" + model + R"(","id":"r1","label":1})");
  CHECK(ev.outcome == EventOutcome::kLabel);

  struct Bad {
    const char* line;
    RejectReason reason;
  };
  const std::string unknown = R"({"model":"nobody","ts":1,"features":{}})";
  const std::string wrong_version = R"({"model":")" + model + R"(","model_version":"9","ts":1})";
  const std::string bad_ts = R"({"model":")" + model + R"(","ts":"last tuesday","features":{}})";
  const std::string ts_type = R"({"model":")" + model + R"(","ts":[1],"features":{}})";
  for (const auto& [line, reason] : std::vector<std::pair<std::string, RejectReason>>{
           {"not json", RejectReason::kNotAnObject},  // "an event must be a JSON object"
           {R"({"model":"x", "features": {"a": 1}, broken)", RejectReason::kInvalidJson},
           {R"({"model":"x"} trailing)", RejectReason::kInvalidJson},
           {"[1,2]", RejectReason::kNotAnObject},
           {R"({"ts":1,"features":{}})", RejectReason::kMissingModel},
           {unknown, RejectReason::kUnknownModel},
           {wrong_version, RejectReason::kUnknownModel},
           {bad_ts, RejectReason::kBadTimestamp},
           {ts_type, RejectReason::kBadTimestamp},
       }) {
    INFO(line);
    ev = feed(d, line);
    CHECK(ev.outcome == EventOutcome::kRejected);
    CHECK(ev.reason == reason);
    CHECK_FALSE(ev.detail.empty());
  }
  CHECK(m.events() == 3);
}

TEST_CASE("a rejected event leaves nothing staged for the next one", "[daemon]") {
  GoldenDecoder g(2);
  const auto& base = g.base;
  ModelMonitor& m = g.m;
  EventDecoder& d = g.d;
  Feeder feed;
  const std::string numeric = a_numeric_feature(m);
  const std::string model = base->model_name;
  // Staged, then rejected for its timestamp.
  auto ev = feed(
      d, R"({"model":")" + model + R"(","features":{")" + numeric + R"(":12345.0},"ts":"never"})");
  REQUIRE(ev.outcome == EventOutcome::kRejected);
  std::vector<WindowResult> out;
  for (int i = 0; i < 2; ++i) {
    ev = feed(d, R"({"model":")" + model + R"(","ts":1,"features":{}})", &out);
    REQUIRE(ev.outcome == EventOutcome::kAdded);
  }
  REQUIRE(out.size() == 1);
  CHECK(missing_of(out[0], numeric) == 2);  // the rejected value did not leak in
}

TEST_CASE("features staged as they are read: repeated objects and routing changed after them",
          "[daemon]") {
  // Features an event names its model before go straight into that model's
  // monitor. A field after them may change the routing (a second model
  // field: the last counts) or a second features object may replace them:
  // neither may leave cells behind.
  const auto base = test::golden_baseline();
  const MonitorSettings s = test::count_windows(2);
  ModelMonitor fraud(base, s), other(base, s);
  Router router;
  router.add("fraud", "", &fraud);
  router.add("other", "", &other);
  EventDecoder d(EventFields{}, router);
  const std::string numeric = a_numeric_feature(fraud);
  // Windows go to the list of the model the test routes the event to.
  std::vector<WindowResult> fraud_windows, other_windows;
  Feeder feed;
  // Staged into fraud as read, then routed to other by the later model field.
  auto ev =
      feed(d, R"({"model":"fraud","features":{")" + numeric + R"(":1.5},"model":"other","ts":1})",
           &other_windows);
  REQUIRE(ev.outcome == EventOutcome::kAdded);
  CHECK(ev.monitor == &other);
  CHECK(other.events() == 1);
  CHECK(fraud.events() == 0);
  // A second features object replaces the first: the value is absent.
  ev = feed(d, R"({"model":"other","features":{")" + numeric + R"(":2.5},"features":{},"ts":1})",
            &other_windows);
  REQUIRE(ev.outcome == EventOutcome::kAdded);
  REQUIRE(other_windows.size() == 1);
  CHECK(missing_of(other_windows[0], numeric) ==
        1);  // the first event's 1.5 counted, the second's not
  // Nothing of the first event stayed staged in fraud.
  for (int i = 0; i < 2; ++i) {
    ev = feed(d, R"({"model":"fraud","ts":1,"features":{}})", &fraud_windows);
    REQUIRE(ev.outcome == EventOutcome::kAdded);
  }
  REQUIRE(fraud_windows.size() == 1);
  CHECK(missing_of(fraud_windows[0], numeric) == 2);
}

TEST_CASE("the event scanner records fields in order, with types, and grows for wide events",
          "[daemon][scan]") {
  scan::Scanner scanner;
  std::vector<scan::Field> top(2), features(2);
  scan::Event ev;
  std::string buf;  // the views in ev point into it until the next run
  auto run = [&](const std::string& text) {
    buf = text;
    buf.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
    for (;;) {
      ev.top = top.data();
      ev.top_capacity = static_cast<uint32_t>(top.size());
      ev.features = features.data();
      ev.features_capacity = static_cast<uint32_t>(features.size());
      scanner.scan(buf.data(), text.size(), buf.size(), "features", ev);
      if (ev.stop == scan::Stop::kTooManyTop) {
        top.resize(top.size() * 2);
      } else if (ev.stop == scan::Stop::kTooManyFeatures) {
        features.resize(features.size() * 2);
      } else {
        return;
      }
    }
  };
  run(R"({"ts":17,"model":"fr\u0061ud","features":{"a":1.5,"b":"x","c":null,"d":true,"e":[1],"f":1e999},"big":{"nested":[1,2]},"v":false})");
  REQUIRE(ev.stop == scan::Stop::kNone);
  REQUIRE(ev.n_top == 5);
  CHECK(std::string(ev.top[1].key, ev.top[1].key_len) == "model");
  CHECK(std::string(ev.top[1].value.text, ev.top[1].value.text_len) == "fraud");
  CHECK(ev.top[0].value.type == scan::Type::kNumber);
  CHECK(ev.top[0].value.number == 17);
  CHECK(ev.features_field == 2);
  CHECK(ev.top[3].value.type == scan::Type::kObject);
  CHECK(ev.top[4].value.type == scan::Type::kFalse);
  REQUIRE(ev.n_features == 6);
  const scan::Type want[] = {scan::Type::kNumber, scan::Type::kString, scan::Type::kNull,
                             scan::Type::kTrue,   scan::Type::kArray,  scan::Type::kNumber};
  for (size_t i = 0; i < 6; ++i) CHECK(ev.features[i].value.type == want[i]);
  CHECK(ev.features[0].value.number_ok);
  CHECK(ev.features[0].value.number == 1.5);
  CHECK_FALSE(ev.features[5].value.number_ok);  // 1e999: out of range, flagged
  CHECK(std::string(ev.features[3].value.raw, 4) == "true");

  // Keys and strings without escapes are taken where they lie; with an
  // escape (anywhere, also past the first 16 bytes) they are unescaped.
  run(R"({"mo\u0064el":"m","features":{"a\"b":1,"a_key_longer_than_sixteen_bytes":"a value longer than sixteen bytes","k":"seventeen bytes..\tthen a tab","":""}})");
  REQUIRE(ev.stop == scan::Stop::kNone);
  CHECK(std::string(ev.top[0].key, ev.top[0].key_len) == "model");
  REQUIRE(ev.n_features == 4);
  CHECK(std::string(ev.features[0].key, ev.features[0].key_len) == "a\"b");
  CHECK(std::string(ev.features[1].key, ev.features[1].key_len) ==
        "a_key_longer_than_sixteen_bytes");
  CHECK(std::string(ev.features[1].value.text, ev.features[1].value.text_len) ==
        "a value longer than sixteen bytes");
  CHECK(std::string(ev.features[2].value.text, ev.features[2].value.text_len) ==
        "seventeen bytes..\tthen a tab");
  CHECK(ev.features[3].key_len == 0);
  CHECK(ev.features[3].value.type == scan::Type::kString);
  CHECK(ev.features[3].value.text_len == 0);
  run(R"({"features":{"a":nul}})");
  CHECK(ev.features[0].value.type == scan::Type::kBad);

  std::string wide = R"({"features":{)";
  for (int i = 0; i < 300; ++i) {
    if (i > 0) wide += ',';
    wide += "\"f";
    wide += std::to_string(i);
    wide += "\":";
    wide += std::to_string(i);
  }
  wide += '}';
  for (int i = 0; i < 40; ++i) {
    wide += ",\"t";
    wide += std::to_string(i);
    wide += "\":1";
  }
  wide += '}';
  run(wide);
  REQUIRE(ev.stop == scan::Stop::kNone);
  CHECK(ev.n_features == 300);
  CHECK(ev.n_top == 41);
  CHECK(ev.features[299].value.number == 299);

  run("[1,2]");
  CHECK(ev.stop == scan::Stop::kNotObject);
  CHECK(ev.error == simdjson::INCORRECT_TYPE);
  run(R"({"a":1,"features":{"x":1,,}})");
  CHECK(ev.stop == scan::Stop::kMalformed);
  run(R"({"features":[1,2],"a":1})");
  CHECK(ev.stop == scan::Stop::kNone);
  CHECK(ev.features_field == -1);
  CHECK(ev.top[0].value.type ==
        scan::Type::kArray);  // features that are not an object: refused later
}

}  // namespace
}  // namespace driftd

TEST_CASE("unescaped_length finds the closing quote, or the escape before it, at every offset",
          "[daemon][scan]") {
  for (size_t quote = 0; quote <= 40; ++quote) {
    for (size_t escape = 0; escape <= 41; ++escape) {
      // A string's text: `quote` plain bytes, then the closing quote, with a
      // backslash at `escape` (none when escape > quote), then padding.
      std::string text(quote, 'x');
      if (escape < quote) text[escape] = '\\';
      text += "\"more\\\"";
      std::string padded = text + std::string(64, ' ');
      uint32_t len = 12345;
      INFO("quote at " << quote << ", escape at " << escape);
      if (escape < quote) {
        CHECK_FALSE(driftd::unescaped_length(padded.data(), &len));
      } else {
        REQUIRE(driftd::unescaped_length(padded.data(), &len));
        CHECK(len == quote);
      }
    }
  }
}

TEST_CASE("same_bytes equals string equality at every length and every differing byte",
          "[daemon]") {
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'k');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    // Strings of exactly n bytes: the ASan build catches a read past either.
    const std::string exact_a = a;
    CHECK(driftd::same_bytes(exact_a, std::string(a)));
    CHECK_FALSE(driftd::same_bytes(exact_a, a + "x"));
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = static_cast<char>(b[i] ^ 0x20);
      INFO("length " << n << ", byte " << i);
      CHECK_FALSE(driftd::same_bytes(exact_a, b));
      CHECK_FALSE(driftd::same_bytes(b, exact_a));
    }
  }
}

TEST_CASE("ShortText packs exactly the text's bytes, reading none outside it", "[daemon]") {
  for (size_t n = 0; n <= driftd::ShortText::kMax; ++n) {
    // On the heap at exactly n bytes: ASan reports a read past the end.
    const std::unique_ptr<char[]> text(new char[n == 0 ? 1 : n]);
    for (size_t i = 0; i < n; ++i) text[i] = static_cast<char>(0x80 + 7 * i);
    const auto t = driftd::ShortText::of(std::string_view(text.get(), n));
    unsigned char want[16] = {};
    std::memcpy(want, text.get(), n);
    uint64_t lo, hi;
    std::memcpy(&lo, want, 8);
    std::memcpy(&hi, want + 8, 8);
    INFO("length " << n);
    CHECK(t.lo == lo);
    CHECK(t.hi == hi);
    CHECK(t.size == n);
  }
  // Trailing zero bytes are part of the text: its length tells them apart.
  CHECK_FALSE(driftd::ShortText::of(std::string_view("a\0", 2)) == driftd::ShortText::of("a"));
}

TEST_CASE("CategoryBins finds each category whatever its length, and no other text", "[daemon]") {
  driftd::CategoricalProfile profile;
  // Lengths 0 to 20 (past the packed 16), and texts that differ only in a
  // trailing zero byte, in the last byte, or in length.
  std::vector<std::string> names = {"",
                                    std::string("a\0", 2),
                                    "a",
                                    "ab",
                                    "abc",
                                    "abcd",
                                    "enterprise",
                                    "0123456789abcdef",
                                    "0123456789abcdefg",
                                    "0123456789abcdefghij"};
  for (const auto& name : names) profile.categories.push_back({name, 10});
  profile.other_count = 5;
  profile.other_names = {"pooled"};
  const driftd::CategoryBins bins(profile);
  for (size_t i = 0; i < names.size(); ++i) {
    INFO("category " << i);
    CHECK(bins.bin_of(names[i]) == i);
  }
  CHECK(bins.bin_of("pooled") == names.size());  // the 'other' bin
  for (const std::string& absent :
       std::vector<std::string>{"b", "abce", "enterprisE", "0123456789abcdeF", "0123456789abcdefh",
                                std::string("ab\0", 3)}) {
    INFO("absent " << absent);
    CHECK(bins.bin_of(absent) == driftd::CategoryBins::kNew);
  }
}

TEST_CASE("PaddedKey equals string equality at every length, whatever follows the text",
          "[daemon]") {
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'k');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    const driftd::PaddedKey key(a);
    CHECK(key.view() == a);
    // The compared text lies in a padded buffer; the bytes after it differ
    // from the key's own (zero) padding, and must not count.
    std::string buf = a + std::string(64, '#');
    CHECK(key.equals_padded(std::string_view(buf.data(), n)));
    if (n > 0) CHECK_FALSE(key.equals_padded(std::string_view(buf.data(), n - 1)));
    CHECK_FALSE(key.equals_padded(std::string_view(buf.data(), n + 1)));
    for (size_t i = 0; i < n; ++i) {
      std::string b = buf;
      b[i] = static_cast<char>(b[i] ^ 0x20);
      INFO("length " << n << ", byte " << i);
      CHECK_FALSE(key.equals_padded(std::string_view(b.data(), n)));
    }
  }
  CHECK(driftd::PaddedKey().equals_padded(std::string_view()));
}

TEST_CASE("PaddedKey matches a raw JSON string only when it is exactly the key", "[daemon]") {
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'k');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    const driftd::PaddedKey key(a);
    const std::string pad(64, ' ');
    INFO("length " << n);
    CHECK(key.equals_json_string((a + "\":1" + pad).c_str()));
    CHECK_FALSE(key.equals_json_string((a + "x\":1" + pad).c_str()));  // longer
    if (n > 0) {
      CHECK_FALSE(key.equals_json_string((a.substr(0, n - 1) + "\":1" + pad).c_str()));
      std::string b = a;
      b[n / 2] = static_cast<char>(b[n / 2] ^ 0x20);
      CHECK_FALSE(key.equals_json_string((b + "\":1" + pad).c_str()));
      // An escape where the key has a plain byte: not the same text here.
      std::string escaped = a;
      escaped[n - 1] = '\\';
      CHECK_FALSE(key.equals_json_string((escaped + "\":1" + pad).c_str()));
    }
  }
  // Keys holding a quote or a backslash are never matched raw: the raw text
  // \"" is the one-character key ", not the two-character key \".
  const std::string tail(64, ' ');
  CHECK_FALSE(driftd::PaddedKey("\\\"").equals_json_string(("\\\"\":1" + tail).c_str()));
  CHECK_FALSE(driftd::PaddedKey("a\"b").equals_json_string(("a\\\"b\":1" + tail).c_str()));
  CHECK(driftd::PaddedKey().equals_json_string(("\":1" + tail).c_str()));
}

namespace driftd {
namespace {

TEST_CASE("features read as they come: escaped keys, keys that change, malformed keys",
          "[daemon]") {
  GoldenDecoder g(3);
  const auto& base = g.base;
  ModelMonitor& m = g.m;
  EventDecoder& d = g.d;
  const std::string numeric = a_numeric_feature(m);
  char escaped_first[8];
  std::snprintf(escaped_first, sizeof escaped_first, "\\u%04x", numeric[0]);
  const std::string escaped_name = escaped_first + numeric.substr(1);
  const std::string head = R"({"model":")" + base->model_name + R"(","ts":1,"features":{)";
  std::vector<WindowResult> out;
  Feeder feed;
  // The name plain, then escaped at the same position, then after another
  // key: each time the value counts (is not missing).
  REQUIRE(feed(d, head + "\"" + numeric + "\":1.5}}", &out).outcome == EventOutcome::kAdded);
  REQUIRE(feed(d, head + "\"" + escaped_name + "\":2.5}}", &out).outcome == EventOutcome::kAdded);
  // A malformed escape in a key is invalid JSON, and nothing of it stays.
  const auto bad = feed(d, head + "\"other\":1,\"\\u12\":1}}", &out);
  CHECK(bad.outcome == EventOutcome::kRejected);
  CHECK(bad.reason == RejectReason::kInvalidJson);
  REQUIRE(feed(d, head + "\"other\":1,\"" + numeric + "\":3.5}}", &out).outcome ==
          EventOutcome::kAdded);
  REQUIRE(out.size() == 1);
  CHECK(missing_of(out[0], numeric) == 0);
}

TEST_CASE("JsonStringSet finds a raw JSON string only when it is exactly one of its texts",
          "[daemon]") {
  JsonStringSet set;
  const std::vector<std::string_view> texts = {"",
                                               "F",
                                               "FR",
                                               "FRA",
                                               "enterprise",
                                               "a\"b",
                                               "back\\slash",
                                               "0123456789abcdef",
                                               "0123456789abcde"};
  REQUIRE(set.assign(texts));
  const std::string pad(64, '"');  // quotes after the text must not help a match
  auto find = [&](const std::string& raw) { return set.find_json_string((raw + pad).c_str()); };
  CHECK(find("\"") == 0);
  CHECK(find("F\"") == 1);
  CHECK(find("FR\"") == 2);
  CHECK(find("FRA\",") == 3);
  CHECK(find("enterprise\"}") == 4);
  CHECK(find("0123456789abcde\"") == 8);  // 15 bytes: the longest found raw
  // Not found this way: a prefix or an extension, an escaped form, texts
  // with a quote or backslash, and texts of 16 bytes or more.
  CHECK(find("FRX\"") == -1);
  CHECK(find("E\"") == -1);
  CHECK(find("\\u0046R\"") == -1);
  CHECK(find("a\\\"b\"") == -1);
  CHECK(find("back\\\\slash\"") == -1);
  CHECK(find("0123456789abcdef\"") == -1);
  std::vector<std::string_view> too_many(JsonStringSet::kMaxTexts + 1, "x");
  CHECK_FALSE(set.assign(too_many));
  CHECK(set.size() == 0);
}

// Feeds one event per features object to two decoders: `direct` reads the
// model first, so its features are staged as the scan reads them; `general`
// names the model after the features, so every cell takes the general path.
// `after[i]`, when given, follows event i's features (top-level fields).
// Returns both windows' reports (each decoder's window is `features.size()`
// events).
std::pair<std::string, std::string> direct_and_general_reports(
    GoldenDecoder& direct, GoldenDecoder& general, const std::vector<std::string>& features,
    const std::vector<std::string>& after = {}) {
  const auto& base = direct.base;
  const std::string model =
      R"("model":")" + base->model_name + R"(","model_version":")" + base->model_version + "\"";
  std::vector<WindowResult> a, b;
  Feeder feed;
  for (size_t i = 0; i < features.size(); ++i) {
    const std::string& f = features[i];
    INFO(f);
    const std::string field = R"("features":)" + f + (i < after.size() ? after[i] : "");
    REQUIRE(feed(direct.d, "{" + model + R"(,"ts":1,)" + field + "}", &a).outcome ==
            EventOutcome::kAdded);
    REQUIRE(feed(general.d, R"({"ts":1,)" + field + "," + model + "}", &b).outcome ==
            EventOutcome::kAdded);
  }
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  return {report_json(a[0].report), report_json(b[0].report)};
}

TEST_CASE("categories matched raw where they lie count as the general decode counts them",
          "[daemon]") {
  // The same events to two decoders: one reads the model first, so its
  // features are staged as they are read and a plain baseline category is
  // matched raw (stage_json_category); the other names the model after the
  // features, so every cell takes the general path. Their windows match.
  GoldenDecoder direct(8), general(8);
  const std::vector<std::string> countries = {
      R"("FR")",      R"("US")", R"("IT")",  R"("DE")",  // categories, then 'other'
      R"("\u0046R")", R"("ES")", R"("FRA")", R"("F")"};  // escaped, new, near misses
  std::vector<std::string> features;
  for (const auto& c : countries) features.push_back(R"({"amount":3.5,"country":)" + c + "}");
  const auto [direct_report, general_report] =
      direct_and_general_reports(direct, general, features);
  CHECK(direct_report == general_report);
  // The raw match itself: a plain category, and nothing else.
  ModelMonitor& m = direct.m;
  const int country = m.column_of("country");
  REQUIRE(country >= 0);
  const std::string pad(32, ' ');
  CHECK(m.stage_json_category(country, ("IT\"}" + pad).c_str()));
  CHECK_FALSE(m.stage_json_category(country, ("DE\"}" + pad).c_str()));
  CHECK_FALSE(m.stage_json_category(country, ("\\u0049T\"}" + pad).c_str()));
  CHECK_FALSE(m.stage_json_category(m.column_of("amount"), ("IT\"}" + pad).c_str()));
  m.clear_stage();
}

TEST_CASE("a numeric timestamp is read as simdjson reads it", "[daemon]") {
  // Every shape gives what simdjson's get_double gives: the same epoch
  // milliseconds, or a refusal. In a labels event as well.
  const std::vector<std::string> literals = {
      "1",    "-5",     "1795341600000",  "1.5",    "1e3", "2E+2", "01", "-", "1e999", "-0", "1.",
      "9e15", "9.1e15", "12345678901234", "0.0001", "7 ",  "1 2"};
  GoldenDecoder g(1000);
  const auto& base = g.base;
  const std::string model =
      R"("model":")" + base->model_name + R"(","model_version":")" + base->model_version + "\"";
  Feeder feed;
  simdjson::ondemand::parser parser;
  for (const auto& x : literals) {
    INFO(x);
    simdjson::padded_string doc(x);
    double want = 0;
    auto parsed = parser.iterate(doc);
    const bool number = !parsed.error() && !parsed.get_double().get(want) && std::isfinite(want) &&
                        std::fabs(want) <= 9e15;
    for (const bool label : {false, true}) {
      const std::string line =
          label ? "{" + model + R"(,"id":"a","ts":)" + x + R"(,"label":1})"
                : "{" + model + R"(,"ts":)" + x + R"(,"features":{"amount":1.5}})";
      const DecodedEvent ev = feed(g.d, line);
      if (number) {
        CHECK(ev.outcome == (label ? EventOutcome::kLabel : EventOutcome::kAdded));
        if (!label) CHECK(ev.ts_ms == static_cast<int64_t>(want));
      } else {
        CHECK(ev.outcome == EventOutcome::kRejected);
        CHECK(
            (ev.reason == RejectReason::kBadTimestamp || ev.reason == RejectReason::kInvalidJson));
      }
    }
  }
}

TEST_CASE("numbers read with their column count as the general decode reads them", "[daemon]") {
  // As for categories: one decoder stages each number's text and reads the
  // column's numbers together (kernels::read_json_numbers, then simdjson for
  // the rest); the other reads every number inside the scan (get_double).
  // Plain, negative, integer, padded, exponent, long (16 digits and more,
  // and a token too long to stage), malformed and out of range: the same
  // windows, type errors included.
  const std::vector<std::string> amounts = {"3.5",
                                            "-0.25",
                                            "12",
                                            "0",
                                            "-0",
                                            "0.000125",
                                            "1e3",
                                            "1.5E-2",
                                            "3.5 ",
                                            "-7.75\t",
                                            "123456789012345",
                                            "1234567890123456",
                                            "0.1234567890123456789",
                                            "12345678901234.5",
                                            "01",
                                            "1.",
                                            "1.2.3",
                                            "1e999",
                                            "-01",
                                            "2.50"};
  // ("-" and "-.5" start no number: refused as invalid JSON, in the
  // hostile events' test.)
  // Once as they are; once without the two tokens of 16 bytes and more, so
  // that every cell of the column is a text (read straight into the batch's
  // numbers, the declined ones found after).
  auto compare = [](const std::vector<std::string>& values, const std::string& type_errors) {
    GoldenDecoder direct(static_cast<int64_t>(values.size())),
        general(static_cast<int64_t>(values.size()));
    std::vector<std::string> features;
    for (const auto& x : values) features.push_back(R"({"amount":)" + x + R"(,"country":"DE"})");
    const auto [report, general_report] = direct_and_general_reports(direct, general, features);
    CHECK(report == general_report);
    // The malformed and out-of-range ones (5) are type errors in both.
    INFO(report);
    CHECK(report.find(R"("type_error_rate": )" + type_errors) != std::string::npos);
  };
  compare(amounts, "0.25");
  std::vector<std::string> short_ones;
  for (const auto& x : amounts) {
    if (x.size() < 16) short_ones.push_back(x);
  }
  REQUIRE(short_ones.size() == 17);
  compare(short_ones, "0.29411764705882354");
  // A prediction after the features (read with the features' model known)
  // gives the same windows as the general decode; the shapes above as
  // predictions.
  {
    GoldenDecoder direct_p(static_cast<int64_t>(amounts.size())),
        general_p(static_cast<int64_t>(amounts.size()));
    std::vector<std::string> features, predictions;
    for (const auto& x : amounts) {
      features.push_back(R"({"amount":3.5,"country":"DE"})");
      predictions.push_back(R"(,"prediction":)" + x);
    }
    const auto [report, general_report] =
        direct_and_general_reports(direct_p, general_p, features, predictions);
    CHECK(report == general_report);
    INFO(report);
    CHECK(report.find(R"("type_error_rate": 0.25)") != std::string::npos);
  }
  GoldenDecoder direct(1);
  // The staging itself: a column outside the numeric batch takes no text.
  ModelMonitor& m = direct.m;
  CHECK(m.stage_number_text(m.column_of("amount"), "2.5}                            "));
  CHECK_FALSE(m.stage_number_text(m.column_of("country"), "2.5}                            "));
  m.clear_stage();
}

}  // namespace
}  // namespace driftd

namespace driftd {
namespace {

// The lines issue 15 found accepted by the file and Kafka path and refused
// over HTTP, and their neighbours: one verdict and reason from the decoder
// (the ingest thread) and from EventReader::verdict (the HTTP threads).
TEST_CASE("hostile events: the decoder and the HTTP verdict agree, reason by reason", "[daemon]") {
  const auto base = test::golden_baseline();
  MonitorSettings s;  // time windows, max_future the default hour
  ModelMonitor m(base, s);
  Router router;
  router.add(base->model_name, base->model_version, &m);
  EventDecoder decoder(EventFields{}, router);
  const Router routes = router.routes_only();
  EventReader http_reader{EventFields{}};
  Feeder feed;
  const std::string head = R"({"model":"fraud","model_version":"3","id":"r1","ts":1764115200000,)";
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  struct Case {
    std::string line;
    RejectReason reason;
    const char* detail;  // a part of the reason's text
  };
  const std::vector<Case> cases = {
      {head + R"("features":{"amount":1.5,"age":30,"country":"FR"}})", RejectReason::kNone, ""},
      // A member with no value: the decoder read a previous event's bytes.
      {R"({"model":"fraud","id":,"ts":1764115200000,"features":{"amount":1}})",
       RejectReason::kInvalidJson, "at id"},
      {head + R"("features":{"amount":1}}}}}})", RejectReason::kInvalidJson, "trailing content"},
      {head + R"("features":{"amount":NaN}})", RejectReason::kInvalidJson, "at features.amount"},
      {head + R"("features":{"age":Infinity}})", RejectReason::kInvalidJson, "at features.age"},
      {head + R"("features":{"not_in_baseline":NaN}})", RejectReason::kInvalidJson,
       "features.not_in_baseline"},
      {head + R"("prediction":-Infinity,"features":{}})", RejectReason::kInvalidJson, "prediction"},
      {head + R"("features":{"amount":-,"age":1}})", RejectReason::kInvalidJson, "features.amount"},
      {head + R"("features":{"age":-.5}})", RejectReason::kInvalidJson, "features.age"},
      {head + R"("deep":)" + deep + R"(,"features":{}})", RejectReason::kInvalidJson, "too deep"},
      {head + R"("meta":{"a":[1,2,{"b":null}]},"features":{}})", RejectReason::kNone, ""},
      {head + R"("meta":{"a":[1 2]},"features":{}})", RejectReason::kInvalidJson, "at meta.a"},
      {head + R"("features":{"country":"bad \q escape"}})", RejectReason::kInvalidJson,
       "features.country"},
      {head + R"("features":{"amount":tru}})", RejectReason::kInvalidJson, "features.amount"},
      // Valid JSON whose number is not a double: a type error of the cell.
      {head + R"("features":{"amount":1e999,"age":1.2.3}})", RejectReason::kNone, ""},
      {head + R"("features":[1,2]})", RejectReason::kInvalidJson, "features must be an object"},
      // A structural byte out of place right after a value the decoder
      // staged without reading it (a category matched raw, a number kept as
      // text): simdjson skips such a value without checking what follows.
      {R"({"model":"fraud","features":{"country":"FR":}}})", RejectReason::kInvalidJson,
       "invalid JSON"},
      {head + R"("features":{"country":"FR":}})", RejectReason::kInvalidJson, "invalid JSON"},
      {head + R"("features":{"amount":1.5:}})", RejectReason::kInvalidJson, "invalid JSON"},
      {head + R"("features":{"country":"FR" "age":3}})", RejectReason::kInvalidJson,
       "invalid JSON"},
      {head + R"("features":{"amount":1.5 "age":3}})", RejectReason::kInvalidJson, "invalid JSON"},
      {head + R"("features":{"amount":1.5,}})", RejectReason::kInvalidJson, "invalid JSON"},
      {head + R"("features":{"country":"FR",}})", RejectReason::kInvalidJson, "invalid JSON"},
      {head + R"("features":{"country":"FR"]})", RejectReason::kInvalidJson, "invalid JSON"},
      {R"({"model":"fraud":"x","ts":1764115200000,"features":{}})", RejectReason::kInvalidJson,
       "invalid JSON"},
      {R"({"model":"fraud","features":{}})", RejectReason::kMissingTimestamp, "no \"ts\""},
      {R"({"model":"fraud","ts":"soon","features":{}})", RejectReason::kBadTimestamp, "ISO 8601"},
      {R"({"model":"fraud","ts":32503680000000,"features":{}})", RejectReason::kFutureTimestamp,
       "3000-01-01T00:00:00Z"},
      {R"({"model":"fraud","id":"r1","label":"x","ts":1764115200000})", RejectReason::kBadLabel,
       "label"},
      {R"({"model":"fraud","label":1,"ts":1764115200000})", RejectReason::kBadLabel, "\"id\""},
      {R"({"model":"fraud","model_version":[3],"ts":1,"features":{}})", RejectReason::kUnknownModel,
       "model_version"},
      {"[1,2]", RejectReason::kNotAnObject, "JSON object"},
      {"", RejectReason::kInvalidJson, ""},
  };
  for (const auto& c : cases) {
    INFO(c.line.substr(0, 200));
    const DecodedEvent ev = feed(decoder, c.line);
    const RejectReason got =
        ev.outcome == EventOutcome::kRejected ? ev.reason : RejectReason::kNone;
    CHECK(to_string(got) == std::string(to_string(c.reason)));
    CHECK(std::string(ev.detail).find(c.detail) != std::string::npos);
    // The HTTP threads' verdict: the same reason and the same words.
    std::string padded = c.line;
    padded.resize(c.line.size() + simdjson::SIMDJSON_PADDING, '\0');
    std::string_view detail;
    const RejectReason http =
        http_reader.verdict(padded.data(), c.line.size(), padded.size(), routes, &detail);
    CHECK(to_string(http) == std::string(to_string(got)));
    if (got != RejectReason::kNone) CHECK(detail == ev.detail);
  }
}

TEST_CASE("a far-future event is refused and the model goes on", "[daemon]") {
  const auto base = test::golden_baseline();
  MonitorSettings s;
  s.window.size = s.window.step = 60'000;  // max_future: the default hour
  ModelMonitor m(base, s);
  Router router;
  router.add(base->model_name, base->model_version, &m);
  EventDecoder d(EventFields{}, router);
  Feeder feed;
  const int64_t now = wall_clock_ms();
  d.set_now_ms(now);
  auto event_at = [&](int64_t ts) {
    return R"({"model":"fraud","ts":)" + std::to_string(ts) + R"(,"features":{"amount":1}})";
  };
  std::vector<WindowResult> windows;
  CHECK(feed(d, event_at(now - 120'000), &windows).outcome == EventOutcome::kAdded);
  // Year 3000 (and a microsecond time read as milliseconds) move nothing.
  for (const int64_t bad : {int64_t{32503680000000}, now * 1000}) {
    const DecodedEvent ev = feed(d, event_at(bad));
    CHECK(ev.outcome == EventOutcome::kRejected);
    CHECK(ev.reason == RejectReason::kFutureTimestamp);
  }
  // Within the hour of the clock: taken, and the window before closes.
  CHECK(feed(d, event_at(now - 60'000), &windows).outcome == EventOutcome::kAdded);
  CHECK(feed(d, event_at(now + 30 * 60'000), &windows).outcome == EventOutcome::kAdded);
  CHECK(windows.size() == 2);
  CHECK(m.late_events() == 0);
  // A replay of history: the same bound, from the same clock.
  CHECK(feed(d, event_at(now + 2 * 3'600'000)).reason == RejectReason::kFutureTimestamp);
}

}  // namespace
}  // namespace driftd
