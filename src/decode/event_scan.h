// The JSON front end of the event decoder: one pass of simdjson On-Demand
// over an event that records its top-level fields and the members of its
// features object as flat, plain values, in document order. The decoder
// (event_decoder.cc) gives them meaning: routing, staging, rejections.
// Keeping the two apart lets the decoder read fields in any order without
// parsing the document twice.
//
// simdjson dispatches On-Demand's stage 1 and string unescaping to the best
// kernel of the CPU at run time (icelake here); compiling this iteration for
// AVX2 as well was measured to change nothing (README, Performance).
// The scan is a template over its sink, inlined into its caller: simdjson's
// iterator must stay in registers (see read_value).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "driftd/io/json_string.h"
#include "driftd/io/same_bytes.h"
#include "src/io/json_walk.h"

namespace driftd::scan {

// kObject, kArray and kBad come last: a value at or past kObject needs the
// whole-line walk (json_walk.h) before the event is judged.
enum class Type : uint8_t { kNumber, kString, kTrue, kFalse, kNull, kObject, kArray, kBad };
inline bool needs_walk(Type t) {
  return t >= Type::kObject;
}

struct Value {
  Type type = Type::kBad;
  bool number_ok = false;  // kNumber: read as a double (false: out of range)
  double number = 0;
  const char* text = nullptr;  // kString: the unescaped text
  uint32_t text_len = 0;
  const char* raw = nullptr;  // kNumber, kTrue, kFalse: the literal (may end in spaces)
  uint32_t raw_len = 0;
};

struct Field {
  const char* key = nullptr;  // unescaped
  uint32_t key_len = 0;
  Value value;  // the features field: kObject (members in Event::features) or what it is
};

// Where a scan stopped short of the end.
enum class Stop : uint8_t {
  kNone,
  kParse,      // the document does not start (error: simdjson's code)
  kNotObject,  // not a JSON object (error: simdjson's code)
  kMalformed,  // a bad key or value while iterating (error: simdjson's code)
  kTrailing,   // content after the object
  kTooManyTop,
  kTooManyFeatures,
};

// The caller owns the arrays (sized once, grown on kTooMany*), so a scan
// allocates nothing.
struct Event {
  Stop stop = Stop::kNone;
  int error = 0;  // simdjson::error_code
  Field* top = nullptr;
  uint32_t top_capacity = 0, n_top = 0;
  Field* features = nullptr;
  uint32_t features_capacity = 0, n_features = 0;
  int32_t features_field = -1;  // index in top of the last features object
  bool direct = false;          // the last features object went to the sink (n_features stays 0)
  bool suspect = false;         // a value needs_walk(): nested, or not a JSON value
};

// Takes the members of a features object as the scan reaches them, when it
// can place them at once (a member that needs_walk() is the sink's to note,
// for the decoder's judge_json) (the decoder: when the event's model is known by
// then, as in events that name it before their features). Doing so skips
// recording each member and reading it back.
struct NoSink {
  bool direct(const Event&) { return false; }
  template <class FullKey>
  bool member(uint32_t, const char*, FullKey&, simdjson::ondemand::value&) {
    return true;
  }
};

class Scanner {
 public:
  // Scans `len` bytes at `data`, readable up to `capacity` (>= len +
  // simdjson::SIMDJSON_PADDING). Views in `out` stay valid until the next scan.
  // At each features object, sink.direct(out) (the top-level fields so far
  // in out.top) says whether sink.member(position, raw key, full_key, value)
  // takes its members instead of out.features (raw key: after its opening
  // quote; full_key(std::string_view&) reads it whole; false: malformed).
  template <class Sink>
  void scan(const char* data, size_t len, size_t capacity, std::string_view features_key,
            Event& out, Sink& sink);
  void scan(const char* data, size_t len, size_t capacity, std::string_view features_key,
            Event& out) {
    NoSink none;
    scan(data, len, capacity, features_key, out, none);
  }
  // The whole-line walk (json_walk.h, the event rules) on a parser of its
  // own, so that the views of the last scan stay valid. Only for events the
  // scan found suspect.
  simdjson::error_code walk(const char* data, size_t len, size_t capacity, std::string* where);

