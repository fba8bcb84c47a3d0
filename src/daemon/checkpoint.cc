// The checkpoint file: framing (magic, version, XXH3 checksum) and the
// payload's codec, every length checked on the way in (docs/formats/).
#include "driftd/daemon/checkpoint.h"

#include <xxhash.h>

#include <cstring>

#include "driftd/common/binary_io.h"

namespace driftd {

// ---- checkpoint framing ---------------------------------------------------------

namespace {

void put_frame_header(std::string& out, uint32_t version) {
  out.append(kCheckpointMagic, sizeof kCheckpointMagic);
  out.append(reinterpret_cast<const char*>(&version), sizeof version);
}

void put_frame_trailer(std::string& out) {
  const uint64_t sum = XXH3_64bits(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
}

}  // namespace

std::string frame_checkpoint(std::string_view payload, uint32_t version) {
  std::string out;
  put_frame_header(out, version);
  out.append(payload);
  put_frame_trailer(out);
  return out;
}

Result<CheckpointPayload> unframe_checkpoint(std::string_view file, const std::string& source) {
  constexpr size_t kHeader = sizeof kCheckpointMagic + sizeof(uint32_t);
  if (file.size() < kHeader + sizeof(uint64_t)) {
    return Error{source + ": checkpoint is truncated (" + std::to_string(file.size()) + " bytes)"};
  }
  if (std::memcmp(file.data(), kCheckpointMagic, sizeof kCheckpointMagic) != 0) {
    return Error{source + ": not a driftd checkpoint (bad magic)"};
  }
  uint64_t stored = 0;
  std::memcpy(&stored, file.data() + file.size() - sizeof stored, sizeof stored);
  const uint64_t actual = XXH3_64bits(file.data(), file.size() - sizeof stored);
  if (stored != actual) {
    return Error{source + ": checkpoint checksum mismatch (truncated or corrupt)"};
  }
  uint32_t version = 0;
  std::memcpy(&version, file.data() + sizeof kCheckpointMagic, sizeof version);
  if (version < 2 || version > kCheckpointFormatVersion) {
    return Error{source + ": checkpoint format version " + std::to_string(version) +
                 ", this driftd reads versions 2 to " + std::to_string(kCheckpointFormatVersion)};
  }
  return CheckpointPayload{version, file.substr(kHeader, file.size() - kHeader - sizeof stored)};
}

std::string encode_checkpoint(const Checkpoint& c) {
  // Framed in place: the payload (every model's state) is not copied again.
  ByteWriter w;
  put_frame_header(w.bytes(), kCheckpointFormatVersion);
  w.u64(c.sources.size());
  for (const auto& s : c.sources) {
    w.str(s.name);
    w.str(s.identity);
    w.str(s.position);
    w.u64(s.received);
    w.u64(s.added);
    w.u64(s.late);
    w.u64(s.labels);
    w.u64(s.rejected.size());
    for (uint64_t r : s.rejected) w.u64(r);
  }
  w.u64(c.models.size());
  for (const auto& m : c.models) {
    w.str(m.key);
    w.u64(m.windows);
    w.str(m.latest_json);
    w.str(m.state);
    w.str(m.alerts);
    w.str(m.triggers);
    w.str(m.sequential);
  }
  put_frame_trailer(w.bytes());
  return std::move(w.bytes());
}

Result<Checkpoint> decode_checkpoint(std::string_view file, const std::string& source) {
  auto payload = unframe_checkpoint(file, source);
  if (!payload) return payload.error();
  ByteReader r(payload->bytes);
  Checkpoint c;
  // Version 2 kept the 8 reasons of its time, uncounted.
  constexpr uint64_t kV2Reasons = 8;
  const uint64_t n_sources = r.count(3 * 8 + 4 * 8 + kV2Reasons * 8);
  for (uint64_t i = 0; i < n_sources && r.ok(); ++i) {
    CheckpointSource s;
    s.name = r.str();
    s.identity = r.str();
    s.position = r.str();
    s.received = r.u64();
    s.added = r.u64();
    s.late = r.u64();
    s.labels = r.u64();
    const uint64_t reasons = payload->version == 2 ? kV2Reasons : r.count(8);
    for (uint64_t k = 0; k < reasons && r.ok(); ++k) {
      const uint64_t v = r.u64();
      if (k < s.rejected.size()) s.rejected[k] = v;  // reasons of a later driftd: dropped
    }
    c.sources.push_back(std::move(s));
  }
  const uint64_t n_models = r.count(4 * 8);
  for (uint64_t i = 0; i < n_models && r.ok(); ++i) {
    CheckpointModel m;
    m.key = r.str();
    m.windows = r.u64();
    m.latest_json = r.str();
    m.state = r.str();
    if (payload->version >= 4) m.alerts = r.str();      // before 4: no alert rules
    if (payload->version >= 5) m.triggers = r.str();    // before 5: no triggers
    if (payload->version >= 6) m.sequential = r.str();  // before 6: no sequential charts
    c.models.push_back(std::move(m));
  }
  if (!r.ok() || !r.at_end()) {
    return Error{source + ": checkpoint payload is malformed: " +
                 (r.ok() ? std::string("bytes after the end") : r.error())};
  }
  return c;
}

}  // namespace driftd
