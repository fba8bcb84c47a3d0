#include "alerts/sinks/kafka/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include "alerts/sinks/body_fields.h"
#include "src/common/kafka_conf.h"
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
            KafkaProperties properties)
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
      Body body(item.body);
      std::string_view name;
      if (body.ok && get_if(body.doc["model"]["name"], name)) model = name;
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
    KafkaProperties properties = {{"bootstrap.servers", brokers_},
                                  {"enable.idempotence", "true"},
                                  {"message.timeout.ms", std::to_string(settings_.timeout_ms)}};
    properties.insert(properties.end(), properties_.begin(), properties_.end());
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (auto st = set_kafka_properties(conf, properties); !st) {
      rd_kafka_conf_destroy(conf);
      return Error{"sink " + settings_.name + ": " + st.error().message};
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::on_delivery);
    rd_kafka_conf_set_log_cb(conf, &KafkaSink::on_log);
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) {
      return Error{"sink " + settings_.name + ": cannot create the Kafka producer: " + err};
    }
    return {};
  }

  SinkSettings settings_;
  std::string brokers_, topic_;
  KafkaProperties properties_;
  rd_kafka_t* rk_ = nullptr;
};

}  // namespace

Result<std::shared_ptr<Sink>> make_kafka_sink(TableReader& r, const SinkSettings& settings,
                                              const std::string&) {
  std::string brokers, topic;
  KafkaProperties properties;
  DRIFTD_TRY(r.str("brokers", brokers));
  DRIFTD_TRY(r.str("topic", topic));
  DRIFTD_TRY(r.string_table("properties", properties));
  if (brokers.empty()) return Error{r.where_table() + ": brokers is required (host:port,...)"};
  if (topic.empty()) return Error{r.where_table() + ": topic is required"};
  for (const auto& [k, v] : properties) {
    if (k == "bootstrap.servers") {
      return Error{r.where(*r.table().get("properties"), "properties") +
                   ": give bootstrap.servers as brokers"};
    }
  }
  if (auto st = check_kafka_properties(properties); !st) {
    return Error{r.where(*r.table().get("properties"), "properties") + ": " + st.error().message};
  }
  return std::shared_ptr<Sink>(std::make_shared<KafkaSink>(
      settings, std::move(brokers), std::move(topic), std::move(properties)));
}

}  // namespace driftd::alerts
