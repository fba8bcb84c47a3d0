#include "src/common/kafka_conf.h"

namespace driftd {

Status set_kafka_properties(rd_kafka_conf_t* conf, const KafkaProperties& properties) {
  char err[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return Error{key + ": " + err};
    }
  }
  return {};
}

Status check_kafka_properties(const KafkaProperties& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Status st = set_kafka_properties(conf, properties);
  rd_kafka_conf_destroy(conf);
  return st;
}

}  // namespace driftd
