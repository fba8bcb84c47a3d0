// Delivers the outbox: one thread per sink, each taking its sink's oldest
// undelivered notification (so a sink's order is kept), trying it, and
// recording the outcome: delivered; tried again later with exponential
// backoff and jitter (honouring Retry-After); or, refused for good (a 4xx
// other than 408 and 429), dead-lettered with the receiver's answer.
// Started and stopped by the daemon; never on the per-event path.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alerts/outbox/outbox.h"
#include "alerts/sinks/sink.h"

namespace driftd::alerts {

class Deliverer {
 public:
  // Upper bounds (seconds) of the delivery latency histogram: from the
  // notification's entry in the outbox to its delivery, retries included.
  static constexpr double kLatencyBounds[] = {0.01, 0.05, 0.1, 0.5, 1,    5,
                                              10,   30,   60,  300, 1800, 3600};
  static constexpr size_t kLatencyBuckets = std::size(kLatencyBounds);
  struct Counters {
    std::atomic<uint64_t> delivered{0}, failed{0}, dead{0}, repeated{0}, repeat_failed{0};
    std::atomic<uint64_t> pending{0};  // as of the last look
    // Delivered notifications by latency: bucket i counts those at most
    // kLatencyBounds[i] (not cumulative; the last one: above them all).
    std::array<std::atomic<uint64_t>, kLatencyBuckets + 1> latency{};
    std::atomic<uint64_t> latency_sum_ms{0};
  };

  Deliverer(Outbox& outbox, std::vector<SinkConfig> sinks);
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  void start();
  // Lets an attempt in progress finish (within its timeout), then joins.
  void stop();
  // New notifications are in the outbox.
  void wake();

  const std::vector<SinkConfig>& sinks() const { return sinks_; }
  const Counters& counters(size_t sink) const { return *counters_[sink]; }

  // The delay before attempt `attempts + 1` of a sink: initial * 2^(attempts
  // - 1), at most max, times a uniform jitter in [0.5, 1); a Retry-After
  // longer than that is waited instead (up to an hour).
  static int64_t backoff_ms(const SinkSettings& s, int64_t attempts, int64_t retry_after_ms,
                            double jitter);

 private:
  void run(size_t sink);

  Outbox& outbox_;
  std::vector<SinkConfig> sinks_;
  std::vector<std::unique_ptr<Counters>> counters_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t wakes_ = 0;
  bool stop_ = false;
};

}  // namespace driftd::alerts
