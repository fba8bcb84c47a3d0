#include "alerts/sinks/alertmanager/alertmanager.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "alerts/http/http_post.h"
#include "alerts/sinks/body_fields.h"
#include "driftd/io/json_writer.h"
#include "src/common/time_format.h"

namespace driftd::alerts {

namespace {

// What a notification says about its alert, as Alertmanager needs it.
struct AlertFields {
  std::string identity;  // model@version/rule|feature
  bool firing = false;
  int64_t fired_at = 0, resolved_at = 0;
  std::vector<std::pair<std::string, std::string>> labels, annotations;
  std::string generator_url;
};

Result<AlertFields> read_alert(std::string_view body) {
  Body parsed(body);
  if (!parsed.ok) return Error{"not JSON"};
  const simdjson::dom::element& doc = parsed.doc;
  AlertFields a;
  std::string_view kind, state, rule, model, version, feature;
  if (doc["kind"].get(kind) != simdjson::SUCCESS || kind != "alert") {
    return Error{"not an alert notification"};
  }
  if (doc["state"].get(state) != simdjson::SUCCESS || (state != "firing" && state != "resolved") ||
      doc["rule"].get(rule) != simdjson::SUCCESS ||
      doc["model"]["name"].get(model) != simdjson::SUCCESS ||
      doc["model"]["version"].get(version) != simdjson::SUCCESS ||
      doc["fired_at"].get(a.fired_at) != simdjson::SUCCESS) {
    return Error{"an alert notification without state, rule, model or fired_at"};
  }
  get_if(doc["feature"], feature);
  a.firing = state == "firing";
  if (!a.firing && doc["resolved_at"].get(a.resolved_at) != simdjson::SUCCESS) {
    return Error{"a resolved alert without resolved_at"};
  }
  a.identity = std::string(model) + "@" + std::string(version) + "/" + std::string(rule) + "|" +
               std::string(feature);
  for (auto [name, out] :
       {std::pair{"labels", &a.labels}, std::pair{"annotations", &a.annotations}}) {
    simdjson::dom::object o;
    if (doc[name].get(o) != simdjson::SUCCESS) continue;
    for (auto field : o) {
      std::string_view v;
      if (field.value.get(v) == simdjson::SUCCESS) {
        out->emplace_back(std::string(field.key), std::string(v));
      }
    }
  }
  std::string_view url;
  if (doc["url"].get(url) == simdjson::SUCCESS) a.generator_url = url;
  return a;
}

std::string postable(const AlertFields& a, int64_t now_ms, int64_t valid_for_ms) {
  // Event time may be ahead of the wall clock (within the future bound):
  // Alertmanager refuses an alert that ends before it starts.
  const int64_t starts = std::min(a.fired_at, now_ms);
  const int64_t ends = a.firing ? now_ms + valid_for_ms : std::clamp(a.resolved_at, starts, now_ms);
  JsonWriter j(-1);
  j.begin_object();
  j.key("labels").begin_object();
  for (const auto& [k, v] : a.labels) j.key(k).value(v);
  j.end_object();
  j.key("annotations").begin_object();
  for (const auto& [k, v] : a.annotations) j.key(k).value(v);
  j.end_object();
  j.key("startsAt").value(format_rfc3339_ms(starts));
  j.key("endsAt").value(format_rfc3339_ms(ends));
  if (!a.generator_url.empty()) j.key("generatorURL").value(a.generator_url);
  j.end_object();
  return std::move(j.str());
}

class AlertmanagerSink final : public Sink {
 public:
  AlertmanagerSink(SinkSettings settings, HttpTarget target, int64_t repeat_ms)
      : settings_(std::move(settings)), target_(std::move(target)), repeat_ms_(repeat_ms) {
    if (target_.url.back() == '/') target_.url.pop_back();
    target_.url += "/api/v2/alerts";
  }

