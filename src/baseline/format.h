// What the baseline's writer and reader share (src/baseline/): the file
// format is docs/formats/baseline.md.
#pragma once

#include <string_view>

namespace driftd {

// The trailer's key: the checksum covers every byte before it.
inline constexpr std::string_view kChecksumKey = "\"checksum\": \"xxh3-64:";

}  // namespace driftd