 private:
  simdjson::ondemand::parser parser_;
  std::unique_ptr<simdjson::ondemand::parser> walk_parser_;
};

namespace detail {

namespace od = simdjson::ondemand;

// Forced inline, as is take_field: an od::value passed to a function that
// stays a call lives in memory, and every step of simdjson's iterator then
// goes through it. Inlined into the field loop, the iterator stays in
// registers: the scan ran 2.2x faster (0.73 -> 1.6 M events/s per core on
// the benchmark's events, the rate of simdjson's own raw read).
[[gnu::always_inline]] inline void read_value(od::value v, Value& out) {
  // The token's first byte tells its type (as od::value::type() does), and
  // its bytes are the literal a number or boolean is kept as.
  const std::string_view token = v.raw_json_token();
  switch (token.empty() ? '\0' : token.front()) {
    case '"': {
      uint32_t n = 0;
      if (unescaped_length(token.data() + 1, &n)) {
        od::raw_json_string skipped;  // moves the iterator past the string
        if (v.get_raw_json_string().get(skipped)) break;
        out.type = Type::kString;
        out.text = token.data() + 1;
        out.text_len = n;
        return;
      }
      std::string_view s;
      if (v.get_string().get(s)) break;
      out.type = Type::kString;
      out.text = s.data();
      out.text_len = static_cast<uint32_t>(s.size());
      return;
    }
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
      // "-Infinity", "-NaN": not numbers at all, not JSON (json_walk.h).
      if (!json::number_start(token.data())) break;
      out.type = Type::kNumber;
      out.raw = token.data();
      out.raw_len = static_cast<uint32_t>(token.size());
      double d = 0;
      out.number_ok = !v.get_double().get(d);
      out.number = d;
      return;
    }
    case 't':
    case 'f': {
      bool b = false;
      if (v.get_bool().get(b)) break;
      out.raw = token.data();
      out.raw_len = static_cast<uint32_t>(token.size());
      out.type = b ? Type::kTrue : Type::kFalse;
      return;
    }
    case 'n': {
      bool is_null = false;
      if (v.is_null().get(is_null) || !is_null) break;
      out.type = Type::kNull;
      return;
    }
    case '{':
    case '[':
      // Left for the walk; no literal (and no view of an earlier event's bytes).
      out.type = token.front() == '{' ? Type::kObject : Type::kArray;
      out.raw = out.text = nullptr;
      out.raw_len = out.text_len = 0;
      return;
    default:
      break;
  }
  // Not a value (a member without one, a bare NaN): nothing of it is kept,
  // and no view of an earlier event's bytes stays behind.
  out.type = Type::kBad;
  out.raw = out.text = nullptr;
  out.raw_len = out.text_len = 0;
}

// Records a malformed key or value; false, for returning.
inline bool malformed(Event& out, simdjson::error_code err) {
  out.stop = Stop::kMalformed;
  out.error = err;
  return false;
}

// Reads a field's key (in place when it holds no escape) and its value.
template <class ObjectField>
[[gnu::always_inline]] inline bool take_key(ObjectField& field, const char*& key, uint32_t& key_len,
                                            od::value& v, Event& out) {
  od::raw_json_string raw_key;
  if (auto err = field.key().get(raw_key)) return malformed(out, err);
  key = raw_key.raw();
  if (!unescaped_length(key, &key_len)) {
    std::string_view unescaped;
    if (auto err = field.unescaped_key().get(unescaped)) return malformed(out, err);
    key = unescaped.data();
    key_len = static_cast<uint32_t>(unescaped.size());
  }
  if (auto err = field.value().get(v)) return malformed(out, err);
  return true;
}

// Takes the next field of an object into `fields` (its key; its value is
// read later into the field), its value into `v`. False when the field is
// malformed or there is no room (out.stop says which).
template <class ObjectField>
[[gnu::always_inline]] inline bool take_field(ObjectField& field, Field* fields, uint32_t& n,
                                              uint32_t capacity, Stop full, od::value& v,
                                              Event& out) {
  const char* key = nullptr;
  uint32_t key_len = 0;
  if (!take_key(field, key, key_len, v, out)) return false;
  if (n == capacity) {
    out.stop = full;
    return false;
  }
  Field& f = fields[n++];
  f.key = key;
  f.key_len = key_len;
  return true;  // f.value is set by read_value (each type sets what it is read by)
}

}  // namespace detail

