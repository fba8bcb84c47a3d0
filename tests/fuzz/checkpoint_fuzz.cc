// Fuzz target: the checkpoint reader. The input is a format version byte
// (odd: 3, even: 2) and a checkpoint's payload; the target frames it
// (magic, version, XXH3 trailer recomputed), so that
// what lies past the checksum is explored: the payload's lengths and
// counts, then every model state loaded into the golden model's monitor.
// A state that loads must work: events after it, windows closing, and
// saving it again.
#include <cstdint>

#include "driftd/binary_io.h"
#include "driftd/daemon.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto base = driftd::fuzz::shared_golden_baseline();
  if (size == 0) return 0;
  const std::string framed = driftd::frame_checkpoint(
      std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), data[0] & 1 ? 3 : 2);
  auto c = driftd::decode_checkpoint(framed, "fuzz.bin");
  if (!c) return 0;
  // The golden checkpoint's model settings (tests/unit/daemon_test.cc).
  driftd::MonitorSettings s;
  s.window.size = 4000;
  s.window.step = 1000;
  for (const auto& m : c->models) {
    driftd::ModelMonitor monitor(base, s);
    driftd::ByteReader r(m.state);
    if (!monitor.load(r) || !r.at_end()) continue;
    for (const auto* col : monitor.columns()) {
      const int i = monitor.column_of(col->name);
      if (col->kind == driftd::ColumnKind::kNumeric) {
        monitor.stage_number(i, 1.5);
      } else {
        monitor.stage_text(i, "FR");
      }
    }
    (void)monitor.commit(1'000'000, [](driftd::WindowResult&&) {});
    monitor.flush([](driftd::WindowResult&&) {});
    driftd::ByteWriter again;
    monitor.save(again);
    driftd::ModelMonitor reloaded(base, s);
    driftd::ByteReader r2(again.bytes());
    if (!reloaded.load(r2) || !r2.at_end()) __builtin_trap();  // a saved state must load
  }
  return 0;
}
