// Fuzz target: CSV events (the file source's format = "csv"): the first
// line is the header, each further line a row translated to JSON by
// CsvEvents and decoded; every row in a fresh heap buffer.
#include <cstdint>

#include "fuzz_util.h"
#include "src/sources/file/csv_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& model = driftd::fuzz::GoldenModel::shared();
  model.reset();
  driftd::EventDecoder decoder(driftd::EventFields{}, model.router);
  driftd::CsvEvents csv(driftd::EventFields{});
  driftd::fuzz::for_each_line(data, size, [&](std::string_view line) {
    driftd::fuzz::HeapLine heap(line);
    const std::string_view row(heap.data(), heap.size());
    if (!csv.has_header()) {
      csv.set_header(row);
      return;
    }
    if (!csv.translate(row)) return;
    driftd::fuzz::HeapLine json(std::string_view(csv.json(), csv.json_size()));
    decoder.decode(json.data(), json.size(), json.capacity(), [](driftd::WindowResult&&) {});
  });
  model.monitor->flush([](driftd::WindowResult&&) {});
  return 0;
}
