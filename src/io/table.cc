#include <algorithm>
#include <charconv>
#include <cmath>

#include "driftd/io/table.h"

namespace driftd {

const char* to_string(ColumnKind kind) {
  return kind == ColumnKind::kNumeric ? "numeric" : "categorical";
}

uint32_t Column::intern(std::string_view text) {
  const auto it = dictionary_index.find(text);
  if (it != dictionary_index.end()) return it->second;
  const auto code = static_cast<uint32_t>(dictionary.size());
  dictionary.emplace_back(text);
  dictionary_index.emplace(dictionary.back(), code);
  return code;
}

const Column* Table::find(std::string_view name) const {
  for (const Column& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace driftd
