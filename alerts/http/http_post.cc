#include "alerts/http/http_post.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>

namespace driftd::alerts {

namespace {

void global_curl_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Reply {
  std::string body;  // its first bytes
  std::optional<int64_t> retry_after_ms;
};

constexpr size_t kReplyKept = 512;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reply*>(user);
  const size_t len = size * n;
  if (r->body.size() < kReplyKept) r->body.append(data, std::min(len, kReplyKept - r->body.size()));
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reply*>(user);
  const size_t len = size * n;
  constexpr std::string_view kName = "retry-after:";
  const std::string_view line(data, len);
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) r->retry_after_ms = parse_retry_after(line.substr(kName.size()), wall_ms());
  }
  return len;
}

}  // namespace

std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' ||
                            value.back() == '\t')) {
    value.remove_suffix(1);
  }
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    uint64_t secs = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec == std::errc::result_out_of_range) return int64_t{365} * 86'400'000;  // "forever"
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return static_cast<int64_t>(std::min<uint64_t>(secs, uint64_t{365} * 86'400)) * 1000;
  }
  // An HTTP date (IMF-fixdate or the obsolete forms curl_getdate reads).
  if (value.size() > 64) return std::nullopt;
  const std::string text(value);
  const time_t at = curl_getdate(text.c_str(), nullptr);
  if (at <= 0) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(at) * 1000 - now_ms);
}

Status read_http_target(TableReader& r, HttpTarget& out) {
  DRIFTD_TRY(r.str("url", out.url));
  if (out.url.rfind("http://", 0) != 0 && out.url.rfind("https://", 0) != 0) {
    const toml::node* n = r.table().get("url");
    return Error{(n ? r.where(*n, "url") : r.where_table()) +
                 ": expected an http:// or https:// URL"};
  }
  return read_http_options(r, out);
}

Status read_http_options(TableReader& r, HttpTarget& out) {
  DRIFTD_TRY(r.str("ca_file", out.ca_file));
  std::vector<std::pair<std::string, std::string>> headers;
  DRIFTD_TRY(r.string_table("headers", headers));
  const toml::table& t = r.table();
  for (const auto& [k, v] : headers) {
    for (char c : k + v) {
      if (c == '\r' || c == '\n') {
        return Error{r.where(*t.get("headers"), "headers") + ": a header has a line break"};
      }
    }
    out.headers.push_back(k + ": " + v);
  }
  return {};
}

Result<std::string> read_secret(TableReader& r, std::string_view name, bool required) {
  const std::string env_key = std::string(name) + "_env", file_key = std::string(name) + "_file";
  std::string env, file;
  DRIFTD_TRY(r.str(env_key, env));
  DRIFTD_TRY(r.str(file_key, file));
  const toml::table& t = r.table();
  if (!env.empty() && !file.empty()) {
    return Error{r.where_table() + ": give " + env_key + " or " + file_key + ", not both"};
  }
  if (env.empty() && file.empty()) {
    if (!required) return std::string();
    return Error{r.where_table() + ": give the " + std::string(name) + " as " + env_key +
                 " (an environment variable's name) or " + file_key + " (a file's path)"};
  }
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || *v == '\0') {
      return Error{r.where(*t.get(env_key), env_key) + ": the environment variable " + env +
                   " is not set"};
    }
    return std::string(v);
  }
  // Its first line, read from at most its first 4 KiB (a path such as
  // /dev/zero must not hang the start-up).
  std::ifstream in(file, std::ios::binary);
  char buf[4096];
  in.read(buf, sizeof buf);
  const std::string_view head(buf, in ? sizeof buf : static_cast<size_t>(in.gcount()));
  std::string secret(head.substr(0, head.find('\n')));
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) {
    return Error{r.where(*t.get(file_key), file_key) + ": " + file +
                 " cannot be read or its first line is empty"};
  }
  return secret;
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
}

Delivery HttpClient::post(const HttpTarget& target, const HttpPost& request, int64_t timeout_ms,
                          std::span<const long> also_delivered) {
  global_curl_init();
  if (curl_ == nullptr) curl_ = curl_easy_init();
  if (curl_ == nullptr) return {Delivery::Outcome::kRetry, "curl_easy_init failed", -1};
  curl_easy_reset(curl_);
  curl_slist* list = nullptr;
  list = curl_slist_append(list, ("Content-Type: " + request.content_type).c_str());
  for (const auto& h : target.headers) list = curl_slist_append(list, h.c_str());
  for (const auto& h : request.headers) list = curl_slist_append(list, h.c_str());
  const std::string& url = request.url.empty() ? target.url : request.url;
  Reply reply;
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_POST, 1L);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl_, CURLOPT_USERAGENT, "driftd/" DRIFTD_VERSION);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!target.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, target.ca_file.c_str());
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &reply);
  const CURLcode rc = curl_easy_perform(curl_);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    const std::string& shown = !request.url.empty() || target.shown.empty() ? url : target.shown;
    return {Delivery::Outcome::kRetry, "POST " + shown + ": " + curl_easy_strerror(rc), -1};
  }
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  std::string detail = "HTTP " + std::to_string(status);
  if (!reply.body.empty()) detail += ": " + reply.body;
  if ((status >= 200 && status < 300) ||
      std::find(also_delivered.begin(), also_delivered.end(), status) != also_delivered.end()) {
    return {Delivery::Outcome::kDelivered, detail, -1};
  }
  if (status == 408 || status == 429 || status >= 500 || status < 200) {
    return {Delivery::Outcome::kRetry, detail, reply.retry_after_ms.value_or(-1)};
  }
  return {Delivery::Outcome::kReject, detail, -1};
}

}  // namespace driftd::alerts
