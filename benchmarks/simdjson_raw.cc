// simdjson's raw parse rate over a JSON-lines file of events, every field of
// every event read (numbers as doubles, keys and strings as views), one
// On-Demand parser reused: the yardstick the daemon's file ingest is
// measured against (benchmarks/daemon_vs_simdjson.py runs both on the same
// bytes). Two ways of reading are timed:
// - generic: keys and strings unescaped by simdjson (copied into its
//   string buffer), as most On-Demand code reads them;
// - in place: a key or string without escapes taken where it lies
//   (driftd/io/json_string.h), the way the daemon reads events. This is the
//   stricter yardstick (the faster parse), and the one the daemon's
//   monitoring cost is stated against.
//
//     simdjson_raw EVENTS.jsonl [repeats]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <simdjson.h>

#include "driftd/io/json_string.h"

namespace {

double sink = 0;

// The kernel On-Demand is compiled for in this translation unit (the
// library's builtin_implementation() names the .so's own, not this one's).
#define DRIFTD_STR2(x) #x
#define DRIFTD_STR(x) DRIFTD_STR2(x)
constexpr const char* kKernel = DRIFTD_STR(SIMDJSON_BUILTIN_IMPLEMENTATION);

template <bool kInPlace>
[[gnu::always_inline]] inline void read_string(simdjson::ondemand::value& v) {
  if constexpr (kInPlace) {
    const std::string_view token = v.raw_json_token();
    uint32_t n = 0;
    if (driftd::unescaped_length(token.data() + 1, &n)) {
      simdjson::ondemand::raw_json_string skipped;
      if (!v.get_raw_json_string().get(skipped)) sink += n;
      return;
    }
  }
  std::string_view s;
  if (!v.get_string().get(s)) sink += static_cast<double>(s.size());
}

template <bool kInPlace, class Field>
[[gnu::always_inline]] inline bool read_key(Field& f) {
  if constexpr (kInPlace) {
    simdjson::ondemand::raw_json_string raw;
    if (f.key().get(raw)) return false;
    uint32_t n = 0;
    if (driftd::unescaped_length(raw.raw(), &n)) {
      sink += n;
      return true;
    }
  }
  std::string_view key;
  if (f.unescaped_key().get(key)) return false;
  sink += static_cast<double>(key.size());
  return true;
}

template <bool kInPlace>
void read_value(simdjson::ondemand::value v) {
  simdjson::ondemand::json_type t;
  if (v.type().get(t)) return;
  switch (t) {
    case simdjson::ondemand::json_type::number: {
      double d;
      if (!v.get_double().get(d)) sink += d;
      break;
    }
    case simdjson::ondemand::json_type::string:
      read_string<kInPlace>(v);
      break;
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object o;
      if (v.get_object().get(o)) break;
      for (auto f : o) {
        simdjson::ondemand::value inner;
        if (!read_key<kInPlace>(f) || f.value().get(inner)) break;
        read_value<kInPlace>(inner);
      }
      break;
    }
    default:
      break;
  }
}

// Best time of `repeats` passes over every line.
template <bool kInPlace>
double best_seconds(const simdjson::padded_string& file, int repeats, size_t* events) {
  simdjson::ondemand::parser parser;
  double best = 1e99;
  for (int r = 0; r < repeats; ++r) {
    *events = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const char* p = file.data();
    const char* end = p + file.size();
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const size_t len = static_cast<size_t>((nl ? nl : end) - p);
      simdjson::ondemand::document doc;
      if (!parser
               .iterate(simdjson::padded_string_view(
                   p, len, static_cast<size_t>(end - p) + simdjson::SIMDJSON_PADDING))
               .get(doc)) {
        simdjson::ondemand::value v;
        if (!doc.get_value().get(v)) read_value<kInPlace>(v);
      }
      ++*events;
      p += len + 1;
    }
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: simdjson_raw EVENTS.jsonl [repeats]\n");
    return 2;
  }
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  simdjson::padded_string file;
  if (simdjson::padded_string::load(argv[1]).get(file)) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  size_t events = 0;
  // Alternated, so a change in the machine's speed touches both alike.
  double generic = 1e99, in_place = 1e99;
  for (int r = 0; r < repeats; ++r) {
    generic = std::min(generic, best_seconds<false>(file, 1, &events));
    in_place = std::min(in_place, best_seconds<true>(file, 1, &events));
  }
  std::printf(
      "{\"events\": %zu, \"seconds\": %.6f, \"events_per_s\": %.0f, "
      "\"generic_seconds\": %.6f, \"generic_events_per_s\": %.0f, \"kernel\": \"%s\", "
      "\"checksum\": %.6g}\n",
      events, in_place, static_cast<double>(events) / in_place, generic,
      static_cast<double>(events) / generic, kKernel, sink);
  return 0;
}
