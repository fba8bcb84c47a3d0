#include "driftd/event_decoder.h"

#include "driftd/same_bytes.h"

#include <simdjson.h>

#include <algorithm>
#include <optional>

#include "src/daemon/event_scan.h"

#include <charconv>

#include <cmath>

namespace driftd {

void Router::add(const std::string& model, const std::string& version, ModelMonitor* monitor) {
  models_[model].emplace_back(version, monitor);
}

ModelMonitor* Router::find(std::string_view model, std::string_view version) const {
  const auto it = models_.find(model);
  if (it == models_.end()) return nullptr;
  if (version.empty()) return it->second.size() == 1 ? it->second.front().second : nullptr;
  for (const auto& [v, m] : it->second) {
    if (v == version) return m;
  }
  return nullptr;
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

EventDecoder::EventDecoder(EventFields fields, const Router& router)
    : top_roles_(kMaxTop),
      fields_(std::move(fields)),
      router_(router),
      scanner_(std::make_unique<scan::Scanner>()),
      event_(std::make_unique<scan::Event>()) {
  top_.resize(kInitialTop);
  features_.resize(kInitialFeatures);
}

EventDecoder::~EventDecoder() = default;

EventDecoder::TopRole EventDecoder::role_of(std::string_view key) const {
  if (same_bytes(key, fields_.model)) return TopRole::kModel;
  if (same_bytes(key, fields_.model_version)) return TopRole::kVersion;
  if (same_bytes(key, fields_.timestamp)) return TopRole::kTimestamp;
  if (same_bytes(key, fields_.features)) return TopRole::kFeatures;
  if (same_bytes(key, fields_.prediction)) return TopRole::kPrediction;
  if (same_bytes(key, fields_.label)) return TopRole::kLabel;
  if (same_bytes(key, fields_.id)) return TopRole::kId;
  return TopRole::kOther;
}

ModelMonitor* EventDecoder::find_monitor(std::string_view model, std::string_view version) {
  if (last_monitor_ != nullptr && last_model_.equals_padded(model) &&
      last_version_.equals_padded(version)) {
    return last_monitor_;
  }
  ModelMonitor* m = router_.find(model, version);
  if (m != nullptr) {
    last_model_.assign(model);
    last_version_.assign(version);
    last_monitor_ = m;
  }
  return m;
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
        m.stage_bad_type(col);  // out of double range
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
      m.stage_bad_type(col);
      return;
  }
}

// Stages the members of a features object straight into the monitor of the
// model the event named before them (the usual order: model, version, then
// features). decode() checks the routing once the whole event is read, and
// decodes again without the sink when it differs.
struct EventDecoder::DirectStage {
  explicit DirectStage(EventDecoder& d) : decoder(d) {}
  EventDecoder& decoder;
  ModelMonitor* monitor = nullptr;  // where the last features object went, if it went direct
  // What direct() found, for decode to reuse: the roles of the first
  // `known_roles` top-level fields, and the model and version it routed by.
  static constexpr uint32_t kRoles = 16;
  TopRole roles[kRoles] = {};
  uint32_t known_roles = 0;
  std::string_view model, version;

  bool direct(const scan::Event& ev) {
    if (monitor != nullptr) {  // a repeated features object: the last one counts
      monitor->clear_stage();
      monitor = nullptr;
    }
    model = version = {};
    // The last field is this features object. (decode reads the roles only
    // when this returns true, that is when every one was looked up.)
    known_roles = std::min(ev.n_top - 1, kRoles);
    for (uint32_t i = 0; i + 1 < ev.n_top; ++i) {
      const scan::Value& v = ev.top[i].value;
      const TopRole role = decoder.role_at(i, key_of(ev.top[i]));
      if (i < kRoles) roles[i] = role;
      switch (role) {
        case TopRole::kModel:
          if (v.type != scan::Type::kString) return false;
          model = text_of(v);
          break;
        case TopRole::kVersion:
          if (v.type != scan::Type::kString) return false;  // a numeric version: the general path
          version = text_of(v);
          break;
        default:
          break;
      }
    }
    if (model.empty()) return false;
    monitor = decoder.find_monitor(model, version);
    return monitor != nullptr;
  }

