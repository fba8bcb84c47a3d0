// One home for the HTTP sinks' delivery (webhook, alertmanager, slack,
// airflow): a POST through libcurl with a timeout, certificates verified,
// no redirects followed, and the answer sorted the same way for all of
// them: 2xx delivered; 408, 429, 5xx and network errors tried again
// (honouring Retry-After, RFC 9110 section 10.2.3); any other status refused
// for good, with the answer's first bytes kept for the dead letter.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/sinks/sink.h"

typedef void CURL;

namespace driftd::alerts {

struct HttpPost {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::string content_type = "application/json";
};

// What the HTTP sinks' tables share.
struct HttpTarget {
  std::string url;
  std::string shown;                 // the URL in messages (empty: url); a secret URL is not shown
  std::vector<std::string> headers;  // from the table's `headers`
  std::string ca_file;
};
// Reads url (http:// or https://), headers and ca_file.
Status read_http_target(TableReader& r, HttpTarget& out);
// Reads headers and ca_file only.
Status read_http_options(TableReader& r, HttpTarget& out);
// Reads a secret from `<name>_env` (an environment variable's name) or
// `<name>_file` (a file's first line); `required` when one must be given.
// Empty when neither is and it is optional. Never logged.
Result<std::string> read_secret(TableReader& r, std::string_view name, bool required);

class HttpClient {
 public:
  HttpClient() = default;
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `also_delivered`: statuses that count as done besides 2xx (Airflow's
  // 409 for a DAG run that already exists).
  Delivery post(const HttpTarget& target, const HttpPost& request, int64_t timeout_ms,
                std::span<const long> also_delivered = {});

 private:
  CURL* curl_ = nullptr;  // one per sink: connections reused
};

// A Retry-After value: delay-seconds or an HTTP date, as milliseconds from
// `now_ms`; nullopt when it is neither.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_ms);

}  // namespace driftd::alerts
