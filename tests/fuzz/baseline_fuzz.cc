// Fuzz target: the baseline reader, with the checksum trailer recomputed
// after mutation, so that the fuzzer explores what lies past the checksum
// check (anyone who can write the file can recompute it too). The input is
// the document up to its "checksum" key; the target appends a correct
// trailer. Nothing may crash; an accepted baseline must be consistent.
#include <xxhash.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

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
    // An accepted multivariate model is whole: its columns numeric features,
    // and any row (here: huge values, a missing one) has a finite error.
    if (const auto& m = b->multivariate) {
      if (!driftd::stats::reconstruction_flaw(*m).empty()) __builtin_trap();
      std::vector<double> z(m->dimensions()), err(1);
      for (size_t j = 0; j < z.size(); ++j) {
        const driftd::ColumnProfile* c = b->find(m->columns[j]);
        if (c == nullptr || c->kind != driftd::ColumnKind::kNumeric) __builtin_trap();
        z[j] = m->standardized(j, j == 0 ? NAN : 1e300 * (j % 2 ? 1 : -1));
      }
      m->errors(z.data(), 1, 1, err.data());
      if (!(err[0] >= 0) || !std::isfinite(err[0])) __builtin_trap();
    }
  }
  return 0;
}
