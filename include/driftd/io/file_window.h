// Part of a regular file mapped read-only, followed by zero bytes, so that
// simdjson parses it where it lies: no read() copy. (The file source reads
// the bytes a file holds when it is opened this way; the copy was 7% of the
// daemon's CPU on a 400 MB file, README, Performance.)
//
// A mapping outlives the file's length: should another process truncate
// the file, touching a page past its new end raises SIGBUS, which would
// kill the daemon. A window is guarded against that: a process-wide SIGBUS
// handler, installed at the first mapping, maps a page of zeros over the
// faulting page when it lies in a live window, and the read goes on (it
// reads zeros, which no event parses as); shrank() then tells the owner. A
// fault anywhere else is handed to the handler that was there before (or
// the default action).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace driftd {

class FileWindow {
 public:
  FileWindow() = default;
  FileWindow(FileWindow&& other) noexcept;
  FileWindow& operator=(FileWindow&& other) noexcept;
  FileWindow(const FileWindow&) = delete;
  FileWindow& operator=(const FileWindow&) = delete;
  ~FileWindow();

  // Maps `len` (> 0) bytes of `fd` from `offset` (any offset), replacing
  // what was mapped. The pages are populated up front (one call, not a
  // fault per page). False, with errno set, when mmap refuses (a file
  // system without it); the window is then empty.
  bool map(int fd, uint64_t offset, size_t len);
  void unmap();

  bool mapped() const { return data_ != nullptr; }
  const char* data() const { return data_; }  // the byte at offset()
  uint64_t offset() const { return offset_; }
  size_t size() const { return size_; }
  // Readable bytes from data(): size() and then zeros, at least one page
  // (>= simdjson::SIMDJSON_PADDING) of them.
  size_t capacity() const { return capacity_; }
  // A read since map() went past the file's end (it had shrunk) and found
  // zeros. (Inline: the file source asks once a line.)
  bool shrank() const { return hit_ != nullptr && hit_->load(std::memory_order_acquire); }

 private:
  void* region_ = nullptr;  // page-aligned: the file's pages, then anonymous zero pages
  size_t region_size_ = 0;
  const char* data_ = nullptr;
  uint64_t offset_ = 0;
  size_t size_ = 0;
  size_t capacity_ = 0;
  int guard_ = -1;  // the guard slot covering the region (-1: none free, unguarded)
  const std::atomic<bool>* hit_ = nullptr;  // that slot's flag
};

}  // namespace driftd
