// The Kafka source: a librdkafka consumer group on one or more topics, its
// position the next offset of every assigned partition (kafka_source.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/sources/source.h"

namespace driftd {

// Its keys ([[sources]] with type = "kafka").
struct KafkaSourceOptions final : SourceOptionsOf<KafkaSourceOptions> {
  std::string brokers;  // bootstrap.servers
  std::vector<std::string> topics;
  std::string group_id = "driftd";
  std::vector<std::pair<std::string, std::string>> kafka_properties;  // passed to librdkafka
  bool operator==(const KafkaSourceOptions&) const = default;
};

// What its metrics show (Source::status()): the assigned partitions.
struct KafkaPartitionStatus {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = -1;  // -1: nothing read yet
  int64_t lag = -1;          // high watermark - next offset; -1: unknown
};
struct KafkaSourceStatus final : SourceStatus {
  std::vector<KafkaPartitionStatus> partitions;
};

std::unique_ptr<Source> make_kafka_source(const SourceConfig& config);

// Its registration (registry.cc).
inline constexpr std::string_view kKafkaSourceKeys =
    "brokers, topics, group_id, start, replay_speed, close_windows_at_end, kafka";
Status read_kafka_source(TableReader& r, SourceConfig& s);
Status check_kafka_source(const TableReader& r, SourceConfig& s);
std::unique_ptr<Source> make_kafka_source_of(const SourceConfig& s, const SourceContext& context);
void kafka_source_metrics(std::span<const SourceCounters* const> sources,
                          std::vector<prometheus::MetricFamily>& out);

inline constexpr SourceType kKafkaSourceType = {
    .type = "kafka",
    .keys = kKafkaSourceKeys,
    .read = read_kafka_source,
    .check = check_kafka_source,
    .make = make_kafka_source_of,
    .metrics = kafka_source_metrics,
};

}  // namespace driftd
