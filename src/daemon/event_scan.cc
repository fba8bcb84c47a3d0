#include "src/daemon/event_scan.h"

namespace driftd::scan {
namespace {

namespace od = simdjson::ondemand;

void read_value(od::value v, Value& out) {
  od::json_type t;
  if (v.type().get(t)) {
    out.type = Type::kBad;
    return;
  }
  switch (t) {
    case od::json_type::number: {
      out.type = Type::kNumber;
      const std::string_view raw = v.raw_json_token();
      out.raw = raw.data();
      out.raw_len = static_cast<uint32_t>(raw.size());
      double d = 0;
      out.number_ok = !v.get_double().get(d);
      out.number = d;
      return;
    }
    case od::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) {
        out.type = Type::kBad;
        return;
      }
      out.type = Type::kString;
      out.text = s.data();
      out.text_len = static_cast<uint32_t>(s.size());
      return;
    }
    case od::json_type::boolean: {
      const std::string_view raw = v.raw_json_token();
      out.raw = raw.data();
      out.raw_len = static_cast<uint32_t>(raw.size());
      bool b = false;
      out.type = v.get_bool().get(b) ? Type::kBad : (b ? Type::kTrue : Type::kFalse);
      return;
    }
    case od::json_type::null:
      out.type = Type::kNull;
      return;
    case od::json_type::object:
      out.type = Type::kObject;
      return;
    case od::json_type::array:
      out.type = Type::kArray;
      return;
  }
  out.type = Type::kBad;
}

}  // namespace

void Scanner::scan(const char* data, size_t len, size_t capacity, std::string_view features_key,
                   Event& out) {
  out.stop = Stop::kNone;
  out.error = 0;
  out.n_top = 0;
  out.n_features = 0;
  out.features_field = -1;
  od::document doc;
  if (auto err = parser_.iterate(simdjson::padded_string_view(data, len, capacity)).get(doc)) {
    out.stop = Stop::kParse;
    out.error = err;
    return;
  }
  od::object obj;
  if (auto err = doc.get_object().get(obj)) {
    out.stop = Stop::kNotObject;
    out.error = err;
    return;
  }
  for (auto field : obj) {
    std::string_view key;
    od::value v;
    if (auto err = field.unescaped_key().get(key)) {
      out.stop = Stop::kMalformed;
      out.error = err;
      return;
    }
    if (auto err = field.value().get(v)) {
      out.stop = Stop::kMalformed;
      out.error = err;
      return;
    }
    if (out.n_top == out.top_capacity) {
      out.stop = Stop::kTooManyTop;
      return;
    }
    Field& f = out.top[out.n_top++];
    f.key = key.data();
    f.key_len = static_cast<uint32_t>(key.size());
    f.value = Value{};
    if (key != features_key) {
      read_value(v, f.value);
      continue;
    }
    od::object features;
    if (v.get_object().get(features)) {
      read_value(v, f.value);  // not an object: the decoder refuses it
      if (f.value.type == Type::kObject) f.value.type = Type::kBad;
      continue;
    }
    f.value.type = Type::kObject;
    out.features_field = static_cast<int32_t>(out.n_top - 1);
    out.n_features = 0;  // a repeated features field: the last one counts
    for (auto member : features) {
      std::string_view name;
      od::value mv;
      if (auto err = member.unescaped_key().get(name)) {
        out.stop = Stop::kMalformed;
        out.error = err;
        return;
      }
      if (auto err = member.value().get(mv)) {
        out.stop = Stop::kMalformed;
        out.error = err;
        return;
      }
      if (out.n_features == out.features_capacity) {
        out.stop = Stop::kTooManyFeatures;
        return;
      }
      Field& m = out.features[out.n_features++];
      m.key = name.data();
      m.key_len = static_cast<uint32_t>(name.size());
      m.value = Value{};
      read_value(mv, m.value);
    }
  }
}

}  // namespace driftd::scan
