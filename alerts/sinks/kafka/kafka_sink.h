// The kafka sink: alerts and triggers as JSON messages to a topic, keyed by
// model name (so one model's notifications stay in one partition, in
// order), with the notification's key in a `driftd-key` header for
// consumers that drop repeats (delivery is at least once). A librdkafka
// producer, idempotent by default, made at the first delivery; its
// properties are checked at load. A message is retried until the broker
// acknowledges it (acks=all), within the sink's timeout per attempt.
#pragma once

#include <string>
#include <string_view>

#include "alerts/sinks/sink.h"

namespace driftd::alerts {

inline constexpr std::string_view kKafkaSinkKeys = "brokers, topic, properties";

Result<std::shared_ptr<Sink>> make_kafka_sink(TableReader& r, const SinkSettings& settings,
                                              const std::string& state_dir);

}  // namespace driftd::alerts