  template <class FullKey>
  [[gnu::always_inline]] bool member(uint32_t position, const char* raw_key, FullKey& full_key,
                                     simdjson::ondemand::value& v) {
    bool malformed = false;
    const int col = monitor->column_at_json(position, raw_key, full_key, &malformed);
    if (col < 0) return !malformed;  // else a feature the baseline lacks
    const std::string_view token = v.raw_json_token();
    const char c = token.empty() ? '\0' : token.front();
    if (monitor->is_numeric(col)) {
      if ((c >= '0' && c <= '9') || c == '-') {
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
      return true;  // a baseline category, matched raw where it lies (the input is padded)
    }
    scan::Value value;
    scan::detail::read_value(v, value);
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
  ModelMonitor* monitor = nullptr;
  DirectStage sink(*this);
  scan::NoSink no_sink;
  auto reject = [&](RejectReason r, std::string_view detail) {
    // Nothing of a rejected event stays.
    if (monitor != nullptr) monitor->clear_stage();
    if (sink.monitor != nullptr && sink.monitor != monitor) sink.monitor->clear_stage();
    out.outcome = EventOutcome::kRejected;
    out.reason = r;
    detail_.assign(detail);
    out.detail = detail_;
    return out;
  };
  // On-Demand reads only as far as it needs; text after the object is
  // caught here (an object's text ends with its closing brace).
  const std::string_view whole = trim(std::string_view(data, len));
  if (!whole.empty() && whole.front() == '{' && whole.back() != '}') {
    return reject(RejectReason::kInvalidJson, "content after the JSON object, or it is cut short");
  }
  scan::Event& ev = *event_;
  for (;;) {
    ev.top = top_.data();
    ev.top_capacity = static_cast<uint32_t>(top_.size());
    ev.features = features_.data();
    ev.features_capacity = static_cast<uint32_t>(features_.size());
    if (allow_direct) {
      scanner_->scan(data, len, capacity, fields_.features, ev, sink);
    } else {
      scanner_->scan(data, len, capacity, fields_.features, ev, no_sink);
    }
    // Room for more fields: grow (rarely, up to a bound) and scan again.
    if (ev.stop == scan::Stop::kTooManyTop && top_.size() < kMaxTop) {
      top_.resize(top_.size() * 2);
    } else if (ev.stop == scan::Stop::kTooManyFeatures && features_.size() < kMaxFeatures) {
      features_.resize(features_.size() * 2);
    } else {
      break;
    }
  }
  switch (ev.stop) {
    case scan::Stop::kNone:
      break;
    case scan::Stop::kNotObject:
      return ev.error == simdjson::INCORRECT_TYPE
                 ? reject(RejectReason::kNotAnObject, "an event must be a JSON object")
                 : reject(RejectReason::kInvalidJson,
                          simdjson::error_message(static_cast<simdjson::error_code>(ev.error)));
    case scan::Stop::kTooManyTop:
    case scan::Stop::kTooManyFeatures:
      return reject(RejectReason::kInvalidJson, "more fields than an event may have");
    default:
      return reject(RejectReason::kInvalidJson,
                    simdjson::error_message(static_cast<simdjson::error_code>(ev.error)));
  }
  std::string_view model, version, ts_text;
  char version_buf[32] = {};  // 16 bytes and more are read by PaddedKey
  bool have_ts = false, ts_is_number = false, has_label = false, has_features = false;
  bool features_bad = false;
  double ts_number = 0;
  std::string_view id;  // hashed only where the label join needs it
  double label = 0;
  bool label_ok = false;
  const scan::Value* prediction = nullptr;
  for (uint32_t i = 0; i < ev.n_top; ++i) {
    const scan::Value& v = ev.top[i].value;
    // The fields before a direct features object were looked up by it.
    const bool known = ev.direct && i < sink.known_roles;
    switch (known ? sink.roles[i] : role_at(i, key_of(ev.top[i]))) {
      case TopRole::kModel:
        if (v.type != scan::Type::kString) {
          return reject(RejectReason::kMissingModel, "model is not a string");
        }
        model = text_of(v);
        break;
      case TopRole::kVersion:
        if (v.type == scan::Type::kString) {
          version = text_of(v);
        } else {
          // A numeric version ("model_version": 3) matches "3".
          const std::string_view raw = raw_of(v);
          const size_t n = std::min(raw.size(), sizeof version_buf);
          std::copy_n(raw.data(), n, version_buf);
          version = std::string_view(version_buf, n);
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
        } else if (v.type == scan::Type::kBad) {
          return reject(RejectReason::kInvalidJson, "bad timestamp value");
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
        prediction = &v;
        break;
      case TopRole::kLabel:
        has_label = true;
        label_ok = read_label(v, &label);
        break;
      case TopRole::kId:
        // A numeric id counts by its literal.
        id = v.type == scan::Type::kString ? text_of(v) : raw_of(v);
        break;
      case TopRole::kOther:
        break;
    }
  }
  if (model.empty()) {
    return reject(RejectReason::kMissingModel, "no '" + fields_.model + "' field");
  }
  // Routed by the same texts as the features (no later field changed them):
  // the same monitor.
  const bool same_route = sink.monitor != nullptr && model.data() == sink.model.data() &&
                          model.size() == sink.model.size() &&
                          version.data() == sink.version.data() &&
                          version.size() == sink.version.size();
  monitor = same_route ? sink.monitor : find_monitor(model, version);
  if (sink.monitor != nullptr && sink.monitor != monitor) {
    // The features went to the monitor the fields before them named, and a
    // field after them changed that (a version, a second model): undone,
    // and the event decoded the general way.
    sink.monitor->clear_stage();
    return decode(data, len, capacity, on_window, false);
  }
  if (monitor == nullptr) {
    detail_ = "no monitored model '";
    detail_.append(model);
    detail_ += "' version '";
    detail_.append(version);
    detail_ += "'";
    out.outcome = EventOutcome::kRejected;
    out.reason = RejectReason::kUnknownModel;
    out.detail = detail_;
    return out;
  }
  if (!has_features && has_label) {
    monitor->clear_stage();
    if (!label_ok) return reject(RejectReason::kBadLabel, "a label must be a number or a boolean");
    const uint64_t id_key = ModelMonitor::id_key(id);
    if (id_key == 0) {
      return reject(RejectReason::kBadLabel,
                    "a label event needs its prediction's '" + fields_.id + "'");
    }
    std::optional<int64_t> label_ts;
    if (have_ts) {
      int64_t t = 0;
      if (ts_is_number ? (std::isfinite(ts_number) && std::fabs(ts_number) <= 9e15)
                       : parse_iso8601_ms(ts_text, &t)) {
        label_ts = ts_is_number ? static_cast<int64_t>(ts_number) : t;
      } else {
        return reject(RejectReason::kBadTimestamp, "label timestamp is not valid");
      }
    }
    out.outcome = EventOutcome::kLabel;
    out.label = monitor->join_label(id_key, label, label_ts);
    out.monitor = monitor;
    return out;
  }
  int64_t ts = 0;
  if (!have_ts) {
    if (monitor->settings().window.kind == WindowSettings::Kind::kTime) {
      return reject(RejectReason::kMissingTimestamp, "no '" + fields_.timestamp + "' field");
    }
  } else if (ts_is_number) {
    if (!std::isfinite(ts_number) || std::fabs(ts_number) > 9e15) {
      return reject(RejectReason::kBadTimestamp, "timestamp out of range");
    }
    ts = static_cast<int64_t>(ts_number);
  } else if (!parse_iso8601_ms(ts_text, &ts)) {
    return reject(RejectReason::kBadTimestamp,
                  "timestamp is not ISO 8601 with a zone (2026-11-22T10:00:00Z)");
  }
  if (features_bad) return reject(RejectReason::kInvalidJson, "features must be an object");
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
  if (prediction != nullptr && monitor->prediction_column() >= 0) {
    stage(*prediction, *monitor, monitor->prediction_column());
  }
  if (monitor->joins_labels()) monitor->stage_id_key(ModelMonitor::id_key(id));
  out.monitor = monitor;
  out.ts_ms = ts;
  out.outcome = monitor->commit(ts, on_window) ? EventOutcome::kAdded : EventOutcome::kLate;
  return out;
}

}  // namespace driftd
