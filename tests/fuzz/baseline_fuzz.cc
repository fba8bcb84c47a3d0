// Fuzz target: the baseline reader, with the checksum trailer recomputed
// after mutation, so that the fuzzer explores what lies past the checksum
// check (anyone who can write the file can recompute it too). The input is
// the document up to its "checksum" key; the target appends a correct
// trailer. Nothing may crash; an accepted baseline must be consistent.
#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "driftd/baseline/baseline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  text += "\"checksum\": \"xxh3-64:";
  text += hex;
  text += "\"\n}\n";
  auto b = driftd::parse_baseline(text, "fuzz.json");
  if (b) {
    // What the reader promises of an accepted baseline.
    for (const auto& c : b->columns) {
      if (c.kind == driftd::ColumnKind::kNumeric && c.role != driftd::ColumnRole::kId &&
          c.role != driftd::ColumnRole::kTimestamp) {
        if (c.numeric.bin_counts.size() !=
            (c.numeric.moments.count == 0 ? 0 : c.numeric.cut_points.size() + 1)) {
          __builtin_trap();
        }
      }
    }
  }
  return 0;
}
