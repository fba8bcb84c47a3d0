// The file source: JSON lines or CSV rows from a file (or stdin), read to
// its end or followed as it grows, its position a byte offset.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/sources/source.h"

namespace driftd {

// Its keys ([[sources]] with type = "file").
struct FileSourceOptions final : SourceOptionsOf<FileSourceOptions> {
  std::string path;  // "-" for stdin
  bool follow = false;
  bool csv = false;  // rows of a CSV with a header (format = "csv"; default by a .csv path)
  bool operator==(const FileSourceOptions&) const = default;
};

// What its metrics show (Source::status()).
struct FileSourceStatus final : SourceStatus {
  uint64_t offset = 0;                    // byte offset of the next event
  std::optional<uint64_t> backlog_bytes;  // a regular file's size minus offset
};

// window_bytes: how much of a file's backlog is mapped at a time (more for a
// longer line); 0 reads the whole file with read().
constexpr size_t kFileWindowBytes = 8 << 20;
std::unique_ptr<Source> make_file_source(const SourceConfig& config,
                                         size_t window_bytes = kFileWindowBytes);

// Its registration (registry.cc).
inline constexpr std::string_view kFileSourceKeys =
    "path, format, start, follow, replay_speed, close_windows_at_end";
Status read_file_source(TableReader& r, SourceConfig& s);
Status check_file_source(const TableReader& r, SourceConfig& s);
std::unique_ptr<Source> make_file_source_of(const SourceConfig& s, const SourceContext& context);
Status check_file_environment(const SourceConfig& s);
void file_source_metrics(std::span<const SourceCounters* const> sources,
                         std::vector<prometheus::MetricFamily>& out);

inline constexpr SourceType kFileSourceType = {
    .type = "file",
    .keys = kFileSourceKeys,
    .read = read_file_source,
    .check = check_file_source,
    .make = make_file_source_of,
    .check_environment = check_file_environment,
    .metrics = file_source_metrics,
};

}  // namespace driftd
