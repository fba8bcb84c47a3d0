// Reading the outbox bodies the sinks send (notification_json and
// trigger_json, docs/ALERTS.md): each sink takes the few fields it needs.
// The bodies are driftd's own, but an outbox file is outside bytes: a field
// that is absent or of another type leaves its default, never throws
// (simdjson's implicit conversions do; the sink_bodies fuzz target holds
// every sink to this).
#pragma once

#include <simdjson.h>

#include <string_view>

namespace driftd::alerts {

// A parsed body; `ok` false when it is not JSON.
struct Body {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool ok = false;
  explicit Body(std::string_view text) {
    ok = parser.parse(text.data(), text.size()).get(doc) == simdjson::SUCCESS;
  }
};

// Reads an optional member: `out` is left as it was when it is absent or
// of another type.
template <typename T>
bool get_if(simdjson::simdjson_result<simdjson::dom::element> e, T& out) {
  return e.get(out) == simdjson::SUCCESS;
}

}  // namespace driftd::alerts
