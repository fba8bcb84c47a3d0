// The durable ingest log of the HTTP source: events accepted over HTTP are
// appended here and fsynced before the client gets its 2xx, so a kill -9
// after a 2xx loses nothing. The checkpoint stores the sequence number of
// the next record to apply; a restart replays the log from there, and a
// checkpoint lets the segments below it be deleted.
//
// Layout: a directory of segments named ingest-<first seq, 20 digits>.log.
// A segment is a 32-byte header and records:
//
//   header: "DRIFTDIL" | u32 version (2) | u32 flags (0) | u64 first seq |
//           u64 XXH3-64 of the 24 bytes before it
//   record: u32 payload length | u8 kind | u8 flags | 2 zero bytes | u64 seq |
//           payload | u64 XXH3-64 of the 16 header bytes and the payload
//
// All little-endian. Sequence numbers are consecutive within and across
// segments. One HTTP request's events are consecutive records, the last
// with flag 1 (kIngestEndsRequest): a request is kept all or none, so a
// client that retries an unanswered request never counts events twice.
// Reading checks every length, checksum and sequence number and keeps
// whole requests only: a torn tail of the last segment (a crash mid-write:
// never acknowledged), a request cut short included, is cut off; damage
// anywhere else is reported with the segment and byte offset, and the
// records after it in that segment are skipped. Version 1 (no flags: every
// record a request of its own) is still read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/common/result.h"

namespace driftd {

class AppendFile;  // src/common/append_file.h

inline constexpr char kIngestLogMagic[8] = {'D', 'R', 'I', 'F', 'T', 'D', 'I', 'L'};
inline constexpr uint32_t kIngestLogFormatVersion = 2;
inline constexpr uint8_t kIngestEndsRequest = 1;  // record flag: the last event of its request
inline constexpr size_t kIngestSegmentHeaderBytes = 32;
inline constexpr size_t kIngestRecordOverhead = 24;  // 16 header bytes + 8 checksum bytes
inline constexpr uint32_t kIngestMaxRecordBytes = 16u << 20;

// Which endpoint accepted a record.
enum class IngestKind : uint8_t { kPrediction = 1, kLabel = 2 };

struct IngestRecord {
  uint64_t seq = 0;
  IngestKind kind = IngestKind::kPrediction;
  std::string_view payload;  // one JSON event
};

// Encoding, exposed for the golden-file and truncation tests.
std::string encode_ingest_segment_header(uint64_t first_seq,
                                         uint32_t version = kIngestLogFormatVersion);
// `ends_request`: the last record of its request (a lone record is a
// request of its own).
void append_ingest_record(std::string& out, uint64_t seq, IngestKind kind, std::string_view payload,
                          bool ends_request = true);

// What reading one segment found.
struct IngestSegmentScan {
  uint32_t version = 0;
  uint64_t first_seq = 0;
  uint64_t end_seq = 0;    // one past the last record of the last whole request
  size_t valid_bytes = 0;  // header + whole requests: where a torn tail is cut
  bool damaged = false;    // bytes after valid_bytes that are not records
  std::string problem;     // why (with the byte offset) when damaged
};

// Reads a segment's records in order, calling `on_record` for each record
// of each whole request (a request's records once its last one is read).
// An unreadable header (short, bad magic or checksum, another version) is an
// error; damaged records end the scan with `damaged` set.
Result<IngestSegmentScan> scan_ingest_segment(
    std::string_view bytes, const std::string& name,
    const std::function<void(const IngestRecord&)>& on_record);

// The segments on disk. Not thread-safe: one thread writes (the HTTP
// source's committer); open() and replay() run before it starts.
class IngestLog {
 public:
  // Opens (creating) the directory and reads every segment's records once
  // to find the next sequence number; a torn tail of the last segment is
  // cut off. Refuses a segment of another format version.
  static Result<std::unique_ptr<IngestLog>> open(const std::string& dir, uint64_t segment_bytes);
  ~IngestLog();

  // The sequence number the next appended record gets.
  uint64_t next_seq() const { return next_seq_; }
  // The first sequence number still on disk (== next_seq() when empty).
  uint64_t first_seq() const;
  // Records with seq >= from, in order, read from disk.
  Status replay(uint64_t from, const std::function<void(const IngestRecord&)>& on_record) const;
  // Appends records (encoded with append_ingest_record, sequence numbers
  // from next_seq() on) and makes them durable (fdatasync).
  Status append(std::string_view encoded, uint64_t records);
  // Deletes the segments whose records are all below `seq`; the active
  // segment is rolled first when all of it is.
  Status release_before(uint64_t seq);
  // Continues numbering at `seq` when the log is behind it (its files were
  // lost or cleared while the checkpoint, which had applied up to `seq`,
  // stayed): new records never take numbers the checkpoint counts as done.
  Status continue_at(uint64_t seq);
  uint64_t bytes_on_disk() const { return bytes_on_disk_; }
  size_t segments() const { return segments_.size(); }
  // Damaged records found at open (skipped, logged).
  uint64_t damaged_segments() const { return damaged_segments_; }

 private:
  struct Segment {
    std::string path;
    uint64_t first_seq = 0;
    uint64_t bytes = 0;
  };
  IngestLog();
  Status roll();

  std::string dir_;
  uint64_t segment_bytes_ = 0;
  std::vector<Segment> segments_;       // by first_seq; the last is active
  std::unique_ptr<AppendFile> active_;  // the last segment's file
  uint64_t next_seq_ = 1;
  uint64_t bytes_on_disk_ = 0;
  uint64_t damaged_segments_ = 0;
};

}  // namespace driftd
