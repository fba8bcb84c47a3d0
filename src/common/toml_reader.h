// The one TOML reader of driftd's configuration files (the daemon's
// driftd.toml, the check's rules file, rule test files): parsing with
// located errors, and a table reader that refuses unknown keys and wrong
// types, so that a misspelt key is an error naming it and its line instead
// of a silently ignored setting.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "driftd/common/result.h"

namespace driftd {

// Parses TOML text; a syntax error becomes "source:line:column: what".
Result<toml::table> parse_toml(std::string_view text, const std::string& source);

// A path a configuration file names, relative to that file's directory;
// empty, "-" (stdin) and absolute paths are kept as they are.
std::string resolve_config_path(const std::string& config_file, const std::string& path);

// "30s", "5m", "1h", "250ms", "2d" -> milliseconds.
Result<int64_t> parse_duration_ms(std::string_view text);
// "8MiB", "512KiB", "1GB", "1000" -> bytes.
Result<uint64_t> parse_size_bytes(std::string_view text);

// Reads the keys of one table. Each getter leaves `out` unchanged when the
// key is absent and returns an error naming file, line and dotted key when
// the value has the wrong type; finish() refuses every key not asked for.
class TableReader {
 public:
  // `prefix`: the table's dotted key in messages ("models[0].window").
  TableReader(const toml::table& t, std::string prefix, const std::string& source);

  // "source:line: prefix.key" of a key's value.
  std::string where(const toml::node& n, std::string_view key) const;
  // Where each of `keys` that is present is, by key: for the messages of
  // checks made after reading (a value out of range, a name unknown).
  std::map<std::string, std::string> locate(std::initializer_list<const char*> keys) const;
  // "source:line: prefix" of the table itself.
  std::string where_table() const;
  // The dotted key of a sub-table ("models[0].window").
  std::string child(std::string_view key) const;
  const toml::table& table() const { return t_; }
  const std::string& source() const { return source_; }

  Status str(std::string_view key, std::string& out);
  Status boolean(std::string_view key, bool& out);
  Status number(std::string_view key, double& out);
  Status integer(std::string_view key, int64_t& out);
  // A duration: a string with a unit ("30s") or an integer of milliseconds.
  Status duration(std::string_view key, int64_t& out_ms);
  // A size: a string with a unit ("8MiB") or an integer of bytes.
  Status bytes(std::string_view key, uint64_t& out);
  // An array of strings.
  Status strings(std::string_view key, std::vector<std::string>& out);
  // A table of strings, in file order ([rules.labels]).
  Status string_table(std::string_view key, std::vector<std::pair<std::string, std::string>>& out);
  // A sub-table, or nullptr when absent; an error when it is not a table.
  Result<const toml::table*> table(std::string_view key);
  // An array of tables ([[sources]]), or an empty list when absent.
  Result<std::vector<const toml::table*>> tables(std::string_view key);
  // Any value, marked as known; nullptr when absent.
  const toml::node* node(std::string_view key);
  // Every key that was not asked for is an error.
  Status finish(std::string_view expected) const;

 private:
  const toml::table& t_;
  std::string prefix_;
  const std::string& source_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace driftd
