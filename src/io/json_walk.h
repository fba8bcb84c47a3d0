// A whole-value check for simdjson On-Demand documents from outside.
//
// On-Demand validates only what it reads, and some of its reads assume
// that the structure around them was valid: a key looked up out of order
// (`object["key"]`) wraps around the object under SIMDJSON_ASSUME, which
// on broken JSON is undefined behaviour in a release build, not an error
// (a crafted baseline with a correct checksum crashed driftd that way).
// Walking a value once, every key, colon, comma, bracket and literal
// checked and its depth bounded, makes everything after it safe: the
// document can then be rewound and read in any order.
#pragma once

#include <string>

#include <simdjson.h>

namespace driftd::json {

// Deeper nesting is refused (DEPTH_ERROR). driftd's own files nest about
// five levels; On-Demand itself sets no bound, and a recursive walk must.
inline constexpr int kMaxDepth = 64;

// What the walk checks beyond the structure, keys and literals.
struct WalkRules {
  // Numbers read as finite doubles (a baseline); else any number token
  // passes, for the reader to judge (an event's cell: a type error).
  bool finite_numbers = true;
  // Strings unescape (an event); else a string's escapes are left for the
  // reader that unescapes it (a baseline's base64 samples, most of the
  // file, are then not copied).
  bool check_escapes = false;
};
inline constexpr WalkRules kBaselineRules{true, false};
inline constexpr WalkRules kEventRules{false, true};

// Whether a token that simdjson types as a number (its first byte '-' or a
// digit) starts like one: "-Infinity" and "-NaN" do not. `token` is padded
// (its second byte is readable).
[[gnu::always_inline]] inline bool number_start(const char* token) {
  return token[0] != '-' || static_cast<unsigned char>(token[1] - '0') <= 9;
}

// Walks `v` whole. On an error, `where` (when given) gets the path to the
// bad value, such as ".columns[3].cut_points[0]", for messages that name
// the field.
simdjson::error_code validate(simdjson::ondemand::value v, WalkRules rules, int depth = kMaxDepth,
                              std::string* where = nullptr);

// Walks a document whose root is an object or an array, then checks that
// nothing but white space follows it (TRAILING_CONTENT), and rewinds it for
// reading.
simdjson::error_code validate_document(simdjson::ondemand::document& doc, WalkRules rules,
                                       std::string* where = nullptr);

}  // namespace driftd::json
