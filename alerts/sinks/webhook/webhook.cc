#include "alerts/sinks/webhook/webhook.h"

#include <curl/curl.h>
#include <openssl/hmac.h>
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>

#include "driftd/base64.h"

namespace driftd::alerts {

std::optional<std::vector<unsigned char>> webhook_key(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) == kPrefix) {
    return base64_decode(secret.substr(kPrefix.size()));
  }
  return std::vector<unsigned char>(secret.begin(), secret.end());
}

std::string webhook_signature(std::span<const unsigned char> key, std::string_view id,
                              int64_t timestamp, std::string_view body) {
  const std::string signed_content =
      std::string(id) + "." + std::to_string(timestamp) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac,
       &mac_len);
  std::string out = "v1,";
  base64_append(out, std::span<const unsigned char>(mac, mac_len));
  return out;
}

std::string webhook_message_id(std::string_view notification_key) {
  const XXH128_hash_t h = XXH3_128bits(notification_key.data(), notification_key.size());
  char buf[40];
  std::snprintf(buf, sizeof buf, "msg_%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

namespace {

void global_curl_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Reply {
  std::string body;  // its first bytes
  int64_t retry_after_ms = -1;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reply*>(user);
  const size_t len = size * n;
  if (r->body.size() < 512) r->body.append(data, std::min(len, 512 - r->body.size()));
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reply*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string head(line.substr(0, kName.size()));
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == kName) {
      std::string value(line.substr(kName.size()));
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      char* end = nullptr;
      const long secs = std::strtol(value.c_str(), &end, 10);
      if (end != value.c_str() && secs >= 0) {
        r->retry_after_ms = static_cast<int64_t>(secs) * 1000;
      } else if (const time_t at = curl_getdate(value.c_str(), nullptr); at > 0) {
        // An HTTP date: from now.
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        r->retry_after_ms = std::max<int64_t>(0, static_cast<int64_t>(at) * 1000 - now);
      }
    }
  }
  return len;
}

class WebhookSink final : public Sink {
 public:
  WebhookSink(SinkSettings settings, std::string url, std::vector<unsigned char> key,
              std::vector<std::string> headers, std::string ca_file)
      : settings_(std::move(settings)),
        url_(std::move(url)),
        key_(std::move(key)),
        headers_(std::move(headers)),
        ca_file_(std::move(ca_file)) {}
  ~WebhookSink() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  Delivery deliver(const OutboxItem& item) override {
    global_curl_init();
    if (curl_ == nullptr) curl_ = curl_easy_init();  // one per sink: connections reused
    if (curl_ == nullptr) return {Delivery::Outcome::kRetry, "curl_easy_init failed", -1};
    curl_easy_reset(curl_);
    const std::string id = webhook_message_id(item.key);
    const int64_t timestamp = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    curl_slist* list = nullptr;
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, ("webhook-id: " + id).c_str());
    list = curl_slist_append(list, ("webhook-timestamp: " + std::to_string(timestamp)).c_str());
    list = curl_slist_append(
        list, ("webhook-signature: " + webhook_signature(key_, id, timestamp, item.body)).c_str());
    for (const auto& h : headers_) list = curl_slist_append(list, h.c_str());
    Reply reply;
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, item.body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(item.body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "driftd/" DRIFTD_VERSION);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout_ms));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.timeout_ms));
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!ca_file_.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &reply);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
      return {Delivery::Outcome::kRetry,
              std::string("POST ") + url_ + ": " + curl_easy_strerror(rc), -1};
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    std::string detail = "HTTP " + std::to_string(status);
    if (!reply.body.empty()) detail += ": " + reply.body;
    if (status >= 200 && status < 300) return {Delivery::Outcome::kDelivered, detail, -1};
    if (status == 408 || status == 429 || status >= 500 || status < 200) {
      return {Delivery::Outcome::kRetry, detail, reply.retry_after_ms};
    }
    return {Delivery::Outcome::kReject, detail, -1};
  }

 private:
  SinkSettings settings_;
  std::string url_;
  std::vector<unsigned char> key_;
  std::vector<std::string> headers_;
  std::string ca_file_;
  CURL* curl_ = nullptr;
};

}  // namespace

Result<std::shared_ptr<Sink>> make_webhook_sink(TableReader& r, const SinkSettings& settings,
                                                const std::string&) {
  std::string url, secret_env, secret_file, ca_file;
  DRIFTD_TRY(r.str("url", url));
  DRIFTD_TRY(r.str("secret_env", secret_env));
  DRIFTD_TRY(r.str("secret_file", secret_file));
  DRIFTD_TRY(r.str("ca_file", ca_file));
  std::vector<std::pair<std::string, std::string>> headers;
  DRIFTD_TRY(r.string_table("headers", headers));
  const toml::table& t = r.table();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    const toml::node* n = t.get("url");
    return Error{(n ? r.where(*n, "url") : r.where_table()) +
                 ": expected an http:// or https:// URL"};
  }
  if (secret_env.empty() == secret_file.empty()) {
    return Error{r.where_table() +
                 ": give the signing secret as secret_env (an environment variable's name) or "
                 "secret_file (a file's path), one of them"};
  }
  std::string secret;
  if (!secret_env.empty()) {
    const char* v = std::getenv(secret_env.c_str());
    if (v == nullptr || *v == '\0') {
      return Error{r.where(*t.get("secret_env"), "secret_env") + ": the environment variable " +
                   secret_env + " is not set"};
    }
    secret = v;
  } else {
    // Its first line, read from at most its first 4 KiB (a path such as
    // /dev/zero must not hang the start-up).
    std::ifstream in(secret_file, std::ios::binary);
    char buf[4096];
    in.read(buf, sizeof buf);
    const std::string_view head(buf, in ? sizeof buf : static_cast<size_t>(in.gcount()));
    secret = std::string(head.substr(0, head.find('\n')));
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.empty()) {
      return Error{r.where(*t.get("secret_file"), "secret_file") + ": " + secret_file +
                   " cannot be read or its first line is empty"};
    }
  }
  auto key = webhook_key(secret);
  if (!key || key->empty()) {
    return Error{r.where_table() + ": the secret starts with whsec_ but is not base64 after it"};
  }
  std::vector<std::string> lines;
  for (const auto& [k, v] : headers) {
    for (char c : k + v) {
      if (c == '\r' || c == '\n') {
        return Error{r.where(*t.get("headers"), "headers") + ": a header has a line break"};
      }
    }
    lines.push_back(k + ": " + v);
  }
  return std::shared_ptr<Sink>(std::make_shared<WebhookSink>(
      settings, std::move(url), std::move(*key), std::move(lines), std::move(ca_file)));
}

}  // namespace driftd::alerts
