#include "alerts/sinks/airflow/airflow.h"

#include <xxhash.h>

#include <cstdio>

#include "alerts/http/http_post.h"
#include "alerts/sinks/body_fields.h"
#include "driftd/io/base64.h"
#include "driftd/io/json_writer.h"

namespace driftd::alerts {

namespace {

bool run_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '~' || c == ':' || c == '+' || c == '-';
}

class AirflowSink final : public Sink {
 public:
  AirflowSink(SinkSettings settings, HttpTarget target)
      : settings_(std::move(settings)), target_(std::move(target)) {}

  Delivery deliver(const OutboxItem& item) override {
    if (item.kind != "trigger") {
      return {Delivery::Outcome::kDelivered, "not a trigger: nothing sent", -1};
    }
    auto body = airflow_dag_run_json(item.body);
    if (!body) {
      return {Delivery::Outcome::kReject, "cannot read the trigger: " + body.error().message, -1};
    }
    HttpPost p;
    p.body = std::move(*body);
    static constexpr long kRunExists[] = {409};
    return http_.post(target_, p, settings_.timeout_ms, kRunExists);
  }

 private:
  SinkSettings settings_;
  HttpTarget target_;
  HttpClient http_;
};

}  // namespace

std::string airflow_run_id(std::string_view key) {
  std::string out = "driftd__";
  for (char c : key.substr(0, 180)) out += run_id_char(c) ? c : '_';
  char hash[24];
  std::snprintf(hash, sizeof hash, "__%016llx",
                static_cast<unsigned long long>(XXH3_64bits(key.data(), key.size())));
  return out + hash;
}

Result<std::string> airflow_dag_run_json(std::string_view trigger_body) {
  Body body(trigger_body);
  if (!body.ok) return Error{"not JSON"};
  std::string_view key;
  if (!get_if(body.doc["idempotency_key"], key)) {
    return Error{"a trigger without idempotency_key"};
  }
  JsonWriter j(-1);
  j.begin_object();
  j.key("dag_run_id").value(airflow_run_id(key));
  j.key("conf").raw_value(trigger_body);
  j.key("note").value("started by driftd: " + std::string(key));
  j.end_object();
  return std::move(j.str());
}

Result<std::shared_ptr<Sink>> make_airflow_sink(TableReader& r, const SinkSettings& settings,
                                                const std::string&) {
  HttpTarget target;
  DRIFTD_TRY(read_http_target(r, target));
  std::string dag_id, username;
  DRIFTD_TRY(r.str("dag_id", dag_id));
  DRIFTD_TRY(r.str("username", username));
  if (dag_id.empty()) return Error{r.where_table() + ": dag_id is required"};
  for (char c : dag_id) {
    if (!run_id_char(c) || c == '~' || c == ':' || c == '+') {
      return Error{r.where(*r.table().get("dag_id"), "dag_id") +
                   ": a DAG id holds letters, digits, '_', '.' and '-' only"};
    }
  }
  auto password = read_secret(r, "password", false);
  if (!password) return password.error();
  auto token = read_secret(r, "bearer_token", false);
  if (!token) return token.error();
  if (!username.empty() && password->empty()) {
    return Error{r.where_table() + ": username needs password_env or password_file"};
  }
  if (username.empty() && !password->empty()) {
    return Error{r.where_table() + ": a password needs a username"};
  }
  if (!username.empty() && !token->empty()) {
    return Error{r.where_table() + ": give basic authentication or a bearer token, not both"};
  }
  if (!username.empty()) {
    const std::string credentials = username + ":" + *password;
    std::string encoded;
    base64_append(encoded, std::span<const unsigned char>(
                               reinterpret_cast<const unsigned char*>(credentials.data()),
                               credentials.size()));
    target.headers.push_back("Authorization: Basic " + encoded);
  } else if (!token->empty()) {
    target.headers.push_back("Authorization: Bearer " + *token);
  }
  if (target.url.back() == '/') target.url.pop_back();
  target.url += "/api/v1/dags/" + dag_id + "/dagRuns";
  return std::shared_ptr<Sink>(std::make_shared<AirflowSink>(settings, std::move(target)));
}

}  // namespace driftd::alerts
