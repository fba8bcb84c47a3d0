// Shared pieces of the fuzz targets: the golden baseline's model behind a
// decoder, and inputs copied into fresh heap buffers of their exact size
// (plus simdjson's padding), so that a read past them or of a freed earlier
// input is caught by AddressSanitizer.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "driftd/baseline/baseline.h"
#include "driftd/common/binary_io.h"
#include "driftd/decode/event_decoder.h"
#include "driftd/window/window.h"

namespace driftd::fuzz {

inline std::string data_path(const std::string& rel) {
  return std::string(DRIFTD_FUZZ_DATA) + "/" + rel;
}

inline std::shared_ptr<const Baseline> golden_baseline() {
  auto b = load_baseline(data_path("golden/baseline_v1.json"));
  if (!b) std::abort();
  return std::make_shared<const Baseline>(std::move(*b));
}

inline std::shared_ptr<const Baseline> shared_golden_baseline() {
  static const std::shared_ptr<const Baseline> base = golden_baseline();
  return base;
}

// A copy of `text` in a heap block of its own: len bytes, then zero padding.
class HeapLine {
 public:
  explicit HeapLine(std::string_view text)
      : len_(text.size()), bytes_(new char[text.size() + simdjson::SIMDJSON_PADDING]()) {
    std::copy(text.begin(), text.end(), bytes_.get());
  }
  const char* data() const { return bytes_.get(); }
  size_t size() const { return len_; }
  size_t capacity() const { return len_ + simdjson::SIMDJSON_PADDING; }

 private:
  size_t len_;
  std::unique_ptr<char[]> bytes_;
};

// Splits fuzz input bytes at newlines.
template <class Fn>
void for_each_line(const uint8_t* data, size_t size, Fn&& fn) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    fn(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
}

// The golden baseline's model (fraud@3) with time windows of a minute, so
// that windows close and the detectors run, and labels joined. Built once
// (building a monitor's grids costs more than a run); reset() loads the
// state it had when new, so that every input starts from the same state.
struct GoldenModel {
  std::shared_ptr<const Baseline> base = shared_golden_baseline();
  std::unique_ptr<ModelMonitor> monitor;
  Router router;
  std::string fresh_state;
  GoldenModel() {
    MonitorSettings s;
    s.window.kind = WindowSettings::Kind::kTime;
    s.window.size = s.window.step = 60'000;
    s.window.max_future = 0;  // inputs do not depend on the clock
    s.labels.ttl_ms = 600'000;
    s.labels.max_pending = 64;
    s.ks_resolution = 16;
    monitor = std::make_unique<ModelMonitor>(base, s);
    router.add(base->model_name, base->model_version, monitor.get());
    ByteWriter w;
    monitor->save(w);
    fresh_state = std::move(w.bytes());
  }
  void reset() {
    ByteReader r(fresh_state);
    if (!monitor->load(r)) std::abort();
  }
  static GoldenModel& shared() {
    static GoldenModel* model = new GoldenModel();
    return *model;
  }
};

}  // namespace driftd::fuzz
