#include "driftd/io/base64.h"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "driftd/kernels/kernels.h"

namespace driftd {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The two characters for every 12-bit value: three input bytes become two
// lookups and two 16-bit stores instead of four of each.
constexpr std::array<std::array<char, 2>, 4096> make_pair_table() {
  std::array<std::array<char, 2>, 4096> t{};
  for (int i = 0; i < 4096; ++i) t[static_cast<size_t>(i)] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
  return t;
}
constexpr auto kPairs = make_pair_table();

}  // namespace

void base64_append(std::string& out, std::span<const unsigned char> in) {
  const size_t start = out.size();
  out.resize(start + (in.size() + 2) / 3 * 4);
  char* o = out.data() + start;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    std::memcpy(o, kPairs[v >> 12].data(), 2);
    std::memcpy(o + 2, kPairs[v & 4095].data(), 2);
    o += 4;
  }
  if (const size_t rest = in.size() - i; rest > 0) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (rest == 2 ? uint32_t{in[i + 1]} << 8 : 0u);
    *o++ = kAlphabet[v >> 18];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
}

namespace {
// Decoded size of canonical base64 text, or nullopt when its length or
// padding cannot be base64.
std::optional<size_t> decoded_size(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return size_t{0};
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text[text.size() - 2] == '=') ++pad;
  return text.size() / 4 * 3 - pad;
}

// Decodes into out, which holds exactly decoded_size(text) bytes.
bool decode_into(std::string_view text, unsigned char* out) {
  if (text.empty()) return true;
  const size_t pad = (text.back() == '=') + (text[text.size() - 2] == '=');
  const size_t body = pad ? text.size() - 4 : text.size();
  if (!kernels::base64_decode_quads(text.data(), body, out)) return false;
  if (pad) {
    const char last[4] = {text[body], text[body + 1], pad == 2 ? 'A' : text[body + 2], 'A'};
    unsigned char tail[3];
    if (!kernels::base64_decode_quads(last, 4, tail)) return false;
    // Bits under the padding must be zero (canonical encoding).
    if (tail[3 - pad] != 0 || (pad == 2 && tail[1] != 0)) return false;
    std::memcpy(out + body / 4 * 3, tail, 3 - pad);
  }
  return true;
}
}  // namespace

std::optional<std::vector<unsigned char>> base64_decode(std::string_view text) {
  const auto size = decoded_size(text);
  if (!size) return std::nullopt;
  std::vector<unsigned char> out(*size);
  if (!decode_into(text, out.data())) return std::nullopt;
  return out;
}

std::string doubles_to_base64(std::span<const double> values) {
  std::string out;
  if constexpr (std::endian::native == std::endian::little) {
    base64_append(out, {reinterpret_cast<const unsigned char*>(values.data()), values.size() * 8});
  } else {
    std::vector<unsigned char> bytes(values.size() * 8);
    for (size_t i = 0; i < values.size(); ++i) {
      const uint64_t u = std::bit_cast<uint64_t>(values[i]);
      for (int b = 0; b < 8; ++b)
        bytes[i * 8 + static_cast<size_t>(b)] = static_cast<unsigned char>(u >> (8 * b));
    }
    base64_append(out, bytes);
  }
  return out;
}

namespace {

// Maps the whole pages of a fresh allocation in one call (Linux 5.14's
// MADV_POPULATE_WRITE) instead of one page fault per 4 KiB as the decoder
// first writes them: a baseline's samples are 16 MB for 20 columns of
// 100,000 values, 4,000 faults of the daemon's start-up. Where the kernel
// lacks it, the call fails and the pages fault in as before.
void prefault(void* data, size_t size) {
#ifdef MADV_POPULATE_WRITE
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
  if (end > begin + (page << 4)) {
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
  }
#else
  (void)data;
  (void)size;
#endif
}

}  // namespace

std::optional<NumberVector> doubles_from_base64(std::string_view text) {
  const auto size = decoded_size(text);
  if (!size || *size % 8 != 0) return std::nullopt;
  NumberVector out(*size / 8);  // left uninitialised: decoded over
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  prefault(bytes, *size);
  if (!decode_into(text, bytes)) return std::nullopt;
  if constexpr (std::endian::native != std::endian::little) {
    for (double& d : out) {
      uint64_t u = 0;
      std::memcpy(&u, &d, 8);
      u = __builtin_bswap64(u);
      std::memcpy(&d, &u, 8);
    }
  }
  return out;
}

}  // namespace driftd
