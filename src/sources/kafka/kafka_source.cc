// The Kafka source: a librdkafka consumer group on one or more topics.
//
// The offsets that count live in driftd's checkpoint, written atomically
// with the window state (as Flink keeps them in its snapshots): when a
// partition is assigned, the consumer seeks to the checkpoint's offset.
// Offsets are committed to Kafka only after a checkpoint made them durable,
// for lag tools and for the next owner of a partition. On assignment the
// later of the two wins: the committed one is newer only when another
// group member read further (its events are in its windows, not ours), the
// checkpoint's is newer when our last commit was lost in a crash.
// Before partitions are revoked the daemon checkpoints, then lets go.
//
// One event per message; a message holding several newline-separated
// events (NDJSON) is split. Event time comes from the event's timestamp
// field, not the message's.
#include <librdkafka/rdkafka.h>

#include <cstring>
#include <map>

#include <simdjson.h>
#include <toml++/toml.h>

#include "driftd/common/binary_io.h"
#include "src/common/kafka_conf.h"
#include "src/daemon/log.h"
#include "src/server/metric_family.h"
#include "src/server/published.h"
#include "src/sources/kafka/kafka_source.h"

namespace driftd {
namespace {

constexpr int kMaxMessagesPerPoll = 8192;
constexpr int kCommittedQueryTimeoutMs = 10000;

struct PartitionKey {
  std::string topic;
  int32_t partition;
  bool operator<(const PartitionKey& o) const {
    return topic != o.topic ? topic < o.topic : partition < o.partition;
  }
};

struct PartitionState {
  int64_t next_offset = -1;  // -1: nothing read or restored
  bool assigned = false;
  bool at_eof = false;
};

class KafkaSource final : public Source {
 public:
  explicit KafkaSource(const SourceConfig& c)
      : config_(c), kafka_(config_.options_as<KafkaSourceOptions>()) {
    buf_.resize(64 * 1024 + simdjson::SIMDJSON_PADDING);
  }
  ~KafkaSource() override {
    close();
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  const SourceConfig& config() const override { return config_; }
  std::string identity() const override { return "kafka"; }
  bool connected() const override { return joined_; }

  bool at_end() const override {
    if (!joined_) return false;
    size_t assigned = 0;
    for (const auto& [k, p] : partitions_) {
      if (!p.assigned) continue;
      ++assigned;
      if (!p.at_eof) return false;
    }
    return assigned > 0;
  }

  std::shared_ptr<const SourceStatus> status() const override {
    auto status = std::make_shared<KafkaSourceStatus>();
    for (const auto& [k, p] : partitions_) {
      if (!p.assigned) continue;
      KafkaPartitionStatus v;
      v.topic = k.topic;
      v.partition = k.partition;
      v.next_offset = p.next_offset;
      int64_t low = 0, high = -1;
      // The high watermark cached from fetch responses: no broker round trip.
      if (rk_ != nullptr &&
          rd_kafka_get_watermark_offsets(rk_, k.topic.c_str(), k.partition, &low, &high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          high >= 0) {
        const int64_t from = p.next_offset >= 0 ? p.next_offset : low;
        v.lag = std::max<int64_t>(0, high - from);
      }
      status->partitions.push_back(std::move(v));
    }
    return status;
  }

  // Every partition ever read or restored, with its next offset: a
  // partition owned by another member now keeps its offset, so a restart
  // that gets it back resumes where this state stopped.
  std::string save_position() const override {
    ByteWriter w;
    uint64_t n = 0;
    for (const auto& [k, p] : partitions_) n += p.next_offset >= 0;
    w.u64(n);
    for (const auto& [k, p] : partitions_) {
      if (p.next_offset < 0) continue;
      w.str(k.topic);
      w.u32(static_cast<uint32_t>(k.partition));
      w.i64(p.next_offset);
    }
    return std::move(w.bytes());
  }

  Status open(const std::string* saved_position) override {
    if (saved_position != nullptr) {
      ByteReader r(*saved_position);
      const uint64_t n = r.count(8 + 4 + 8);
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        PartitionKey k;
        k.topic = r.str();
        k.partition = static_cast<int32_t>(r.u32());
        const int64_t next = r.i64();
        if (r.ok()) partitions_[k].next_offset = next;
      }
      if (!r.ok() || !r.at_end()) {
        return Error{"source " + config_.name +
                     ": the checkpoint's Kafka offsets are malformed: " + r.error()};
      }
    }
    // The checkpoint holds the offsets; Kafka's are written after it.
    KafkaProperties properties = {{"bootstrap.servers", kafka_.brokers},
                                  {"group.id", kafka_.group_id},
                                  {"client.id", "driftd-" + config_.name},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"enable.partition.eof", "true"},
                                  {"auto.offset.reset", config_.from_end ? "latest" : "earliest"}};
    properties.insert(properties.end(), kafka_.kafka_properties.begin(),
                      kafka_.kafka_properties.end());
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (auto st = set_kafka_properties(conf, properties); !st) {
      rd_kafka_conf_destroy(conf);
      return Error{"source " + config_.name + ": kafka property " + st.error().message};
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaSource::on_rebalance);
    rd_kafka_conf_set_error_cb(conf, &KafkaSource::on_error);
    rd_kafka_conf_set_log_cb(conf, &KafkaSource::on_log);
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk_ == nullptr) {
      return Error{"source " + config_.name + ": cannot create the Kafka consumer: " + err};
    }
    rd_kafka_poll_set_consumer(rk_);
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(static_cast<int>(kafka_.topics.size()));
    for (const auto& t : kafka_.topics) {
      rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    const rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{"source " + config_.name + ": cannot subscribe: " + rd_kafka_err2str(e)};
    }
    jlog(spdlog::level::info, "source {}: joining group {} on {} for topics {}", config_.name,
         kafka_.group_id, kafka_.brokers, fmt::join(kafka_.topics, ","));
    return {};
  }

