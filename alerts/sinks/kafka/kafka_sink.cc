#include "alerts/sinks/kafka/kafka_sink.h"

#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include "src/daemon/log.h"

namespace driftd::alerts {

namespace {

// What the delivery report said about the one message in flight.
struct Report {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// Errors that no retry can mend: the message itself is refused.
bool permanent(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || e == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE ||
         e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE || e == RD_KAFKA_RESP_ERR_INVALID_RECORD ||
         e == RD_KAFKA_RESP_ERR_INVALID_MSG;
}

class KafkaSink final : public Sink {
 public:
  KafkaSink(SinkSettings settings, std::string brokers, std::string topic,
            std::vector<std::pair<std::string, std::string>> properties)
      : settings_(std::move(settings)),
        brokers_(std::move(brokers)),
        topic_(std::move(topic)),
        properties_(std::move(properties)) {}
  ~KafkaSink() override {
    if (rk_ != nullptr) {
      rd_kafka_flush(rk_, 1000);
      rd_kafka_destroy(rk_);
    }
  }

  Delivery deliver(const OutboxItem& item) override {
    if (rk_ == nullptr) {
      if (auto st = connect(); !st) return {Delivery::Outcome::kRetry, st.error().message, -1};
    }
    std::string model;
    {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      std::string_view name;
      if (parser.parse(item.body.data(), item.body.size()).get(doc) == simdjson::SUCCESS &&
          doc["model"]["name"].get(name) == simdjson::SUCCESS) {
        model = name;
      }
    }
    Report report;
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic_.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(model.data()), model.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(item.body.data()), item.body.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("driftd-key", item.key.data(), static_cast<ssize_t>(item.key.size())),
        RD_KAFKA_V_HEADER("driftd-kind", item.kind.data(), static_cast<ssize_t>(item.kind.size())),
        RD_KAFKA_V_OPAQUE(&report), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return {permanent(e) ? Delivery::Outcome::kReject : Delivery::Outcome::kRetry,
              "produce to " + topic_ + ": " + rd_kafka_err2str(e), -1};
    }
    // message.timeout.ms is the attempt's timeout: librdkafka reports the
    // message within it, delivered or failed; the flush waits a little more.
    rd_kafka_flush(rk_, static_cast<int>(settings_.timeout_ms + 2000));
    while (!report.done) {
      // Not reported yet (a stuck producer): it must not outlive `report`.
      rd_kafka_poll(rk_, 100);
    }
    if (report.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return {permanent(report.err) ? Delivery::Outcome::kReject : Delivery::Outcome::kRetry,
              "deliver to " + topic_ + ": " + rd_kafka_err2str(report.err), -1};
    }
    return {Delivery::Outcome::kDelivered, "acknowledged by " + topic_, -1};
  }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    auto* r = static_cast<Report*>(m->_private);
    r->err = m->err;
    r->done = true;
  }
  static void on_log(const rd_kafka_t*, int syslog_level, const char* facility, const char* buf) {
    const auto level = syslog_level <= 4 ? spdlog::level::warn : spdlog::level::debug;
    jlog(level, "kafka sink {}: {}", facility, buf);
  }

  Status connect() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const std::string& k, const std::string& v) -> Status {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        return Error{"sink " + settings_.name + ": " + k + ": " + err};
      }
      return {};
    };
    Status st = set("bootstrap.servers", brokers_);
    if (st) st = set("enable.idempotence", "true");
    if (st) st = set("message.timeout.ms", std::to_string(settings_.timeout_ms));
    for (const auto& [k, v] : properties_) {
      if (st) st = set(k, v);
    }
    if (!st) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::on_delivery);
    rd_kafka_conf_set_log_cb(conf, &KafkaSink::on_log);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) {
      return Error{"sink " + settings_.name + ": cannot create the Kafka producer: " + err};
    }
    return {};
  }

  SinkSettings settings_;
  std::string brokers_, topic_;
  std::vector<std::pair<std::string, std::string>> properties_;
  rd_kafka_t* rk_ = nullptr;
};

}  // namespace

Result<std::shared_ptr<Sink>> make_kafka_sink(TableReader& r, const SinkSettings& settings,
                                              const std::string&) {
  std::string brokers, topic;
  std::vector<std::pair<std::string, std::string>> properties;
  DRIFTD_TRY(r.str("brokers", brokers));
  DRIFTD_TRY(r.str("topic", topic));
  DRIFTD_TRY(r.string_table("properties", properties));
  if (brokers.empty()) return Error{r.where_table() + ": brokers is required (host:port,...)"};
  if (topic.empty()) return Error{r.where_table() + ": topic is required"};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : properties) {
    if (k == "bootstrap.servers") {
      rd_kafka_conf_destroy(conf);
      return Error{r.where(*r.table().get("properties"), "properties") +
                   ": give bootstrap.servers as brokers"};
    }
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Error{r.where(*r.table().get("properties"), "properties") + ": " + k + ": " + err};
    }
  }
  rd_kafka_conf_destroy(conf);
  return std::shared_ptr<Sink>(std::make_shared<KafkaSink>(
      settings, std::move(brokers), std::move(topic), std::move(properties)));
}

}  // namespace driftd::alerts
