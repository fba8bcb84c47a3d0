// Base64 (RFC 4648 section 4, with '=' padding) for the baseline's binary
// samples: 8 bytes per double as base64 take 10.7 characters and encode or
// decode at memory speed, where shortest decimal text takes ~18 characters
// and 50 ns per value each way.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/common/number_vector.h"

namespace driftd {

void base64_append(std::string& out, std::span<const unsigned char> bytes);
// nullopt on a character outside the alphabet, bad padding or bad length.
std::optional<std::vector<unsigned char>> base64_decode(std::string_view text);

// Doubles as little-endian IEEE 754 bytes, base64-encoded.
std::string doubles_to_base64(std::span<const double> values);
std::optional<NumberVector> doubles_from_base64(std::string_view text);

}  // namespace driftd
