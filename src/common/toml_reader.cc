#include "src/common/toml_reader.h"

#include <charconv>
#include <filesystem>
#include <sstream>

namespace driftd {

Result<toml::table> parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    return Error{os.str()};
  }
}

Result<int64_t> parse_duration_ms(std::string_view text) {
  const char* b = text.data();
  const char* e = b + text.size();
  double value = 0;
  const auto [ptr, ec] = std::from_chars(b, e, value);
  if (ec != std::errc() || ptr == b) {
    return Error{"'" + std::string(text) + "' is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)"};
  }
  const std::string_view unit(ptr, static_cast<size_t>(e - ptr));
  double scale = 0;
  if (unit == "ms") scale = 1;
  if (unit == "s") scale = 1e3;
  if (unit == "m") scale = 60e3;
  if (unit == "h") scale = 3600e3;
  if (unit == "d") scale = 86400e3;
  if (scale == 0) {
    return Error{"'" + std::string(text) + "': unknown unit '" + std::string(unit) +
                 "' (ms, s, m, h, d)"};
  }
  const double ms = value * scale;
  if (!(ms >= 0) || ms > 9e15) return Error{"'" + std::string(text) + "' is out of range"};
  return static_cast<int64_t>(ms);
}

Result<uint64_t> parse_size_bytes(std::string_view text) {
  uint64_t value = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  auto [ptr, ec] = std::from_chars(b, e, value);
  if (ec != std::errc() || ptr == b) {
    return Error{"'" + std::string(text) + "' is not a size (e.g. 512KiB, 8MiB, 1GiB, 1000000)"};
  }
  const std::string_view unit(ptr, static_cast<size_t>(e - ptr));
  uint64_t scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "KiB") scale = 1ull << 10;
  if (unit == "MiB") scale = 1ull << 20;
  if (unit == "GiB") scale = 1ull << 30;
  if (unit == "KB" || unit == "kB") scale = 1000;
  if (unit == "MB") scale = 1000 * 1000;
  if (unit == "GB") scale = 1000 * 1000 * 1000;
  if (scale == 0) {
    return Error{"'" + std::string(text) + "': unknown unit '" + std::string(unit) +
                 "' (B, KiB, MiB, GiB, KB, MB, GB)"};
  }
  if (value > (1ull << 50) / scale) return Error{"'" + std::string(text) + "' is out of range"};
  return value * scale;
}

TableReader::TableReader(const toml::table& t, std::string prefix, const std::string& source)
    : t_(t), prefix_(std::move(prefix)), source_(source) {}

std::string TableReader::where(const toml::node& n, std::string_view key) const {
  return source_ + ":" + std::to_string(n.source().begin.line) + ": " + child(key);
}

std::string TableReader::where_table() const {
  return source_ + ":" + std::to_string(t_.source().begin.line) + ": " + prefix_;
}

std::string TableReader::child(std::string_view key) const {
  return prefix_ + (prefix_.empty() ? "" : ".") + std::string(key);
}

Status TableReader::str(std::string_view key, std::string& out) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  if (auto v = n->value<std::string>()) {
    out = *v;
    return {};
  }
  return Error{where(*n, key) + ": expected a string"};
}

Status TableReader::boolean(std::string_view key, bool& out) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  if (auto v = n->value_exact<bool>()) {
    out = *v;
    return {};
  }
  return Error{where(*n, key) + ": expected true or false"};
}

Status TableReader::number(std::string_view key, double& out) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  if (auto v = n->value<double>()) {
    out = *v;
    return {};
  }
  return Error{where(*n, key) + ": expected a number"};
}

Status TableReader::integer(std::string_view key, int64_t& out) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  if (auto v = n->value_exact<int64_t>()) {
    out = *v;
    return {};
  }
  return Error{where(*n, key) + ": expected an integer"};
}

Status TableReader::duration(std::string_view key, int64_t& out_ms) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  if (auto v = n->value_exact<int64_t>()) {
    out_ms = *v;
    return {};
  }
  if (auto s = n->value<std::string>()) {
    auto d = parse_duration_ms(*s);
    if (!d) return Error{where(*n, key) + ": " + d.error().message};
    out_ms = *d;
    return {};
  }
  return Error{where(*n, key) + ": expected a duration such as \"30s\" or \"5m\""};
}

Status TableReader::bytes(std::string_view key, uint64_t& out) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  if (auto v = n->value_exact<int64_t>()) {
    if (*v < 0) return Error{where(*n, key) + ": must not be negative"};
    out = static_cast<uint64_t>(*v);
    return {};
  }
  if (auto s = n->value<std::string>()) {
    auto d = parse_size_bytes(*s);
    if (!d) return Error{where(*n, key) + ": " + d.error().message};
    out = *d;
    return {};
  }
  return Error{where(*n, key) + ": expected a size such as \"8MiB\" or a number of bytes"};
}

Status TableReader::strings(std::string_view key, std::vector<std::string>& out) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  const toml::array* a = n->as_array();
  if (a == nullptr) return Error{where(*n, key) + ": expected an array of strings"};
  std::vector<std::string> values;
  for (const toml::node& e : *a) {
    auto v = e.value<std::string>();
    if (!v) return Error{where(e, key) + ": expected an array of strings"};
    values.push_back(*v);
  }
  out = std::move(values);
  return {};
}

Status TableReader::string_table(std::string_view key,
                                 std::vector<std::pair<std::string, std::string>>& out) {
  auto t = table(key);
  if (!t) return t.error();
  if (*t == nullptr) return {};
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& [k, v] : **t) {
    auto s = v.value<std::string>();
    if (!s)
      return Error{where(v, std::string(key) + "." + std::string(k.str())) + ": expected a string"};
    values.emplace_back(std::string(k.str()), *s);
  }
  out = std::move(values);
  return {};
}

Result<const toml::table*> TableReader::table(std::string_view key) {
  const toml::node* n = node(key);
  if (n == nullptr) return static_cast<const toml::table*>(nullptr);
  if (const toml::table* t = n->as_table()) return t;
  return Error{where(*n, key) + ": expected a table"};
}

Result<std::vector<const toml::table*>> TableReader::tables(std::string_view key) {
  std::vector<const toml::table*> out;
  const toml::node* n = node(key);
  if (n == nullptr) return out;
  const toml::array* a = n->as_array();
  if (!a || !a->is_array_of_tables()) {
    return Error{where(*n, key) + ": expected [[" + child(key) + "]] tables"};
  }
  for (const toml::node& e : *a) out.push_back(e.as_table());
  return out;
}

const toml::node* TableReader::node(std::string_view key) {
  known_.insert(std::string(key));
  return t_.get(key);
}

Status TableReader::finish(std::string_view expected) const {
  for (const auto& [k, n] : t_) {
    if (!known_.count(k.str())) {
      return Error{where(n, k.str()) + ": unknown key (expected " + std::string(expected) + ")"};
    }
  }
  return {};
}

std::string resolve_config_path(const std::string& config_file, const std::string& path) {
  if (path.empty() || path == "-" || std::filesystem::path(path).is_absolute()) return path;
  const auto dir = std::filesystem::path(config_file).parent_path();
  return (dir / path).lexically_normal().string();
}

std::map<std::string, std::string> TableReader::locate(
    std::initializer_list<const char*> keys) const {
  std::map<std::string, std::string> out;
  for (const char* key : keys) {
    if (const toml::node* n = t_.get(key)) out[key] = where(*n, key);
  }
  return out;
}

}  // namespace driftd
