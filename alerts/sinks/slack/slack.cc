#include "alerts/sinks/slack/slack.h"

#include <simdjson.h>

#include <cstdio>

#include "alerts/http/http_post.h"
#include "alerts/sinks/body_fields.h"
#include "driftd/io/json_writer.h"
#include "src/common/time_format.h"

namespace driftd::alerts {

namespace {

// Slack's mrkdwn treats &, < and > as control characters.
std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string number(simdjson::simdjson_result<simdjson::dom::element> e) {
  double v = 0;
  if (e.get(v) != simdjson::SUCCESS) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string window_text(simdjson::dom::element w) {
  std::string_view kind;
  int64_t start = 0, end = 0;
  uint64_t rows = 0;
  get_if(w["kind"], kind);
  get_if(w["start"], start);
  get_if(w["end"], end);
  get_if(w["rows"], rows);
  const bool time = kind == "time";
  return (time ? format_rfc3339_ms(start) : std::to_string(start)) + " to " +
         (time ? format_rfc3339_ms(end) : std::to_string(end)) + ", " + std::to_string(rows) +
         " rows";
}

class SlackSink final : public Sink {
 public:
  SlackSink(SinkSettings settings, HttpTarget target, std::string channel)
      : settings_(std::move(settings)), target_(std::move(target)), channel_(std::move(channel)) {}

  Delivery deliver(const OutboxItem& item) override {
    auto message = slack_message_json(item.body, channel_);
    if (!message) {
      return {Delivery::Outcome::kReject,
              "cannot read the notification: " + message.error().message, -1};
    }
    HttpPost p;
    p.body = std::move(*message);
    return http_.post(target_, p, settings_.timeout_ms);
  }

 private:
  SinkSettings settings_;
  HttpTarget target_;
  std::string channel_;
  HttpClient http_;
};

}  // namespace

Result<std::string> slack_message_json(std::string_view body, std::string_view channel) {
  Body parsed(body);
  if (!parsed.ok) return Error{"not JSON"};
  const simdjson::dom::element& doc = parsed.doc;
  std::string_view kind, model, version;
  if (doc["kind"].get(kind) != simdjson::SUCCESS ||
      doc["model"]["name"].get(model) != simdjson::SUCCESS ||
      doc["model"]["version"].get(version) != simdjson::SUCCESS) {
    return Error{"a notification without kind or model"};
  }
  std::string text;
  if (kind == "alert") {
    std::string_view state, rule, severity, feature, summary;
    get_if(doc["state"], state);
    get_if(doc["rule"], rule);
    get_if(doc["severity"], severity);
    get_if(doc["feature"], feature);
    get_if(doc["annotations"]["summary"], summary);
    const bool firing = state == "firing";
    text = std::string(firing ? (severity == "critical" ? ":rotating_light: " : ":warning: ")
                              : ":white_check_mark: ") +
           "*" + (firing ? "FIRING" : "RESOLVED") + "* `" + escape(rule) + "` (" +
           escape(severity) + ") on model *" + escape(model) + "* version " + escape(version);
    if (!feature.empty()) text += ", feature `" + escape(feature) + "`";
    text += "\nvalue " + number(doc["value"]) + " (threshold " + number(doc["threshold"]) + ")";
    simdjson::dom::element w;
    if (doc["window"].get(w) == simdjson::SUCCESS) text += "; window " + window_text(w);
    if (!summary.empty()) text += "\n" + escape(summary);
  } else if (kind == "trigger") {
    std::string_view policy;
    get_if(doc["trigger"], policy);
    text = ":arrows_counterclockwise: *Retraining triggered* (" + escape(policy) + ") for model *" +
           escape(model) + "* version " + escape(version);
    simdjson::dom::array because;
    if (doc["because"].get(because) == simdjson::SUCCESS) {
      std::string rules;
      for (auto b : because) {
        std::string_view rule, condition, feature;
        get_if(b["rule"], rule);
        get_if(b["condition"], condition);  // a policy's condition, not a rule
        get_if(b["feature"], feature);
        rules += (rules.empty() ? "" : ", ") + std::string("`") +
                 escape(rule.empty() ? condition : rule) +
                 (feature.empty() ? "" : " " + escape(feature)) + "`";
      }
      text += "\nbecause " + rules;
    }
    simdjson::dom::element w;
    if (doc["window"].get(w) == simdjson::SUCCESS) text += "; window " + window_text(w);
    simdjson::dom::array drifting;
    if (doc["evidence"]["drifting_features"].get(drifting) == simdjson::SUCCESS) {
      size_t shown = 0, total = 0;
      std::string list;
      for (auto f : drifting) {
        ++total;
        if (shown == 5) continue;
        std::string_view name, method;
        get_if(f["name"], name);
        get_if(f["method"], method);
        list += (list.empty() ? "" : ", ") + escape(name) + " " + escape(method) + " " +
                number(f["value"]);
        ++shown;
      }
      if (total > 0) {
        text += "\ndrifting: " + list +
                (total > shown ? " and " + std::to_string(total - shown) + " more" : "");
      }
    }
  } else {
    return Error{"an unknown kind of notification"};
  }
  JsonWriter j(-1);
  j.begin_object();
  if (!channel.empty()) j.key("channel").value(channel);
  j.key("text").value(text);
  j.end_object();
  return std::move(j.str());
}

Result<std::shared_ptr<Sink>> make_slack_sink(TableReader& r, const SinkSettings& settings,
                                              const std::string&) {
  auto url = read_secret(r, "url", true);
  if (!url) return url.error();
  HttpTarget target;
  target.url = *url;
  if (target.url.rfind("https://", 0) != 0 && target.url.rfind("http://", 0) != 0) {
    // The URL itself is the secret: the message names where it came from only.
    return Error{r.where_table() +
                 ": the webhook URL read from url_env or url_file is not an "
                 "http:// or https:// URL"};
  }
  target.shown = "the Slack webhook of sink " + settings.name;
  DRIFTD_TRY(read_http_options(r, target));
  std::string channel;
  DRIFTD_TRY(r.str("channel", channel));
  return std::shared_ptr<Sink>(
      std::make_shared<SlackSink>(settings, std::move(target), std::move(channel)));
}

}  // namespace driftd::alerts
