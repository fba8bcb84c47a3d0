// Fuzz target: the ingest log's segment reader. The first input byte picks
// how the rest is read: as raw segment bytes, or with every checksum made
// right first (the header's, then each record's as far as its length
// allows), so that the checks past the checksums (kinds, sequence numbers,
// request groups, lengths) are explored too.
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "driftd/sources/ingest_log.h"

namespace {

void fix_checksums(std::string& b) {
  using driftd::kIngestSegmentHeaderBytes;
  if (b.size() < kIngestSegmentHeaderBytes) return;
  const uint64_t h = XXH3_64bits(b.data(), 24);
  std::memcpy(b.data() + 24, &h, 8);
  size_t at = kIngestSegmentHeaderBytes;
  while (b.size() - at >= 16) {
    uint32_t len = 0;
    std::memcpy(&len, b.data() + at, 4);
    if (len > driftd::kIngestMaxRecordBytes || b.size() - at < 24 + size_t{len}) return;
    const uint64_t sum = XXH3_64bits(b.data() + at, 16 + size_t{len});
    std::memcpy(b.data() + at + 16 + len, &sum, 8);
    at += 24 + size_t{len};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) fix_checksums(bytes);
  uint64_t records = 0, payload_bytes = 0;
  auto scan = driftd::scan_ingest_segment(bytes, "fuzz.log", [&](const driftd::IngestRecord& r) {
    ++records;
    payload_bytes += r.payload.size();
  });
  if (scan) {
    // What a scan promises: the good part lies within the bytes, and
    // holds exactly the records it reported.
    if (scan->valid_bytes > bytes.size() || scan->end_seq - scan->first_seq != records ||
        payload_bytes > scan->valid_bytes) {
      __builtin_trap();
    }
  }
  return 0;
}