  bool poll(LineHandler& handler) override {
    if (rk_ == nullptr || closed_) return false;
    bool any = false;
    for (int i = 0; i < kMaxMessagesPerPoll; ++i) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 0);
      if (m == nullptr) break;
      handle(m, handler, any);
      rd_kafka_message_destroy(m);
    }
    return any;
  }

  void checkpointed() override {
    // Commit what the checkpoint made durable, for lag tools and for the
    // next owner of a partition; asynchronous, its result is not needed.
    if (rk_ == nullptr || closed_) return;
    rd_kafka_topic_partition_list_t* list = assigned_offsets();
    // Before a revoke the commit is synchronous: the partition's next owner
    // reads the committed offset as soon as the rebalance completes.
    if (list->cnt > 0) {
      const rd_kafka_resp_err_t e = rd_kafka_commit(rk_, list, revoking_ ? 0 : 1);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        jlog(spdlog::level::warn, "source {}: offset commit failed: {}", config_.name,
             rd_kafka_err2str(e));
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  void close() override {
    if (rk_ == nullptr || closed_) return;
    // close() follows the final checkpoint: commit its offsets synchronously.
    revoking_ = true;
    checkpointed();
    revoking_ = false;
    closing_ = true;  // the revoke during close needs no second checkpoint
    rd_kafka_consumer_close(rk_);
    closed_ = true;
  }

 private:
  void handle(rd_kafka_message_t* m, LineHandler& handler, bool& any) {
    const char* topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      state_of(topic, m->partition).at_eof = true;
      return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++consume_errors_;
      if (consume_errors_ <= 20 || consume_errors_ % 1000 == 0) {
        jlog(spdlog::level::warn, "source {}: {} [{}]: {} ({} consume errors so far)", config_.name,
             topic, m->partition, rd_kafka_message_errstr(m), consume_errors_);
      }
      return;
    }
    any = true;
    PartitionState& p = state_of(topic, m->partition);
    p.at_eof = false;
    const size_t len = m->len;
    if (buf_.size() < len + simdjson::SIMDJSON_PADDING) {
      buf_.resize(len + simdjson::SIMDJSON_PADDING);
    }
    if (len > 0) std::memcpy(buf_.data(), m->payload, len);
    std::memset(buf_.data() + len, 0, simdjson::SIMDJSON_PADDING);
    const LineOrigin origin{static_cast<uint64_t>(m->offset), topic, m->partition, {}};
    // One event, or several newline-separated ones.
    size_t start = 0;
    while (start < len) {
      const void* nl = std::memchr(buf_.data() + start, '\n', len - start);
      const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - buf_.data()) : len;
      size_t line_len = end - start;
      if (line_len > 0 && buf_[start + line_len - 1] == '\r') --line_len;
      bool blank = true;
      for (size_t i = start; i < start + line_len && blank; ++i) {
        blank = buf_[i] == ' ' || buf_[i] == '\t';
      }
      if (!blank) handler.on_line(buf_.data() + start, line_len, buf_.size() - start, origin);
      start = end + 1;
    }
    p.next_offset = m->offset + 1;
  }

  PartitionState& state_of(const char* topic, int32_t partition) {
    // Messages come in runs per partition: the last one found is cached.
    if (last_ != nullptr && last_partition_ == partition && last_topic_ == topic) return *last_;
    last_topic_ = topic;
    last_partition_ = partition;
    last_ = &partitions_[PartitionKey{topic, partition}];
    return *last_;
  }

  rd_kafka_topic_partition_list_t* assigned_offsets() const {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(4);
    for (const auto& [k, p] : partitions_) {
      if (!p.assigned || p.next_offset < 0) continue;
      rd_kafka_topic_partition_list_add(list, k.topic.c_str(), k.partition)->offset = p.next_offset;
    }
    return list;
  }

  void assign(rd_kafka_topic_partition_list_t* list) {
    // The offsets committed to Kafka, to compare with the checkpoint's.
    rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_copy(list);
    const rd_kafka_resp_err_t ce = rd_kafka_committed(rk_, committed, kCommittedQueryTimeoutMs);
    if (ce != RD_KAFKA_RESP_ERR_NO_ERROR) {
      jlog(spdlog::level::warn,
           "source {}: cannot read committed offsets ({}): using the "
           "checkpoint's",
           config_.name, rd_kafka_err2str(ce));
    }
    for (int i = 0; i < list->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = list->elems[i];
      PartitionState& p = partitions_[PartitionKey{tp.topic, tp.partition}];
      p.assigned = true;
      p.at_eof = false;
      int64_t kafka = RD_KAFKA_OFFSET_INVALID;
      if (ce == RD_KAFKA_RESP_ERR_NO_ERROR && committed->elems[i].err == 0) {
        kafka = committed->elems[i].offset;
      }
      int64_t from = p.next_offset >= 0 ? p.next_offset : RD_KAFKA_OFFSET_INVALID;
      if (kafka >= 0 && kafka > from) {
        if (from >= 0) {
          jlog(spdlog::level::info,
               "source {}: {} [{}]: another member read up to {}, past this checkpoint's {}",
               config_.name, tp.topic, tp.partition, kafka, from);
        }
        from = kafka;
      }
      // RD_KAFKA_OFFSET_INVALID: no offset anywhere, auto.offset.reset decides.
      tp.offset = from;
      if (from >= 0) p.next_offset = from;
      jlog(spdlog::level::info, "source {}: assigned {} [{}] from offset {}", config_.name,
           tp.topic, tp.partition,
           from >= 0 ? std::to_string(from) : std::string(config_.from_end ? "end" : "beginning"));
    }
    rd_kafka_topic_partition_list_destroy(committed);
    last_ = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_assign(rk_, list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      jlog(spdlog::level::err, "source {}: assign failed: {}", config_.name, rd_kafka_err2str(e));
    }
    joined_ = true;
  }

  void revoke(const rd_kafka_topic_partition_list_t* list) {
    revoking_ = true;
    if (!closing_ && before_revoke) before_revoke();  // checkpoint and commit, then let go
    revoking_ = false;
    jlog(spdlog::level::info, "source {}: {} partition(s) revoked{}", config_.name, list->cnt,
         closing_ ? "" : " after a checkpoint");
    for (auto& [k, p] : partitions_) {
      p.assigned = false;
      p.at_eof = false;
    }
    last_ = nullptr;
    rd_kafka_assign(rk_, nullptr);
  }

  static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* list, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->assign(list);
    } else {
      self->revoke(list);
    }
  }

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    // Transient errors (a broker down, a timeout) are retried by librdkafka.
    jlog(spdlog::level::warn, "source {}: kafka: {}: {}", self->config_.name,
         rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  }

  // librdkafka's own log lines, as JSON lines. Errors reach on_error too,
  // so they are kept at debug here to be logged once.
  static void on_log(const rd_kafka_t*, int syslog_level, const char* facility, const char* buf) {
    const auto level = syslog_level == 4 ? spdlog::level::warn : spdlog::level::debug;
    jlog(level, "kafka {}: {}", facility, buf);
  }

  SourceConfig config_;
  const KafkaSourceOptions& kafka_;  // *config_.options
  rd_kafka_t* rk_ = nullptr;
  std::map<PartitionKey, PartitionState> partitions_;
  std::string last_topic_;
  int32_t last_partition_ = -1;
  PartitionState* last_ = nullptr;
  std::vector<char> buf_;
  uint64_t consume_errors_ = 0;
  bool joined_ = false, closing_ = false, closed_ = false, revoking_ = false;
};

}  // namespace

