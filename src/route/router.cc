#include "driftd/route/router.h"

namespace driftd {

void Router::add(const std::string& model, const std::string& version, ModelMonitor* monitor) {
  ModelRoute route;
  route.monitor = monitor;
  const WindowSettings& w = monitor->settings().window;
  route.time_windows = w.kind == WindowSettings::Kind::kTime;
  route.max_future_ms = route.time_windows ? w.max_future : 0;
  add(model, version, route);
}

void Router::add(const std::string& model, const std::string& version, ModelRoute route) {
  models_[model].emplace_back(version, route);
}

const ModelRoute* Router::find(std::string_view model, std::string_view version) const {
  const auto it = models_.find(model);
  if (it == models_.end()) return nullptr;
  if (version.empty()) return it->second.size() == 1 ? &it->second.front().second : nullptr;
  for (const auto& [v, r] : it->second) {
    if (v == version) return &r;
  }
  return nullptr;
}

size_t Router::versions(std::string_view model) const {
  const auto it = models_.find(model);
  return it == models_.end() ? 0 : it->second.size();
}

Router Router::routes_only() const {
  Router out = *this;
  for (auto& [name, versions] : out.models_) {
    for (auto& [v, r] : versions) r.monitor = nullptr;
  }
  return out;
}

}  // namespace driftd
