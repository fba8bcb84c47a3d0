// The daemon's checkpoint: every monitor's state and every source's
// position, taken together between batches and written atomically (temp
// file, fsync, rename) by the daemon. This is its file format: a version
// and an XXH3 checksum around a payload whose every length is checked when
// read back (a correct checksum does not make a file trustworthy).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/common/result.h"
#include "driftd/decode/event_decoder.h"

namespace driftd {

// 2: a source's position is an opaque record (file offset or Kafka offsets).
// 3: a source's rejection counters are a counted list (new reasons append).
// 4: each model's alert states.
// 5: each model's trigger policy states.
// Versions 2 to 4 are still read.
inline constexpr uint32_t kCheckpointFormatVersion = 6;
inline constexpr char kCheckpointMagic[8] = {'D', 'R', 'I', 'F', 'T', 'D', 'C', 'K'};

// The checkpoint's contents. Sources and models are matched by name and key
// on restore; a record that matches nothing is dropped with a log line.
struct CheckpointSource {
  std::string name;
  std::string identity;  // a file's path, "kafka": a different one is not applied
  std::string position;  // the source's own record (Source::save_position)
  uint64_t received = 0, added = 0, late = 0, labels = 0;
  std::array<uint64_t, kRejectReasons> rejected{};  // by RejectReason
};
struct CheckpointModel {
  std::string key;  // model, version, baseline identity, window layout
  uint64_t windows = 0;
  std::string latest_json;  // the last closed window's windows-log line
  std::string state;        // ModelMonitor::save
  std::string alerts;       // alerts::ModelAlerts::save (version 4 on; empty: no rules)
  std::string triggers;     // alerts::ModelTriggers::save (version 5 on; empty: no policies)
  std::string sequential;   // SequentialDetector::save (version 6 on; empty: none)
};
struct Checkpoint {
  std::vector<CheckpointSource> sources;
  std::vector<CheckpointModel> models;
};

// The framed file (magic, version, payload, checksum) and its reading,
// with every length checked; exposed for the golden-file tests.
std::string encode_checkpoint(const Checkpoint& checkpoint);
Result<Checkpoint> decode_checkpoint(std::string_view file, const std::string& source);

// Checkpoint framing, exposed for the golden-file and truncation tests:
// magic, u32 version, payload, XXH3-64 of everything before it. The
// checksum is checked before the version, so that a damaged header is
// reported as damage.
std::string frame_checkpoint(std::string_view payload, uint32_t version = kCheckpointFormatVersion);
struct CheckpointPayload {
  uint32_t version = 0;
  std::string_view bytes;
};
// The payload of a framed checkpoint, or why it is refused.
Result<CheckpointPayload> unframe_checkpoint(std::string_view file, const std::string& source);

}  // namespace driftd