std::unique_ptr<Source> make_kafka_source(const SourceConfig& config) {
  return std::make_unique<KafkaSource>(config);
}

// ---- its registration: config keys, checks, metrics ---------------------------

Status read_kafka_source(TableReader& r, SourceConfig& s) {
  DRIFTD_TRY(read_replay_keys(r, s, /*close_windows_at_end=*/false));
  KafkaSourceOptions o;
  DRIFTD_TRY(r.str("brokers", o.brokers));
  DRIFTD_TRY(r.str("group_id", o.group_id));
  if (const toml::node* n = r.node("topics")) {
    const toml::array* a = n->as_array();
    if (a == nullptr || a->empty()) {
      return Error{r.where(*n, "topics") + ": expected a non-empty array of topic names"};
    }
    for (const auto& e : *a) {
      auto v = e.value<std::string>();
      if (!v || v->empty()) return Error{r.where(e, "topics") + ": expected a topic name"};
      o.topics.push_back(*v);
    }
  }
  if (const toml::node* n = r.node("kafka")) {
    const toml::table* props = n->as_table();
    if (props == nullptr) {
      return Error{r.where(*n, "kafka") + ": expected a table of librdkafka properties"};
    }
    for (const auto& [k, v] : *props) {
      std::string value;
      if (auto str = v.value<std::string>()) {
        value = *str;
      } else if (auto i = v.value_exact<int64_t>()) {
        value = std::to_string(*i);
      } else if (auto b = v.value_exact<bool>()) {
        value = *b ? "true" : "false";
      } else {
        return Error{r.where(v, "kafka." + std::string(k.str())) +
                     ": expected a string, integer or boolean"};
      }
      o.kafka_properties.emplace_back(std::string(k.str()), value);
    }
    // librdkafka checks names and values now, not at the first connection.
    if (auto st = check_kafka_properties(o.kafka_properties); !st) {
      return Error{r.where(*n, "kafka") + ": " + st.error().message};
    }
  }
  s.options = std::make_shared<KafkaSourceOptions>(std::move(o));
  return {};
}

