// The HTTP source: events POSTed to the daemon's server (/v1/predictions,
// /v1/labels), judged and made durable by the ingest queue (http_ingest.h),
// its position the next ingest-log sequence number to apply.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "src/sources/http/http_ingest.h"
#include "src/sources/source.h"

namespace driftd {

// The ingest thread's side: a Source over the queue.
std::unique_ptr<Source> make_http_source(const SourceConfig& config,
                                         std::shared_ptr<IngestQueue> queue,
                                         const std::string& state_dir);

// The queue's metrics (the server reads them at scrape time).
std::vector<prometheus::MetricFamily> ingest_metric_families(const IngestQueue& queue);

// Its registration (registry.cc).
inline constexpr std::string_view kHttpSourceKeys =
    "durable, max_body_bytes, queue_bytes, segment_bytes, log_dir";
Status read_http_source(TableReader& r, SourceConfig& s);
Status check_http_source(const TableReader& r, SourceConfig& s);
std::unique_ptr<Source> make_http_source_of(const SourceConfig& s, const SourceContext& context);

inline constexpr SourceType kHttpSourceType = {
    .type = "http",
    .keys = kHttpSourceKeys,
    .read = read_http_source,
    .check = check_http_source,
    .make = make_http_source_of,
    .one_only = "the server has one /v1/predictions endpoint",
};

}  // namespace driftd