template <class Sink>
void Scanner::scan(const char* data, size_t len, size_t capacity, std::string_view features_key,
                   Event& out, Sink& sink) {
  out.stop = Stop::kNone;
  out.error = 0;
  out.n_top = 0;
  out.n_features = 0;
  out.features_field = -1;
  out.direct = false;
  out.suspect = false;
  detail::od::document doc;
  if (auto err = parser_.iterate(simdjson::padded_string_view(data, len, capacity)).get(doc)) {
    out.stop = Stop::kParse;
    out.error = err;
    return;
  }
  detail::od::object obj;
  if (auto err = doc.get_object().get(obj)) {
    out.stop = Stop::kNotObject;
    out.error = err;
    return;
  }
  for (auto field : obj) {
    detail::od::value v;
    if (!detail::take_field(field, out.top, out.n_top, out.top_capacity, Stop::kTooManyTop, v,
                            out)) {
      return;
    }
    Field& f = out.top[out.n_top - 1];
    detail::od::object features;
    if (!same_bytes(std::string_view(f.key, f.key_len), features_key)) {
      detail::read_value(v, f.value);
      out.suspect |= needs_walk(f.value.type);
    } else if (v.get_object().get(features)) {
      detail::read_value(v, f.value);  // not an object: the decoder refuses it
      if (f.value.type == Type::kObject) f.value.type = Type::kBad;
      out.suspect |= needs_walk(f.value.type);
    } else {
      f.value.type = Type::kObject;
      out.features_field = static_cast<int32_t>(out.n_top - 1);
      out.n_features = 0;  // a repeated features field: the last one counts
      out.direct = sink.direct(out);
      if (out.direct) {
        uint32_t position = 0;
        for (auto member : features) {
          detail::od::raw_json_string raw_key;
          detail::od::value mv;
          if (auto err = member.key().get(raw_key)) {
            detail::malformed(out, err);
            return;
          }
          if (auto err = member.value().get(mv)) {
            detail::malformed(out, err);
            return;
          }
          // The sink compares the raw key with the one it expects there,
          // and reads it whole only when they differ.
          int key_error = 0;
          auto full_key = [&](std::string_view& key) {
            uint32_t n = 0;
            if (unescaped_length(raw_key.raw(), &n)) {
              key = std::string_view(raw_key.raw(), n);
              return true;
            }
            key_error = member.unescaped_key().get(key);
            return key_error == 0;
          };
          if (!sink.member(position++, raw_key.raw(), full_key, mv)) {
            detail::malformed(out, static_cast<simdjson::error_code>(key_error));
            return;
          }
        }
        continue;
      }
      for (auto member : features) {
        detail::od::value mv;
        if (!detail::take_field(member, out.features, out.n_features, out.features_capacity,
                                Stop::kTooManyFeatures, mv, out)) {
          return;
        }
        Value& fv = out.features[out.n_features - 1].value;
        detail::read_value(mv, fv);
        out.suspect |= needs_walk(fv.type);
      }
    }
  }
  // On-Demand stops at the object's end; anything but white space after it
  // is refused (this simdjson has no document::at_end(): past the last
  // token, current_location() is out of bounds).
  const char* next = nullptr;
  if (doc.current_location().get(next) != simdjson::OUT_OF_BOUNDS) {
    out.stop = Stop::kTrailing;
    out.error = simdjson::TRAILING_CONTENT;
  }
}

}  // namespace driftd::scan
