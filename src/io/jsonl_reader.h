// The JSON-lines half of readers.h.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "driftd/io/readers.h"

namespace driftd {

Result<std::vector<ColumnSpec>> infer_schema_jsonl(const FileBuffer& file,
                                                   const std::set<std::string>& force_categorical,
                                                   const ReadOptions& options);
Result<Table> read_table_jsonl(const FileBuffer& file, const std::vector<ColumnSpec>& schema,
                               const ReadOptions& options);

}  // namespace driftd
