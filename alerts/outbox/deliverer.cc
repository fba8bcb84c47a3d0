#include "alerts/outbox/deliverer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "src/daemon/log.h"

namespace driftd::alerts {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Deliverer::Deliverer(Outbox& outbox, std::vector<SinkConfig> sinks)
    : outbox_(outbox), sinks_(std::move(sinks)) {
  for (size_t i = 0; i < sinks_.size(); ++i) counters_.push_back(std::make_unique<Counters>());
}

Deliverer::~Deliverer() {
  stop();
}

void Deliverer::start() {
  for (size_t i = 0; i < sinks_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
}

void Deliverer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Deliverer::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

int64_t Deliverer::backoff_ms(const SinkSettings& s, int64_t attempts, int64_t retry_after_ms,
                              double jitter) {
  const double doubled =
      static_cast<double>(s.backoff_initial_ms) *
      std::pow(2.0, static_cast<double>(std::clamp<int64_t>(attempts - 1, 0, 40)));
  const double capped = std::min(doubled, static_cast<double>(s.backoff_max_ms));
  int64_t delay = static_cast<int64_t>(capped * std::clamp(jitter, 0.5, 1.0));
  if (retry_after_ms > delay) delay = std::min<int64_t>(retry_after_ms, 3'600'000);
  return std::max<int64_t>(delay, 1);
}

void Deliverer::run(size_t index) {
  const SinkConfig& sink = sinks_[index];
  const std::string& name = sink.settings.name;
  Counters& c = *counters_[index];
  std::mt19937_64 rng(std::random_device{}() ^ index);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  uint64_t seen_wakes = 0;
  auto wait = [&](int64_t ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms),
                 [&] { return stop_ || wakes_ != seen_wakes; });
    seen_wakes = wakes_;
    return !stop_;
  };
  std::string last_error;
  if (auto firing = outbox_.firing(name)) {
    sink.sink->restore(*firing);
  } else {
    jlog(spdlog::level::err, "sink {}: {}", name, firing.error().message);
  }
  int64_t counted_at = 0;
  std::string repeat_error;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    if (const int64_t now = wall_ms(); sink.sink->next_repeat_ms() <= now) {
      const Delivery d = sink.sink->repeat(now);
      if (d.outcome == Delivery::Outcome::kDelivered) {
        c.repeated.fetch_add(1);
        if (!repeat_error.empty()) {
          jlog(spdlog::level::info, "sink {}: repeating again ({})", name, d.detail);
        }
        repeat_error.clear();
      } else {
        c.repeat_failed.fetch_add(1);
        if (repeat_error != d.detail) {
          jlog(spdlog::level::warn, "sink {}: repeating the firing alerts failed: {}", name,
               d.detail);
          repeat_error = d.detail;
        }
      }
    }
    // How long to sleep at most: until the next repeat, or a second.
    auto nap = [&](int64_t ms) {
      const int64_t until_repeat = sink.sink->next_repeat_ms() - wall_ms();
      return std::max<int64_t>(1, std::min({ms, until_repeat, int64_t{1000}}));
    };
    auto head = outbox_.head(name);
    if (!head) {
      if (last_error != head.error().message) {
        jlog(spdlog::level::err, "sink {}: {}", name, head.error().message);
        last_error = head.error().message;
      }
      if (!wait(nap(1000))) return;
      continue;
    }
    if (const int64_t now = wall_ms(); !*head || now - counted_at >= 1000) {
      if (auto counts = outbox_.counts(name)) c.pending.store(counts->pending);
      counted_at = now;
    }
    if (!*head) {
      if (!wait(nap(1000))) return;
      continue;
    }
    const Outbox::Head& h = **head;
    const int64_t now = wall_ms();
    if (h.next_at_ms > now) {
      if (!wait(nap(h.next_at_ms - now))) return;
      continue;
    }
    const Delivery d = sink.sink->deliver(h.item);
    const int64_t done = wall_ms();
    Status st;
    switch (d.outcome) {
      case Delivery::Outcome::kDelivered:
        st = outbox_.delivered(h.item.seq, name, done, d.detail);
        c.delivered.fetch_add(1);
        {
          const int64_t latency = std::max<int64_t>(0, done - h.item.created_ms);
          size_t b = 0;
          while (b<kLatencyBuckets&& static_cast<double>(latency)> kLatencyBounds[b] * 1000) ++b;
          c.latency[b].fetch_add(1);
          c.latency_sum_ms.fetch_add(static_cast<uint64_t>(latency));
        }
        if (!last_error.empty()) {
          jlog(spdlog::level::info, "sink {}: delivering again ({})", name, d.detail);
          last_error.clear();
        }
        break;
      case Delivery::Outcome::kRetry: {
        const int64_t delay =
            backoff_ms(sink.settings, h.item.attempts + 1, d.retry_after_ms, jitter(rng));
        st = outbox_.retry_later(h.item.seq, name, done + delay, d.detail);
        c.failed.fetch_add(1);
        if (last_error != d.detail) {
          jlog(spdlog::level::warn, "sink {}: {}; retrying in {} ms (attempt {}), nothing is lost",
               name, d.detail, delay, h.item.attempts + 1);
          last_error = d.detail;
        }
        break;
      }
      case Delivery::Outcome::kReject:
        st = outbox_.dead(h.item.seq, name, done, d.detail);
        c.dead.fetch_add(1);
        jlog(spdlog::level::err, "sink {}: refused {} for good, dead-lettered in the outbox: {}",
             name, h.item.key, d.detail);
        break;
    }
    if (!st) {
      jlog(spdlog::level::err, "sink {}: {}", name, st.error().message);
      if (!wait(nap(1000))) return;
    }
  }
}

}  // namespace driftd::alerts
