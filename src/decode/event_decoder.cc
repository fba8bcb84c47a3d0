// EventReader (the one verdict on an event, for every source) and
// EventDecoder (staging a taken event into its monitor). Past 600 lines
// because both are driven by the scan of src/decode/event_scan.h, a
// template inlined into this translation unit so that simdjson's iterator
// stays in registers on the per-event path.
#include "driftd/decode/event_decoder.h"

#include "driftd/io/same_bytes.h"

#include <simdjson.h>

#include <algorithm>
#include <optional>

#include "src/decode/event_scan.h"
#include "src/io/json_walk.h"

#include <charconv>
#include <chrono>

#include <cmath>

namespace driftd {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kInvalidJson:
      return "invalid_json";
    case RejectReason::kNotAnObject:
      return "not_an_object";
    case RejectReason::kMissingModel:
      return "missing_model";
    case RejectReason::kUnknownModel:
      return "unknown_model";
    case RejectReason::kMissingTimestamp:
      return "missing_timestamp";
    case RejectReason::kBadTimestamp:
      return "bad_timestamp";
    case RejectReason::kBadLabel:
      return "bad_label";
    case RejectReason::kFutureTimestamp:
      return "future_timestamp";
  }
  return "unknown";
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days
// inverse described in Hinnant, "chrono-Compatible Low-Level Date
// Algorithms", 2013).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t at, size_t n, unsigned* out) {
  if (at + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  *out = v;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

bool parse_iso8601_ms(std::string_view s, int64_t* ms) {
  unsigned y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, &mo) ||
      s[7] != '-' || !digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
      !digits(s, 11, 2, &h) || s[13] != ':' || !digits(s, 14, 2, &mi) || s[16] != ':' ||
      !digits(s, 17, 2, &sec)) {
    return false;
  }
  static constexpr unsigned kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kMonthDays[mo - 1] || h > 23 || mi > 59 || sec > 60) {
    return false;
  }
  size_t at = 19;
  int64_t frac_ms = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    int64_t scale = 100;
    const size_t begin = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      frac_ms += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == begin) return false;
  }
  int64_t offset_min = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    unsigned oh, om;
    if (!digits(s, at + 1, 2, &oh) || at + 3 >= s.size() || s[at + 3] != ':' ||
        !digits(s, at + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_min = (s[at] == '-' ? -1 : 1) * static_cast<int64_t>(oh * 60 + om);
    at += 6;
  } else {
    return false;  // a time without a zone is ambiguous
  }
  if (at != s.size()) return false;
  const int64_t days = days_from_civil(y, mo, d);
  *ms = ((days * 24 + h) * 60 + mi) * 60000 + static_cast<int64_t>(sec) * 1000 + frac_ms -
        offset_min * 60000;
  return true;
}

namespace {

std::string_view text_of(const scan::Value& v) {
  return {v.text, v.text_len};
}
std::string_view raw_of(const scan::Value& v) {
  return trim(std::string_view(v.raw, v.raw_len));
}
std::string_view key_of(const scan::Field& f) {
  return {f.key, f.key_len};
}

// A label: a number, a boolean (true = 1), or a string holding a number.
bool read_label(const scan::Value& v, double* out) {
  switch (v.type) {
    case scan::Type::kNumber:
      *out = v.number;
      return v.number_ok && std::isfinite(*out);
    case scan::Type::kTrue:
    case scan::Type::kFalse:
      *out = v.type == scan::Type::kTrue ? 1 : 0;
      return true;
    case scan::Type::kString: {
      const std::string_view text = text_of(v);
      const auto res = std::from_chars(text.data(), text.data() + text.size(), *out);
      return res.ec == std::errc() && res.ptr == text.data() + text.size() && std::isfinite(*out);
    }
    default:
      return false;
  }
}

constexpr uint32_t kInitialTop = 32, kInitialFeatures = 256;
constexpr uint32_t kMaxTop = 1 << 12, kMaxFeatures = 1 << 16;

}  // namespace

