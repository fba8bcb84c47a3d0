// Fuzz target: what the sinks read. A notification body as the outbox
// hands it out (the outbox is a file: it may hold anything) turned into an
// Alertmanager alert, a Slack message and an Airflow DAG run; and a
// Retry-After header value. Besides memory errors, it aborts when a body
// the sinks accept makes a request that is not JSON.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "alerts/http/http_post.h"
#include "alerts/sinks/airflow/airflow.h"
#include "alerts/sinks/alertmanager/alertmanager.h"
#include "alerts/sinks/slack/slack.h"

namespace {

void must_be_json(const std::string& text) {
  static simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(text).get(e) != simdjson::SUCCESS) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  constexpr int64_t kNow = 1796212800000;
  if (auto a = driftd::alerts::alertmanager_alert_json(body, kNow, 240'000)) must_be_json(*a);
  if (auto m = driftd::alerts::slack_message_json(body, "#c")) must_be_json(*m);
  if (auto d = driftd::alerts::airflow_dag_run_json(body)) must_be_json(*d);
  if (auto ms = driftd::alerts::parse_retry_after(body, kNow); ms && *ms < 0) std::abort();
  (void)driftd::alerts::airflow_run_id(body);
  return 0;
}
