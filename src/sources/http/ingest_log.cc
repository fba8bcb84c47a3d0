#include "driftd/sources/ingest_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <filesystem>

#include "src/common/append_file.h"
#include "src/daemon/log.h"

namespace driftd {

namespace {

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string segment_name(uint64_t first_seq) {
  char name[64];
  std::snprintf(name, sizeof name, "ingest-%020" PRIu64 ".log", first_seq);
  return name;
}

// The first sequence number in a segment's file name, or 0 when the name is
// not a segment's.
uint64_t parse_segment_name(const std::string& name) {
  if (name.size() != 31 || name.rfind("ingest-", 0) != 0 || name.substr(27) != ".log") return 0;
  uint64_t v = 0;
  for (size_t i = 7; i < 27; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return v;
}

Result<std::string> read_whole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open " + path + ": " + std::strerror(errno)};
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Error{"cannot read " + path + ": " + std::strerror(e)};
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// "cannot WHAT PATH: errno's text", after a failed AppendFile call.
Error file_error(const char* what, const std::string& path) {
  return Error{std::string("cannot ") + what + " " + path + ": " + std::strerror(errno)};
}

// A new file holding `bytes`, durable (written and fdatasync'ed).
Status write_durably(AppendFile& file, const std::string& path, std::string_view bytes) {
  DRIFTD_TRY(file.create(path));
  if (!file.append(bytes)) return file_error("write", path);
  if (!file.sync()) return file_error("fsync", path);
  return {};
}

Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open " + dir + ": " + std::strerror(errno)};
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return Error{"cannot fsync " + dir + ": " + std::strerror(e)};
  return {};
}

}  // namespace

std::string encode_ingest_segment_header(uint64_t first_seq, uint32_t version) {
  std::string out(kIngestLogMagic, sizeof kIngestLogMagic);
  put<uint32_t>(out, version);
  put<uint32_t>(out, 0);
  put<uint64_t>(out, first_seq);
  put<uint64_t>(out, XXH3_64bits(out.data(), out.size()));
  return out;
}

void append_ingest_record(std::string& out, uint64_t seq, IngestKind kind, std::string_view payload,
                          bool ends_request) {
  const size_t start = out.size();
  put<uint32_t>(out, static_cast<uint32_t>(payload.size()));
  out.push_back(static_cast<char>(kind));
  out.push_back(static_cast<char>(ends_request ? kIngestEndsRequest : 0));
  put<uint16_t>(out, 0);
  put<uint64_t>(out, seq);
  out.append(payload);
  put<uint64_t>(out, XXH3_64bits(out.data() + start, 16 + payload.size()));
}

Result<IngestSegmentScan> scan_ingest_segment(
    std::string_view bytes, const std::string& name,
    const std::function<void(const IngestRecord&)>& on_record) {
  if (bytes.size() < kIngestSegmentHeaderBytes) {
    return Error{name + ": ingest log segment header is truncated (" +
                 std::to_string(bytes.size()) + " bytes)"};
  }
  if (std::memcmp(bytes.data(), kIngestLogMagic, sizeof kIngestLogMagic) != 0) {
    return Error{name + ": not a driftd ingest log segment (bad magic)"};
  }
  if (get<uint64_t>(bytes.data() + 24) != XXH3_64bits(bytes.data(), 24)) {
    return Error{name + ": ingest log segment header checksum mismatch"};
  }
  const uint32_t version = get<uint32_t>(bytes.data() + 8);
  if (version != kIngestLogFormatVersion && version != 1) {
    return Error{name + ": ingest log format version " + std::to_string(version) +
                 ", this driftd reads versions 1 and " + std::to_string(kIngestLogFormatVersion)};
  }
  IngestSegmentScan scan;
  scan.version = version;
  scan.first_seq = get<uint64_t>(bytes.data() + 16);
  scan.end_seq = scan.first_seq;
  size_t at = kIngestSegmentHeaderBytes;
  size_t whole = at;  // the end of the last whole request
  uint64_t next_seq = scan.first_seq;
  std::vector<IngestRecord> request;  // the records of the request being read
  auto damaged = [&](const std::string& why) {
    scan.damaged = true;
    scan.problem = name + ": byte " + std::to_string(at) + ": " + why;
  };
  while (at < bytes.size()) {
    if (bytes.size() - at < 16) {
      damaged("a record header is cut short");
      break;
    }
    const uint32_t len = get<uint32_t>(bytes.data() + at);
    const uint8_t kind = static_cast<uint8_t>(bytes[at + 4]);
    // Version 1 has 3 zero bytes after the kind; version 2 a flags byte, then 2.
    const uint8_t flags = version == 1 ? 0 : static_cast<uint8_t>(bytes[at + 5]);
    const bool padding_zero = version == 1
                                  ? (bytes[at + 5] | bytes[at + 6] | bytes[at + 7]) == 0
                                  : (bytes[at + 6] | bytes[at + 7]) == 0 && (flags & ~1) == 0;
    const uint64_t seq = get<uint64_t>(bytes.data() + at + 8);
    if (len > kIngestMaxRecordBytes) {
      damaged("a record length of " + std::to_string(len) + " bytes is impossible");
      break;
    }
    if (bytes.size() - at < kIngestRecordOverhead + len) {
      damaged("a record is cut short");
      break;
    }
    if (get<uint64_t>(bytes.data() + at + 16 + len) != XXH3_64bits(bytes.data() + at, 16 + len)) {
      damaged("record checksum mismatch");
      break;
    }
    if ((kind != static_cast<uint8_t>(IngestKind::kPrediction) &&
         kind != static_cast<uint8_t>(IngestKind::kLabel)) ||
        !padding_zero) {
      damaged("unknown record kind or flags");
      break;
    }
    if (seq != next_seq) {
      damaged("sequence number " + std::to_string(seq) + " where " + std::to_string(next_seq) +
              " was due");
      break;
    }
    request.push_back(IngestRecord{seq, static_cast<IngestKind>(kind),
                                   std::string_view(bytes.data() + at + 16, len)});
    ++next_seq;
    at += kIngestRecordOverhead + len;
    if (version == 1 || (flags & kIngestEndsRequest)) {
      if (on_record) {
        for (const IngestRecord& r : request) on_record(r);
      }
      request.clear();
      whole = at;
      scan.end_seq = next_seq;
    }
  }
  if (!request.empty() && !scan.damaged) {
    at = whole;
    damaged("a request cut short (" + std::to_string(request.size()) +
            " of its events, never acknowledged)");
  }
  scan.valid_bytes = whole;
  return scan;
}

IngestLog::IngestLog() = default;
IngestLog::~IngestLog() = default;

Result<std::unique_ptr<IngestLog>> IngestLog::open(const std::string& dir, uint64_t segment_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"cannot create the ingest log directory " + dir + ": " + ec.message()};
  std::unique_ptr<IngestLog> log(new IngestLog());
  log->dir_ = dir;
  log->segment_bytes_ = std::max<uint64_t>(segment_bytes, 1 << 16);
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const uint64_t first = parse_segment_name(name);
    if (first == 0) continue;
    log->segments_.push_back(Segment{entry.path().string(), first, 0});
  }
  if (ec) return Error{"cannot list " + dir + ": " + ec.message()};
  std::sort(log->segments_.begin(), log->segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });
  uint64_t expected = 0;
  uint32_t last_version = kIngestLogFormatVersion;
  for (size_t i = 0; i < log->segments_.size(); ++i) {
    Segment& s = log->segments_[i];
    const bool last = i + 1 == log->segments_.size();
    auto bytes = read_whole(s.path);
    if (!bytes) return bytes.error();
    if (last && bytes->size() < kIngestSegmentHeaderBytes) {
      // Created but its header never reached the disk: it holds nothing.
      jlog(spdlog::level::warn, "{}: a segment without a complete header ({} bytes): rewritten",
           s.path, bytes->size());
      const std::string header = encode_ingest_segment_header(s.first_seq);
      AppendFile rewritten;
      DRIFTD_TRY(write_durably(rewritten, s.path, header));
      *bytes = header;
    }
    auto scan = scan_ingest_segment(*bytes, s.path, nullptr);
    if (!scan) return scan.error();
    if (scan->first_seq != s.first_seq) {
      return Error{s.path + ": the header's first sequence number " +
                   std::to_string(scan->first_seq) + " differs from the file name's"};
    }
    if (expected != 0 && s.first_seq != expected) {
      jlog(spdlog::level::err, "{}: starts at record {} where {} was due: records are missing",
           s.path, s.first_seq, expected);
    }
    if (last) {
      // The last segment is the active one: its torn tail (a write that
      // never completed, so was never acknowledged) is cut as it opens.
      auto active = std::make_unique<AppendFile>();
      auto cut = active->open_checked(s.path, scan->valid_bytes);
      if (!cut) return cut.error();
      if (scan->damaged) {
        jlog(spdlog::level::warn, "{}; cut the torn tail ({} bytes)", scan->problem, *cut);
      }
      log->active_ = std::move(active);
    } else if (scan->damaged) {
      ++log->damaged_segments_;
      jlog(spdlog::level::err, "{}; the rest of this segment is skipped", scan->problem);
    }
    s.bytes = scan->valid_bytes;
    log->bytes_on_disk_ += s.bytes;
    expected = scan->end_seq;
    log->next_seq_ = scan->end_seq;
    if (last) last_version = scan->version;
  }
  // Records go to a segment of this version (one an older driftd left
  // active gets no records of another layout).
  if (log->segments_.empty() || last_version != kIngestLogFormatVersion) {
    if (!log->segments_.empty() && log->segments_.back().first_seq == log->next_seq_) {
      // An old segment without records: the new one takes its name.
      log->bytes_on_disk_ -= log->segments_.back().bytes;
      log->segments_.pop_back();
    }
    if (auto st = log->roll(); !st) return st.error();
  }
  return log;
}

