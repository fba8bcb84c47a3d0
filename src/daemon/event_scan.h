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
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <simdjson.h>

namespace driftd::scan {

enum class Type : uint8_t { kNumber, kString, kTrue, kFalse, kNull, kObject, kArray, kBad };

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
};

class Scanner {
 public:
  // Scans `len` bytes at `data`, readable up to `capacity` (>= len +
  // simdjson::SIMDJSON_PADDING). Views in `out` stay valid until the next scan.
  void scan(const char* data, size_t len, size_t capacity, std::string_view features_key,
            Event& out);

 private:
  simdjson::ondemand::parser parser_;
};

}  // namespace driftd::scan
