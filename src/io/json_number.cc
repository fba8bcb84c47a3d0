#include "driftd/io/json_number.h"

#include <cstring>

#include <simdjson.h>

namespace driftd {

bool read_json_number_text(const char* text, size_t max_len, double* out) {
  size_t len = 0;
  while (len < max_len && !ends_json_number(text[len])) ++len;
  if (len == max_len) return false;
  // The token alone, as a document of its own: simdjson reads a root
  // number as it reads one inside an object, and needs its padding.
  char padded[64 + simdjson::SIMDJSON_PADDING] = {};
  if (len > 64) return false;
  std::memcpy(padded, text, len);
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(simdjson::padded_string_view(padded, len, sizeof padded)).get(doc)) {
    return false;
  }
  return !doc.get_double().get(*out);
}

}  // namespace driftd
