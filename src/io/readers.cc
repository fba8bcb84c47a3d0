// infer_schema and read_table: each input format's reader behind one call.
#include "driftd/io/readers.h"

#include "csv_reader.h"
#include "jsonl_reader.h"

namespace driftd {

Result<std::vector<ColumnSpec>> infer_schema(const FileBuffer& file, InputFormat format,
                                             const std::set<std::string>& force_categorical,
                                             const ReadOptions& options) {
  return format == InputFormat::kCsv ? infer_schema_csv(file, force_categorical, options)
                                     : infer_schema_jsonl(file, force_categorical, options);
}

Result<Table> read_table(const FileBuffer& file, InputFormat format,
                         const std::vector<ColumnSpec>& schema, const ReadOptions& options) {
  return format == InputFormat::kCsv ? read_table_csv(file, schema, options)
                                     : read_table_jsonl(file, schema, options);
}

}  // namespace driftd