Status check_kafka_source(const TableReader& r, SourceConfig& s) {
  const auto& o = s.options_as<KafkaSourceOptions>();
  if (o.brokers.empty()) return Error{r.where_table() + ": brokers is required for a kafka source"};
  if (o.topics.empty()) return Error{r.where_table() + ": topics is required for a kafka source"};
  if (o.group_id.empty()) return Error{r.where_table() + ": group_id must not be empty"};
  if (s.name.empty()) s.name = "kafka:" + o.topics.front();
  return {};
}

std::unique_ptr<Source> make_kafka_source_of(const SourceConfig& s, const SourceContext&) {
  return make_kafka_source(s);
}

void kafka_source_metrics(std::span<const SourceCounters* const> sources,
                          std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  prometheus::MetricFamily next_offset = metric_family(
      "driftd_kafka_partition_next_offset",
      "Kafka source: the next offset to read in an assigned partition", MetricType::Gauge);
  prometheus::MetricFamily lag =
      metric_family("driftd_kafka_consumer_lag_messages",
                    "Kafka source: high watermark minus the next offset, per assigned partition",
                    MetricType::Gauge);
  for (const SourceCounters* s : sources) {
    const auto* status = s->status_as<KafkaSourceStatus>();
    if (status == nullptr) continue;  // not published yet
    for (const auto& part : status->partitions) {
      const std::vector<prometheus::ClientMetric::Label> l = {
          {"source", s->name},
          {"topic", part.topic},
          {"partition", std::to_string(part.partition)}};
      if (part.next_offset >= 0) add_sample(next_offset, static_cast<double>(part.next_offset), l);
      if (part.lag >= 0) add_sample(lag, static_cast<double>(part.lag), l);
    }
  }
  out.push_back(std::move(next_offset));
  out.push_back(std::move(lag));
}

}  // namespace driftd
