// librdkafka configurations, set with checks. The kafka source's consumer
// and the kafka sink's producer set their properties here, and config load
// checks users' properties here (on a scratch configuration), so that a
// property librdkafka refuses is a config error, not a surprise at start.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "driftd/common/result.h"

namespace driftd {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Sets each in order; the first one refused is an error "KEY: reason".
Status set_kafka_properties(rd_kafka_conf_t* conf, const KafkaProperties& properties);

// Whether librdkafka takes them all.
Status check_kafka_properties(const KafkaProperties& properties);

}  // namespace driftd