namespace scan {

simdjson::error_code Scanner::walk(const char* data, size_t len, size_t capacity,
                                   std::string* where) {
  if (!walk_parser_) walk_parser_ = std::make_unique<simdjson::ondemand::parser>();
  simdjson::ondemand::document doc;
  if (auto err =
          walk_parser_->iterate(simdjson::padded_string_view(data, len, capacity)).get(doc)) {
    return err;
  }
  return json::validate_document(doc, json::kEventRules, where);
}

}  // namespace scan

// ---- EventReader ----------------------------------------------------------------

EventReader::EventReader(EventFields fields)
    : fields_(std::move(fields)),
      top_roles_(kMaxTop),
      scanner_(std::make_unique<scan::Scanner>()),
      event_(std::make_unique<scan::Event>()),
      now_ms_(wall_clock_ms()) {
  top_.resize(kInitialTop);
  features_.resize(kInitialFeatures);
}

EventReader::~EventReader() = default;

EventReader::TopRole EventReader::role_of(std::string_view key) const {
  if (same_bytes(key, fields_.model)) return TopRole::kModel;
  if (same_bytes(key, fields_.model_version)) return TopRole::kVersion;
  if (same_bytes(key, fields_.timestamp)) return TopRole::kTimestamp;
  if (same_bytes(key, fields_.features)) return TopRole::kFeatures;
  if (same_bytes(key, fields_.prediction)) return TopRole::kPrediction;
  if (same_bytes(key, fields_.label)) return TopRole::kLabel;
  if (same_bytes(key, fields_.id)) return TopRole::kId;
  return TopRole::kOther;
}

template <class Sink>
void EventReader::scan(const char* data, size_t len, size_t capacity, Sink& sink) {
  scan::Event& ev = *event_;
  for (;;) {
    ev.top = top_.data();
    ev.top_capacity = static_cast<uint32_t>(top_.size());
    ev.features = features_.data();
    ev.features_capacity = static_cast<uint32_t>(features_.size());
    scanner_->scan(data, len, capacity, fields_.features, ev, sink);
    // Room for more fields: grow (rarely, up to a bound) and scan again.
    if (ev.stop == scan::Stop::kTooManyTop && top_.size() < kMaxTop) {
      top_.resize(top_.size() * 2);
    } else if (ev.stop == scan::Stop::kTooManyFeatures && features_.size() < kMaxFeatures) {
      features_.resize(features_.size() * 2);
    } else {
      return;
    }
  }
}

RejectReason EventReader::judge_json(const char* data, size_t len, size_t capacity, bool suspect) {
  const scan::Event& ev = *event_;
  switch (ev.stop) {
    case scan::Stop::kNone:
      if (!suspect) return RejectReason::kNone;
      break;
    case scan::Stop::kTooManyTop:
    case scan::Stop::kTooManyFeatures:
      return reject(RejectReason::kInvalidJson,
                    "more fields than an event may have (4096 top-level, 65536 features)");
    case scan::Stop::kNotObject:
      if (ev.error == simdjson::INCORRECT_TYPE) {
        return reject(RejectReason::kNotAnObject, "an event must be a JSON object");
      }
      break;
    default:
      break;
  }
  // The whole-line walk decides and names the place (one rule whatever
  // the scan met first), on a parser of its own: the scan's views stay.
  std::string where;
  const simdjson::error_code err = scanner_->walk(data, len, capacity, &where);
  if (err == simdjson::SUCCESS) {
    if (ev.stop == scan::Stop::kNone) return RejectReason::kNone;  // nesting, valid
    // The scan failed where the walk did not: still refused, for the scan's reason.
    return reject(RejectReason::kInvalidJson,
                  std::string("invalid JSON: ") +
                      simdjson::error_message(static_cast<simdjson::error_code>(ev.error)));
  }
  detail_ = "invalid JSON";
  if (!where.empty()) detail_ += " at " + where.substr(1);
  detail_ += ": ";
  detail_ += simdjson::error_message(err);
  return RejectReason::kInvalidJson;
}