  Delivery deliver(const OutboxItem& item) override {
    if (item.kind != "alert") {
      return {Delivery::Outcome::kDelivered, "not an alert: nothing sent", -1};
    }
    auto a = read_alert(item.body);
    if (!a)
      return {Delivery::Outcome::kReject, "cannot read the notification: " + a.error().message, -1};
    const int64_t now = wall_ms();
    const Delivery d = post("[" + postable(*a, now, valid_for_ms()) + "]");
    if (d.outcome == Delivery::Outcome::kDelivered) {
      if (a->firing) {
        active_[a->identity] = std::move(*a);
      } else {
        active_.erase(a->identity);
      }
      if (active_.empty()) {
        next_repeat_ = INT64_MAX;
      } else if (next_repeat_ == INT64_MAX) {
        next_repeat_ = now + repeat_ms_;
      }
    }
    return d;
  }

  int64_t next_repeat_ms() const override { return next_repeat_; }

  Delivery repeat(int64_t now_ms) override {
    next_repeat_ = active_.empty() ? INT64_MAX : now_ms + repeat_ms_;
    // At most 500 alerts a request: Alertmanager reads bodies whole.
    Delivery last;
    std::string batch;
    size_t in_batch = 0;
    for (auto it = active_.begin(); it != active_.end(); ++it) {
      batch += (in_batch == 0 ? "[" : ",") + postable(it->second, now_ms, valid_for_ms());
      if (++in_batch == 500 || std::next(it) == active_.end()) {
        last = post(batch + "]");
        if (last.outcome != Delivery::Outcome::kDelivered) {
          // Sooner than an interval: a receiver back from an outage must
          // hear of the alerts before they expire there.
          next_repeat_ = now_ms + std::min<int64_t>(repeat_ms_, 10'000);
          return last;
        }
        batch.clear();
        in_batch = 0;
      }
    }
    return last;
  }

  void restore(const std::vector<OutboxItem>& firing) override {
    for (const OutboxItem& item : firing) {
      auto a = read_alert(item.body);
      if (a && a->firing) active_[a->identity] = std::move(*a);
    }
    // Right away: Alertmanager may have let them expire while driftd was down.
    if (!active_.empty()) next_repeat_ = 0;
  }

 private:
  static int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // How long Alertmanager keeps a firing alert without hearing of it again.
  int64_t valid_for_ms() const { return 4 * repeat_ms_; }
  Delivery post(std::string body) {
    HttpPost p;
    p.body = std::move(body);
    return http_.post(target_, p, settings_.timeout_ms);
  }

  SinkSettings settings_;
  HttpTarget target_;
  int64_t repeat_ms_;
  std::map<std::string, AlertFields> active_;  // firing, as last delivered
  int64_t next_repeat_ = INT64_MAX;
  HttpClient http_;
};

}  // namespace

Result<std::string> alertmanager_alert_json(std::string_view body, int64_t now_ms,
                                            int64_t valid_for_ms) {
  auto a = read_alert(body);
  if (!a) return a.error();
  return postable(*a, now_ms, valid_for_ms);
}

Result<std::shared_ptr<Sink>> make_alertmanager_sink(TableReader& r, const SinkSettings& settings,
                                                     const std::string&) {
  HttpTarget target;
  DRIFTD_TRY(read_http_target(r, target));
  int64_t repeat_ms = 60'000;
  DRIFTD_TRY(r.duration("repeat_interval", repeat_ms));
  if (repeat_ms < 1'000 || repeat_ms > 3'600'000) {
    return Error{r.where(*r.table().get("repeat_interval"), "repeat_interval") +
                 ": must be between 1s and 1h"};
  }
  auto token = read_secret(r, "bearer_token", false);
  if (!token) return token.error();
  if (!token->empty()) target.headers.push_back("Authorization: Bearer " + *token);
  return std::shared_ptr<Sink>(
      std::make_shared<AlertmanagerSink>(settings, std::move(target), repeat_ms));
}

}  // namespace driftd::alerts
