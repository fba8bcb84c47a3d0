#include "src/io/json_walk.h"

namespace driftd::json {

namespace od = simdjson::ondemand;

namespace {

// Puts a step in front of the path found so far (errors only).
void prepend(std::string* where, std::string step) {
  if (where != nullptr) where->insert(0, step);
}

}  // namespace

simdjson::error_code validate(od::value v, WalkRules rules, int depth, std::string* where) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  switch (type) {
    case od::json_type::object: {
      if (depth <= 0) return simdjson::DEPTH_ERROR;
      od::object o;
      if (auto err = v.get_object().get(o)) return err;
      for (auto field : o) {
        // The key as written (escapes checked under check_escapes), for
        // the path of an error.
        std::string_view key;
        if (rules.check_escapes) {
          if (auto err = field.unescaped_key().get(key)) return err;
        } else {
          od::raw_json_string raw;
          if (auto err = field.key().get(raw)) return err;
          const char* k = raw.raw();
          size_t n = 0;
          while (n < 256 && k[n] != '"' && k[n] != '\0') n += k[n] == '\\' ? 2 : 1;
          key = std::string_view(k, n);
        }
        od::value inner;
        if (auto err = field.value().get(inner)) {
          prepend(where, "." + std::string(key));
          return err;
        }
        if (auto err = validate(inner, rules, depth - 1, where)) {
          prepend(where, "." + std::string(key));
          return err;
        }
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      if (depth <= 0) return simdjson::DEPTH_ERROR;
      od::array a;
      if (auto err = v.get_array().get(a)) return err;
      size_t index = 0;
      for (auto item : a) {
        od::value inner;
        if (auto err = item.get(inner)) return err;
        if (auto err = validate(inner, rules, depth - 1, where)) {
          std::string step = "[";
          step += std::to_string(index);
          step += ']';
          prepend(where, std::move(step));
          return err;
        }
        ++index;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      if (rules.check_escapes) {
        std::string_view s;
        return v.get_string().get(s);
      }
      od::raw_json_string s;
      return v.get_raw_json_string().get(s);
    }
    case od::json_type::number: {
      if (!rules.finite_numbers) {
        // Skipped as one token, for the reader to judge; "-Infinity" is no number.
        return number_start(v.raw_json_token().data()) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
      }
      double d;
      return v.get_double().get(d);
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = v.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

simdjson::error_code validate_document(od::document& doc, WalkRules rules, std::string* where) {
  od::json_type type;
  if (auto err = doc.type().get(type)) return err;
  if (type != od::json_type::object && type != od::json_type::array) {
    return simdjson::INCORRECT_TYPE;
  }
  od::value root;
  if (auto err = doc.get_value().get(root)) return err;
  if (auto err = validate(root, rules, kMaxDepth, where)) return err;
  // At the end of the tokens (this simdjson has no document::at_end()).
  const char* next = nullptr;
  if (doc.current_location().get(next) != simdjson::OUT_OF_BOUNDS) {
    return simdjson::TRAILING_CONTENT;
  }
  doc.rewind();
  return simdjson::SUCCESS;
}

}  // namespace driftd::json