uint64_t IngestLog::first_seq() const {
  return segments_.empty() ? next_seq_ : segments_.front().first_seq;
}

Status IngestLog::roll() {
  const std::string path = (std::filesystem::path(dir_) / segment_name(next_seq_)).string();
  const std::string header = encode_ingest_segment_header(next_seq_);
  // The active segment stays the old one until the new one is durable.
  auto next = std::make_unique<AppendFile>();
  DRIFTD_TRY(write_durably(*next, path, header));
  DRIFTD_TRY(sync_dir(dir_));  // the new name is durable before records go in
  active_ = std::move(next);
  segments_.push_back(Segment{path, next_seq_, header.size()});
  bytes_on_disk_ += header.size();
  return {};
}

Status IngestLog::append(std::string_view encoded, uint64_t records) {
  if (records == 0) return {};
  if (segments_.back().bytes >= segment_bytes_ && segments_.back().first_seq != next_seq_) {
    if (auto st = roll(); !st) return st;
  }
  Segment& active = segments_.back();
  // A partial write is cut back (or, failing that, before the next append).
  if (!active_->append(encoded)) return file_error("write", active.path);
  if (!active_->sync()) return file_error("fsync", active.path);
  active.bytes += encoded.size();
  bytes_on_disk_ += encoded.size();
  next_seq_ += records;
  return {};
}

