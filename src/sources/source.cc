// What every source type shares: the [[sources]] table's common keys, the
// registry's look-up, and the one-number positions of the checkpoint.
#include "src/sources/source.h"

#include <toml++/toml.h>

#include "driftd/common/binary_io.h"

namespace driftd {

namespace {

Status read_fields(TableReader& r, EventFields& f) {
  DRIFTD_TRY(r.str("model_field", f.model));
  DRIFTD_TRY(r.str("version_field", f.model_version));
  DRIFTD_TRY(r.str("id_field", f.id));
  DRIFTD_TRY(r.str("timestamp_field", f.timestamp));
  DRIFTD_TRY(r.str("features_field", f.features));
  DRIFTD_TRY(r.str("prediction_field", f.prediction));
  DRIFTD_TRY(r.str("label_field", f.label));
  return {};
}

}  // namespace

const SourceType* source_type(std::string_view type) {
  for (const SourceType* t : source_types()) {
    if (t->type == type) return t;
  }
  return nullptr;
}

Result<SourceConfig> parse_source(const toml::table& t, const std::string& prefix,
                                  const std::string& config_file) {
  TableReader r(t, prefix, config_file);
  SourceConfig s;
  DRIFTD_TRY(r.str("name", s.name));
  DRIFTD_TRY(r.str("type", s.type));
  DRIFTD_TRY(read_fields(r, s.fields));
  const SourceType* type = source_type(s.type);
  if (type == nullptr) {
    std::string types;
    const auto all = source_types();
    for (size_t i = 0; i < all.size(); ++i) {
      types += std::string(i == 0                ? ""
                           : i + 1 == all.size() ? " or "
                                                 : ", ") +
               "\"" + std::string(all[i]->type) + "\"";
    }
    const toml::node* n = t.get("type");
    return Error{(n ? r.where(*n, "type") : r.where_table()) + ": expected " + types};
  }
  DRIFTD_TRY(type->read(r, s));
  DRIFTD_TRY(r.finish("name, type, " + std::string(type->keys) + ", *_field keys"));
  DRIFTD_TRY(type->check(r, s));
  return s;
}

Status read_replay_keys(TableReader& r, SourceConfig& s, bool close_windows_at_end) {
  std::string start = "beginning";
  DRIFTD_TRY(r.str("start", start));
  if (start != "beginning" && start != "end") {
    return Error{r.where(*r.table().get("start"), "start") + ": expected \"beginning\" or \"end\""};
  }
  s.from_end = start == "end";
  DRIFTD_TRY(r.number("replay_speed", s.replay_speed));
  if (!(s.replay_speed >= 0)) {
    return Error{r.where(*r.table().get("replay_speed"), "replay_speed") +
                 ": must be 0 (as fast as possible) or a positive factor"};
  }
  s.close_windows_at_end = close_windows_at_end;
  return r.boolean("close_windows_at_end", s.close_windows_at_end);
}

std::string encode_number_position(uint64_t value) {
  ByteWriter w;
  w.u64(value);
  return std::move(w.bytes());
}

Result<std::optional<uint64_t>> decode_number_position(const std::string* saved,
                                                       const std::string& source,
                                                       const char* what) {
  if (saved == nullptr) return std::optional<uint64_t>();
  ByteReader r(*saved);
  const uint64_t v = r.u64();
  if (!r.ok() || !r.at_end()) {
    return Error{"source " + source + ": the checkpoint's " + what + " is malformed"};
  }
  return std::optional<uint64_t>(v);
}

}  // namespace driftd
