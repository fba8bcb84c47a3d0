#include "driftd/io/file_window.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <utility>

namespace driftd {
namespace {

// The regions of live windows, for the SIGBUS handler: plain atomics, so the
// handler reads them without a lock (only lock-free atomics are safe in a
// signal handler). A slot is claimed by setting its begin from 0.
struct GuardSlot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> hit{false};
};
constexpr int kGuardSlots = 64;
GuardSlot g_slots[kGuardSlots];
uintptr_t g_page = 4096;
struct sigaction g_previous {};
std::once_flag g_installed;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (GuardSlot& slot : g_slots) {
    const uintptr_t begin = slot.begin.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin || addr >= slot.end.load(std::memory_order_acquire)) continue;
    // mmap is a plain system call on Linux (not on POSIX's list of
    // async-signal-safe functions, but it takes no user-space lock).
    void* page = reinterpret_cast<void*>(addr & ~(g_page - 1));
    if (::mmap(page, g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
        MAP_FAILED) {
      slot.hit.store(true, std::memory_order_release);
      errno = saved_errno;
      return;
    }
    break;
  }
  // Not a window's page: the fault is handed on, to the handler installed
  // before this one, or else the previous disposition (usually the
  // default, a core dump) is restored and takes the fault when the
  // instruction runs again on return.
  errno = saved_errno;
  if ((g_previous.sa_flags & SA_SIGINFO) != 0) {
    g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
  } else {
    ::sigaction(SIGBUS, &g_previous, nullptr);
  }
}

void install_guard() {
  std::call_once(g_installed, [] {
    g_page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &g_previous);
  });
}

int claim_slot(uintptr_t begin, uintptr_t end) {
  for (int i = 0; i < kGuardSlots; ++i) {
    uintptr_t expected = 0;
    // Claimed with a placeholder first, so the handler never sees a begin
    // without its end.
    if (g_slots[i].begin.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      g_slots[i].hit.store(false, std::memory_order_relaxed);
      g_slots[i].end.store(end, std::memory_order_release);
      g_slots[i].begin.store(begin, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void release_slot(int i) {
  if (i < 0) return;
  g_slots[i].end.store(0, std::memory_order_release);
  g_slots[i].begin.store(0, std::memory_order_release);
}

}  // namespace

FileWindow::FileWindow(FileWindow&& other) noexcept {
  *this = std::move(other);
}

FileWindow& FileWindow::operator=(FileWindow&& other) noexcept {
  if (this != &other) {
    unmap();
    region_ = std::exchange(other.region_, nullptr);
    region_size_ = std::exchange(other.region_size_, 0);
    data_ = std::exchange(other.data_, nullptr);
    offset_ = std::exchange(other.offset_, 0);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    guard_ = std::exchange(other.guard_, -1);
    hit_ = std::exchange(other.hit_, nullptr);
  }
  return *this;
}

FileWindow::~FileWindow() {
  unmap();
}

void FileWindow::unmap() {
  release_slot(guard_);
  guard_ = -1;
  hit_ = nullptr;
  if (region_ != nullptr) ::munmap(region_, region_size_);
  region_ = nullptr;
  region_size_ = 0;
  data_ = nullptr;
  offset_ = 0;
  size_ = capacity_ = 0;
}

bool FileWindow::map(int fd, uint64_t offset, size_t len) {
  unmap();
  install_guard();
  const uint64_t page = g_page;
  const uint64_t start = offset / page * page;  // mmap's offset must be page-aligned
  const size_t lead = static_cast<size_t>(offset - start);
  const size_t file_bytes = lead + len;
  const size_t file_pages = (file_bytes + page - 1) / page * page;
  // The file's pages, then one page of zeros: reserved as anonymous memory,
  // with the file mapped over the front. The kernel zero-fills the tail of
  // the file's last page.
  const size_t total = file_pages + page;
  void* region = ::mmap(nullptr, total, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return false;
  if (::mmap(region, file_bytes, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd,
             static_cast<off_t>(start)) == MAP_FAILED) {
    const int err = errno;
    ::munmap(region, total);
    errno = err;
    return false;
  }
  region_ = region;
  region_size_ = total;
  const auto begin = reinterpret_cast<uintptr_t>(region);
  guard_ = claim_slot(begin, begin + file_pages);
  if (guard_ >= 0) hit_ = &g_slots[guard_].hit;
  data_ = static_cast<const char*>(region) + lead;
  offset_ = offset;
  size_ = len;
  capacity_ = total - lead;
  return true;
}

}  // namespace driftd