Status IngestLog::release_before(uint64_t seq) {
  // The active segment goes too when everything in it is below `seq`.
  if (!segments_.empty() && seq >= next_seq_ && segments_.back().first_seq < next_seq_) {
    if (auto st = roll(); !st) return st;
  }
  size_t drop = 0;
  while (drop + 1 < segments_.size() && segments_[drop + 1].first_seq <= seq) ++drop;
  for (size_t i = 0; i < drop; ++i) {
    if (::unlink(segments_[i].path.c_str()) != 0 && errno != ENOENT) {
      return Error{"cannot delete " + segments_[i].path + ": " + std::strerror(errno)};
    }
    bytes_on_disk_ -= segments_[i].bytes;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop));
  return {};
}

Status IngestLog::continue_at(uint64_t seq) {
  if (seq <= next_seq_) return {};
  next_seq_ = seq;
  if (auto st = roll(); !st) return st;  // a segment whose first number is seq
  return release_before(seq);
}

Status IngestLog::replay(uint64_t from,
                         const std::function<void(const IngestRecord&)>& on_record) const {
  for (size_t i = 0; i < segments_.size(); ++i) {
    // A segment ends where the next begins (or at next_seq_).
    const uint64_t end = i + 1 < segments_.size() ? segments_[i + 1].first_seq : next_seq_;
    if (end <= from) continue;
    auto bytes = read_whole(segments_[i].path);
    if (!bytes) return bytes.error();
    bytes->resize(std::min<size_t>(bytes->size(), segments_[i].bytes));
    auto scan = scan_ingest_segment(*bytes, segments_[i].path, [&](const IngestRecord& r) {
      if (r.seq >= from) on_record(r);
    });
    if (!scan) return scan.error();
  }
  return {};
}

}  // namespace driftd
