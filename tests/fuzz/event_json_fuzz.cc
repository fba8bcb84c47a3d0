// Fuzz target: the event decoder on JSON lines, as the file and Kafka
// sources hand them over (each line in a fresh heap buffer, freed before
// the next, so a view kept from an earlier event is a use after free).
#include <cstdint>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fresh decoder and the monitor's fresh state per input: runs do not
  // depend on each other.
  auto& fresh = driftd::fuzz::GoldenModel::shared();
  fresh.reset();
  driftd::EventDecoder decoder(driftd::EventFields{}, fresh.router);
  driftd::fuzz::for_each_line(data, size, [&](std::string_view line) {
    driftd::fuzz::HeapLine heap(line);
    decoder.decode(heap.data(), heap.size(), heap.capacity(), [](driftd::WindowResult&&) {});
  });
  fresh.monitor->flush([](driftd::WindowResult&&) {});
  return 0;
}
