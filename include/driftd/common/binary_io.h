// Little-endian byte encoding for driftd's binary state files (checkpoints).
// The reader never reads past its buffer: every getter checks the length
// and, on a short buffer, records the first failure and returns zero, so a
// caller decodes a whole structure and checks ok() once at the end.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace driftd {

// Values are copied as they sit in memory: refuse to build where that is not
// little-endian rather than write files another machine misreads.
static_assert(std::endian::native == std::endian::little, "driftd state files are little-endian");

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { put(&v, sizeof v); }
  void u64(uint64_t v) { put(&v, sizeof v); }
  void i64(int64_t v) { put(&v, sizeof v); }
  void f64(double v) { put(&v, sizeof v); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s.data(), s.size());
  }
  std::string& bytes() { return out_; }

 private:
  void put(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : in_(bytes) {}
  uint8_t u8() {
    uint8_t v = 0;
    get(&v, 1);
    return v;
  }
  uint32_t u32() {
    uint32_t v = 0;
    get(&v, sizeof v);
    return v;
  }
  uint64_t u64() {
    uint64_t v = 0;
    get(&v, sizeof v);
    return v;
  }
  int64_t i64() {
    int64_t v = 0;
    get(&v, sizeof v);
    return v;
  }
  double f64() {
    double v = 0;
    get(&v, sizeof v);
    return v;
  }
  std::string str() {
    const uint64_t n = u64();
    if (!ok_ || n > in_.size() - pos_) return fail("a string runs past the end"), std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items of at least `min_item_bytes` each: refused when the
  // rest of the buffer cannot hold them (a corrupt count must not make the
  // caller allocate terabytes).
  uint64_t count(size_t min_item_bytes) {
    const uint64_t n = u64();
    if (ok_ && min_item_bytes > 0 && n > (in_.size() - pos_) / min_item_bytes) {
      fail("a count larger than the data that follows");
      return 0;
    }
    return ok_ ? n : 0;
  }
  void fail(std::string why) {
    if (ok_) {
      ok_ = false;
      error_ = std::move(why) + " (at byte " + std::to_string(pos_) + ")";
    }
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  const std::string& error() const { return error_; }
  size_t position() const { return pos_; }

 private:
  void get(void* p, size_t n) {
    if (!ok_) return;
    if (n > in_.size() - pos_) {
      fail("truncated");
      return;
    }
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::string error_;
};

}  // namespace driftd