namespace {

std::string iso8601_of(int64_t ms) {
  const int64_t days = (ms >= 0 ? ms : ms - 86'399'999) / 86'400'000;
  const int64_t rest = ms - days * 86'400'000;
  // civil_from_days (Hinnant, as days_from_civil above).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char buf[48];
  std::snprintf(
      buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
      static_cast<long long>(y + (m <= 2)), m, d, static_cast<long long>(rest / 3'600'000),
      static_cast<long long>(rest / 60'000 % 60), static_cast<long long>(rest / 1000 % 60));
  return buf;
}

}  // namespace

template <class Find>
RejectReason EventReader::interpret(Find&& find, const TopRole* roles, uint32_t known_roles,
                                    ReadEvent& out) {
  const scan::Event& ev = *event_;
  out = ReadEvent{};
  std::string_view model, version, ts_text;
  bool have_ts = false, ts_is_number = false, has_label = false, has_features = false;
  bool features_bad = false, label_ok = false;
  double ts_number = 0;
  for (uint32_t i = 0; i < ev.n_top; ++i) {
    const scan::Value& v = ev.top[i].value;
    if (v.type == scan::Type::kBad) {
      // judge_json refused every such value; kept as a guard.
      return reject(RejectReason::kInvalidJson, "a member without a JSON value");
    }
    switch (roles != nullptr && i < known_roles ? roles[i] : role_at(i, key_of(ev.top[i]))) {
      case TopRole::kModel:
        if (v.type != scan::Type::kString) {
          return reject(RejectReason::kMissingModel, "\"" + fields_.model + "\" must be a string");
        }
        model = text_of(v);
        break;
      case TopRole::kVersion:
        if (v.type == scan::Type::kString) {
          version = text_of(v);
        } else if (v.type == scan::Type::kNumber) {
          // A numeric version ("model_version": 3) matches "3".
          const std::string_view raw = raw_of(v);
          const size_t n = std::min(raw.size(), sizeof version_buf_);
          std::copy_n(raw.data(), n, version_buf_);
          version = std::string_view(version_buf_, n);
        } else if (v.type != scan::Type::kNull) {
          return reject(RejectReason::kUnknownModel,
                        "\"" + fields_.model_version + "\" must be a string or a number");
        }
        break;
      case TopRole::kTimestamp:
        if (v.type == scan::Type::kNumber) {
          if (!v.number_ok) return reject(RejectReason::kBadTimestamp, "timestamp out of range");
          ts_number = v.number;
          ts_is_number = have_ts = true;
        } else if (v.type == scan::Type::kString) {
          ts_text = text_of(v);
          have_ts = true;
        } else {
          return reject(RejectReason::kBadTimestamp,
                        "timestamp must be an ISO 8601 string or epoch milliseconds");
        }
        break;
      case TopRole::kFeatures:
        has_features = true;
        features_bad = v.type != scan::Type::kObject;
        break;
      case TopRole::kPrediction:
        out.prediction = &v;
        break;
      case TopRole::kLabel:
        has_label = true;
        label_ok = read_label(v, &out.label);
        break;
      case TopRole::kId:
        // A numeric id counts by its literal; any other value is no id.
        out.id = v.type == scan::Type::kString   ? text_of(v)
                 : v.type == scan::Type::kNumber ? raw_of(v)
                                                 : std::string_view();
        break;
      case TopRole::kOther:
        break;
    }
  }
  if (model.empty()) {
    return reject(RejectReason::kMissingModel, "no \"" + fields_.model + "\" field");
  }
  out.route = find(model, version);
  if (out.route == nullptr) {
    detail_ = "no monitored model '";
    detail_.append(model);
    detail_ += "'";
    if (!version.empty()) {
      detail_ += " version '";
      detail_.append(version);
      detail_ += "'";
    } else {
      detail_ += " (a model of several versions needs \"" + fields_.model_version + "\")";
    }
    return RejectReason::kUnknownModel;
  }
  // The event's time, when it has one: epoch ms or ISO 8601.
  int64_t ts = 0;
  if (have_ts) {
    if (ts_is_number) {
      if (!std::isfinite(ts_number) || std::fabs(ts_number) > static_cast<double>(kMaxEventTime)) {
        return reject(RejectReason::kBadTimestamp, "timestamp out of range");
      }
      ts = static_cast<int64_t>(ts_number);
    } else if (!parse_iso8601_ms(ts_text, &ts)) {
      return reject(RejectReason::kBadTimestamp,
                    "timestamp is not ISO 8601 with a zone (2026-11-22T10:00:00Z)");
    }
    // One event far ahead would move the watermark past every later event
    // (all then late, no window closing): dated beyond the model's bound
    // of the wall clock, it is refused instead.
    if (out.route->max_future_ms > 0 && ts > now_ms_ + out.route->max_future_ms) {
      return reject(RejectReason::kFutureTimestamp,
                    "timestamp " + iso8601_of(ts) + " is more than max_future (" +
                        std::to_string(out.route->max_future_ms / 1000) +
                        " s) ahead of the clock (" + iso8601_of(now_ms_) + ")");
    }
  }
  if (!has_features && has_label) {
    if (!label_ok) return reject(RejectReason::kBadLabel, "a label must be a number or a boolean");
    if (ModelMonitor::id_key(out.id) == 0) {
      return reject(RejectReason::kBadLabel,
                    "a label event needs its prediction's \"" + fields_.id + "\"");
    }
    out.is_label = true;
    out.has_label_ts = have_ts;
    out.ts_ms = ts;
    return RejectReason::kNone;
  }
  if (!have_ts && out.route->time_windows) {
    return reject(RejectReason::kMissingTimestamp, "no \"" + fields_.timestamp + "\" field");
  }
  if (features_bad) return reject(RejectReason::kInvalidJson, "features must be an object");
  out.ts_ms = ts;
  return RejectReason::kNone;
}

RejectReason EventReader::verdict(const char* data, size_t len, size_t capacity,
                                  const Router& routes, std::string_view* detail) {
  scan::NoSink none;
  scan(data, len, capacity, none);
  RejectReason r = judge_json(data, len, capacity, event_->suspect);
  last_label_ = false;
  if (r == RejectReason::kNone) {
    ReadEvent e;
    r = interpret([&](std::string_view m, std::string_view v) { return routes.find(m, v); },
                  nullptr, 0, e);
    last_label_ = r == RejectReason::kNone && e.is_label;
  }
  *detail = r == RejectReason::kNone ? std::string_view() : std::string_view(detail_);
  return r;
}

// ---- EventDecoder ---------------------------------------------------------------

EventDecoder::EventDecoder(EventFields fields, const Router& router)
    : reader_(std::move(fields)), router_(router) {}

EventDecoder::~EventDecoder() = default;

const ModelRoute* EventDecoder::find_route(std::string_view model, std::string_view version) {
  if (last_route_ != nullptr && last_model_.equals_padded(model) &&
      last_version_.equals_padded(version)) {
    return last_route_;
  }
  const ModelRoute* r = router_.find(model, version);
  if (r != nullptr) {
    last_model_.assign(model);
    last_version_.assign(version);
    last_route_ = r;
  }
  return r;
}

void EventDecoder::stage(const scan::Value& v, ModelMonitor& m, int col) {
  const bool numeric = m.is_numeric(col);
  switch (v.type) {
    case scan::Type::kNull:
      m.stage_null(col);
      return;
    case scan::Type::kNumber:
      if (!numeric) {
        m.stage_text(col, raw_of(v));
      } else if (v.number_ok) {
        m.stage_number(col, v.number);
      } else {
        m.stage_bad_type(col);  // out of double range, or not a number (1.2.3)
      }
      return;
    case scan::Type::kString: {
      const std::string_view s = text_of(v);
      if (numeric) {
        // "NaN" and empty text are missing, as in the batch reader; other
        // text in a numeric column is a type error.
        if (s.empty() || s == "NaN" || s == "nan") {
          m.stage_null(col);
        } else {
          m.stage_bad_type(col);
        }
      } else if (s.empty()) {
        m.stage_null(col);
      } else {
        m.stage_text(col, s);
      }
      return;
    }
    case scan::Type::kTrue:
    case scan::Type::kFalse:
      if (numeric) {
        m.stage_bad_type(col);
      } else {
        m.stage_text(col, raw_of(v));
      }
      return;
    default:
      m.stage_bad_type(col);  // an object or an array
      return;
  }
}

// Stages the members of a features object straight into the monitor of the
// model the event named before them (the usual order: model, version, then
// features). decode() judges the event once the whole of it is read (and
// clears the staging of a refused one), and decodes again without the sink
// when a later field changed the route.
struct EventDecoder::DirectStage {
  explicit DirectStage(EventDecoder& d) : decoder(d) {}
  EventDecoder& decoder;
  ModelMonitor* monitor = nullptr;  // where the last features object went, if it went direct
  const ModelRoute* route = nullptr;
  // What direct() found, for decode to reuse: the roles of the first
  // `known_roles` top-level fields, and the model and version it routed by.
  static constexpr uint32_t kRoles = 16;
  EventReader::TopRole roles[kRoles] = {};
  uint32_t known_roles = 0;
  std::string_view model, version;
  bool suspect = false;  // a member needs_walk()

  bool direct(const scan::Event& ev) {
    if (monitor != nullptr) {  // a repeated features object: the last one counts
      monitor->clear_stage();
      monitor = nullptr;
      route = nullptr;
    }
    model = version = {};
    // The last field is this features object. (decode reads the roles only
    // when this returns true, that is when every one was looked up.)
    known_roles = std::min(ev.n_top - 1, kRoles);
    for (uint32_t i = 0; i + 1 < ev.n_top; ++i) {
      const scan::Value& v = ev.top[i].value;
      const EventReader::TopRole role = decoder.reader_.role_at(i, key_of(ev.top[i]));
      if (i < kRoles) roles[i] = role;
      switch (role) {
        case EventReader::TopRole::kModel:
          if (v.type != scan::Type::kString) return false;
          model = text_of(v);
          break;
        case EventReader::TopRole::kVersion:
          if (v.type != scan::Type::kString) return false;  // a numeric version: the general path
          version = text_of(v);
          break;
        default:
          break;
      }
    }
    if (model.empty()) return false;
    route = decoder.find_route(model, version);
    monitor = route != nullptr ? route->monitor : nullptr;
    return monitor != nullptr;
  }

  template <class FullKey>
  [[gnu::always_inline]] bool member(uint32_t position, const char* raw_key, FullKey& full_key,
                                     simdjson::ondemand::value& v) {
    bool malformed = false;
    const int col = monitor->column_at_json(position, raw_key, full_key, &malformed);
    if (col < 0) {
      if (malformed) return false;
      // A feature the baseline lacks: not staged, but judged like the rest.
      scan::Value ignored;
      scan::detail::read_value(v, ignored);
      suspect |= scan::needs_walk(ignored.type);
      return true;
    }
    const std::string_view token = v.raw_json_token();
    const char c = token.empty() ? '\0' : token.front();
    if (monitor->is_numeric(col)) {
      if ((c >= '0' && c <= '9') || c == '-') {
        if (c == '-' && !json::number_start(token.data())) suspect = true;  // "-Infinity"
        // Read later with its column (simdjson skips the value it was not
        // asked for): the token and the structural byte after it fit.
        if (token.size() < kNumberTextBytes && monitor->stage_number_text(col, token.data())) {
          return true;
        }
        double d = 0;
        if (v.get_double().get(d)) {
          monitor->stage_bad_type(col);  // out of double range, as stage() counts it
        } else {
          monitor->stage_number(col, d);
        }
        return true;
      }
    } else if (c == '"' && monitor->stage_json_category(col, token.data() + 1)) {
      // A baseline category, matched raw where it lies (the input is
      // padded), then read past: simdjson skips an unread string as a key
      // when a ':' follows it, so {"country":"FR":}} would pass unseen.
      simdjson::ondemand::raw_json_string past;
      if (v.get_raw_json_string().get(past)) suspect = true;  // the walk judges it
      return true;
    }
    scan::Value value;
    scan::detail::read_value(v, value);
    suspect |= scan::needs_walk(value.type);
    decoder.stage(value, *monitor, col);
    return true;
  }
};

DecodedEvent EventDecoder::decode(const char* data, size_t len, size_t capacity,
                                  const ModelMonitor::OnWindow& on_window) {
  return decode(data, len, capacity, on_window, true);
}

DecodedEvent EventDecoder::decode(const char* data, size_t len, size_t capacity,
                                  const ModelMonitor::OnWindow& on_window, bool allow_direct) {
  DecodedEvent out;
  DirectStage sink(*this);
  auto reject = [&](RejectReason r) {
    // Nothing of a rejected event stays.
    if (sink.monitor != nullptr) sink.monitor->clear_stage();
    out.outcome = EventOutcome::kRejected;
    out.reason = r;
    out.detail = reader_.detail_;
    return out;
  };
  if (allow_direct) {
    reader_.scan(data, len, capacity, sink);
  } else {
    scan::NoSink none;
    reader_.scan(data, len, capacity, none);
  }
  const scan::Event& ev = *reader_.event_;
  if (ev.stop != scan::Stop::kNone || ev.suspect || sink.suspect) {
    if (const RejectReason r = reader_.judge_json(data, len, capacity, true);
        r != RejectReason::kNone) {
      return reject(r);
    }
  }
  ReadEvent e;
  // Routed by the same texts as the features (no later field changed
  // them): the route the sink found.
  auto find = [&](std::string_view model, std::string_view version) {
    if (sink.route != nullptr && model.data() == sink.model.data() &&
        model.size() == sink.model.size() && version.data() == sink.version.data() &&
        version.size() == sink.version.size()) {
      return sink.route;
    }
    return find_route(model, version);
  };
  if (const RejectReason r = reader_.interpret(find, ev.direct ? sink.roles : nullptr,
                                               ev.direct ? sink.known_roles : 0, e);
      r != RejectReason::kNone) {
    return reject(r);
  }
  ModelMonitor* monitor = e.route->monitor;
  if (sink.monitor != nullptr && sink.monitor != monitor) {
    // The features went to the monitor the fields before them named, and a
    // field after them changed that (a version, a second model): undone,
    // and the event decoded the general way.
    sink.monitor->clear_stage();
    return decode(data, len, capacity, on_window, false);
  }
  if (e.is_label) {
    monitor->clear_stage();
    out.outcome = EventOutcome::kLabel;
    out.label = monitor->join_label(
        ModelMonitor::id_key(e.id), e.label,
        e.has_label_ts ? std::optional<int64_t>(e.ts_ms) : std::optional<int64_t>());
    out.monitor = monitor;
    return out;
  }
  if (ev.features_field >= 0 && !ev.direct) {
    for (uint32_t i = 0; i < ev.n_features; ++i) {
      const int col = monitor->column_at(i, key_of(ev.features[i]));
      if (col < 0) continue;  // a feature the baseline lacks
      const scan::Value& v = ev.features[i].value;
      if (v.type == scan::Type::kNumber && v.number_ok && monitor->is_numeric(col)) {
        monitor->stage_number(col, v.number);  // the common cell, without stage()'s cases
      } else {
        stage(v, *monitor, col);
      }
    }
  }
  if (e.prediction != nullptr && monitor->prediction_column() >= 0) {
    stage(*e.prediction, *monitor, monitor->prediction_column());
  }
  if (monitor->joins_labels()) monitor->stage_id_key(ModelMonitor::id_key(e.id));
  out.monitor = monitor;
  out.ts_ms = e.ts_ms;
  out.outcome = monitor->commit(e.ts_ms, on_window) ? EventOutcome::kAdded : EventOutcome::kLate;
  return out;
}

}  // namespace driftd
