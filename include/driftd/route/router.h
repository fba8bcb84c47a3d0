// Routing: which model monitor an event goes to, by (model, version), and
// what the verdict on an event needs to know of its model. The ingest
// thread holds the routes with their monitors; the HTTP threads a copy
// without them (routes_only), for their verdicts before an answer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "driftd/window/window.h"

namespace driftd {

// What the verdict on an event needs to know of its model, and, on the
// ingest thread, the monitor it goes to.
struct ModelRoute {
  ModelMonitor* monitor = nullptr;  // nullptr in the HTTP threads' copy
  bool time_windows = true;         // events need a timestamp
  int64_t max_future_ms = 0;        // 0: no bound
};

// (model name, version) -> route.
class Router {
 public:
  void add(const std::string& model, const std::string& version, ModelMonitor* monitor);
  void add(const std::string& model, const std::string& version, ModelRoute route);
  // The route for a model and version; with no version in the event, the
  // model's only version (nullptr when it has several).
  const ModelRoute* find(std::string_view model, std::string_view version) const;
  // How many versions of `model` are monitored.
  size_t versions(std::string_view model) const;
  // The same routes without their monitors: for threads other than the
  // ingest thread, which owns the monitors.
  Router routes_only() const;

 private:
  std::map<std::string, std::vector<std::pair<std::string, ModelRoute>>, std::less<>> models_;
};

}  // namespace driftd
