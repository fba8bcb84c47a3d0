// The source types: one line each (each type's description is in its
// folder's header: its keys, reader, checks, maker, metrics).
#include "src/sources/file/file_source.h"
#include "src/sources/http/http_source.h"
#include "src/sources/kafka/kafka_source.h"

namespace driftd {

namespace {
constexpr const SourceType* kSourceTypes[] = {
    &kFileSourceType,
    &kKafkaSourceType,
    &kHttpSourceType,
};
}  // namespace

std::span<const SourceType* const> source_types() {
  return kSourceTypes;
}

}  // namespace driftd
