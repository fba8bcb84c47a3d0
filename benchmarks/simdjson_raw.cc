// simdjson's raw parse rate over a JSON-lines file of events, every field of
// every event read (numbers as doubles, strings as views), one On-Demand
// parser reused: the yardstick the daemon's file ingest is measured against
// (benchmarks/daemon_vs_simdjson.py runs both on the same bytes).
//
//     simdjson_raw EVENTS.jsonl [repeats]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <simdjson.h>

namespace {

double sink = 0;

// The kernel On-Demand is compiled for in this translation unit (the
// library's builtin_implementation() names the .so's own, not this one's).
#define DRIFTD_STR2(x) #x
#define DRIFTD_STR(x) DRIFTD_STR2(x)
constexpr const char* kKernel = DRIFTD_STR(SIMDJSON_BUILTIN_IMPLEMENTATION);

void read_value(simdjson::ondemand::value v) {
  simdjson::ondemand::json_type t;
  if (v.type().get(t)) return;
  switch (t) {
    case simdjson::ondemand::json_type::number: {
      double d;
      if (!v.get_double().get(d)) sink += d;
      break;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view s;
      if (!v.get_string().get(s)) sink += static_cast<double>(s.size());
      break;
    }
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object o;
      if (v.get_object().get(o)) break;
      for (auto f : o) {
        simdjson::ondemand::value inner;
        std::string_view key;
        if (f.unescaped_key().get(key) || f.value().get(inner)) break;
        read_value(inner);
      }
      break;
    }
    default:
      break;
  }
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
  simdjson::ondemand::parser parser;
  double best = 1e99;
  size_t events = 0;
  for (int r = 0; r < repeats; ++r) {
    events = 0;
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
        if (!doc.get_value().get(v)) read_value(v);
      }
      ++events;
      p += len + 1;
    }
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf(
      "{\"events\": %zu, \"seconds\": %.6f, \"events_per_s\": %.0f, \"kernel\": \"%s\", "
      "\"checksum\": %.6g}\n",
      events, best, static_cast<double>(events) / best, kKernel, sink);
  return 0;
}
