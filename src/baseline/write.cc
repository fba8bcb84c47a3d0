// Writing a baseline file: JSON, samples in base64, the checksum trailer
// (docs/formats/baseline.md).
#include "driftd/baseline/baseline.h"

#include "src/baseline/format.h"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <random>

#include <simdjson.h>

#include <xxhash.h>
#include "src/io/json_walk.h"

#include "driftd/common/parallel.h"
#include "driftd/io/base64.h"
#include "driftd/io/json_writer.h"
#include "driftd/kernels/kernels.h"

namespace driftd {

std::vector<std::string> serialize_baseline_pieces(const Baseline& b) {
  // The samples are most of the file: each is encoded once, on all cores,
  // into its own piece, and never copied again (the writer writes the
  // pieces in order). The base64 alphabet needs no JSON escaping.
  std::vector<std::string> samples(b.columns.size());
  parallel_for(b.columns.size(), [&](size_t i) {
    const ColumnProfile& c = b.columns[i];
    if (c.kind != ColumnKind::kNumeric || c.role == ColumnRole::kId ||
        c.role == ColumnRole::kTimestamp)
      return;
    samples[i] = doubles_to_base64(c.numeric.sample);
  });
  std::vector<std::string> pieces;
  JsonWriter w;
  w.begin_object();
  w.key("format").value(kBaselineFormatName);
  w.key("format_version").value(b.format_version);
  w.key("driftd_version").value(b.driftd_version);
  w.key("built_at").value(b.built_at);
  w.key("model").begin_object();
  w.key("name").value(b.model_name);
  w.key("version").value(b.model_version);
  w.end_object();
  w.key("input").begin_object();
  w.key("file").value(b.input.file);
  w.key("format").value(b.input.format);
  w.key("bytes").value(b.input.bytes);
  w.key("xxh3_64").value(b.input.xxh3_64);
  w.key("rows").value(b.input.rows);
  w.key("skipped_rows").value(b.input.skipped_rows);
  w.end_object();
  w.key("settings").begin_object();
  w.key("bins").value(b.settings.bins);
  w.key("sample_cap").value(b.settings.sample_cap);
  w.key("seed").value(b.settings.seed);
  w.key("max_categories").value(b.settings.max_categories);
  w.key("max_other_names").value(b.settings.max_other_names);
  w.end_object();
  w.key("roles").begin_object();
  w.key("prediction").value(b.prediction_column);
  w.key("label").value(b.label_column);
  w.key("id").value(b.id_column);
  w.key("timestamp").value(b.timestamp_column);
  w.end_object();
  w.key("performance");
  if (b.performance) {
    w.begin_object();
    w.key("task").value(to_string(b.performance->task));
    w.key("rows").value(b.performance->rows);
    w.key("metrics").begin_object();
    for (const auto& m : b.performance->metrics) w.key(m.name).value(m.value);
    w.end_object();
    w.end_object();
  } else {
    w.null();
  }
  w.key("columns").begin_array();
  for (const auto& c : b.columns) {
    w.begin_object();
    w.key("name").value(c.name);
    w.key("kind").value(to_string(c.kind));
    w.key("role").value(to_string(c.role));
    w.key("rows").value(c.rows);
    w.key("missing").value(c.missing);
    w.key("infinite").value(c.infinite);
    if (c.role == ColumnRole::kId || c.role == ColumnRole::kTimestamp) {
      // Identifiers are not profiled.
    } else if (c.kind == ColumnKind::kNumeric) {
      const auto& n = c.numeric;
      w.key("count").value(n.moments.count);
      w.key("min").value(n.moments.min);
      w.key("max").value(n.moments.max);
      w.key("mean").value(n.moments.mean);
      w.key("std").value(n.moments.std);
      w.key("skewness").value(n.moments.skewness);
      w.key("kurtosis").value(n.moments.kurtosis);
      w.key("cut_points").number_array(n.cut_points);
      w.key("bin_counts").number_array(n.bin_counts);
      w.key("sample_is_complete").value(n.sample_is_complete);
      w.key("sample_count").value(static_cast<uint64_t>(n.sample.size()));
      // Sorted sample as little-endian doubles in base64: exact, compact,
      // and ten times cheaper to write and read than decimal text.
      w.key("sample_f64le_base64").raw_value("\"");
      pieces.push_back(std::move(w.str()));
      w.str().clear();
      pieces.push_back(std::move(samples[static_cast<size_t>(&c - b.columns.data())]));
      w.str().push_back('"');
    } else {
      const auto& k = c.categorical;
      w.key("count").value(k.count);
      w.key("categories").begin_array();
      std::string pair;
      for (const auto& cc : k.categories) {
        pair.clear();
        pair.push_back('[');
        JsonWriter::append_escaped(pair, cc.category);
        pair += ", ";
        pair += std::to_string(cc.count);
        pair += ']';
        w.raw_value(pair);
      }
      w.end_array();
      w.key("other_count").value(k.other_count);
      w.key("other_names_complete").value(k.other_names_complete);
      w.key("other_names").begin_array();
      for (const auto& s : k.other_names) w.value(s);
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
  if (b.format_version >= 2) {
    w.key("multivariate");
    if (const auto& m = b.multivariate) {
      const size_t d = m->dimensions();
      w.begin_object();
      w.key("method").value("pca_reconstruction");
      w.key("columns").begin_array();
      for (const auto& name : m->columns) w.value(name);
      w.end_array();
      w.key("means").number_array(m->means);
      w.key("scales").number_array(m->scales);
      for (const auto& [key, weights] :
           {std::pair{"components", &m->basis}, std::pair{"residual_components", &m->residual}}) {
        w.key(key).begin_array();
        for (size_t at = 0; at + d <= weights->size(); at += d) {
          w.number_array(
              std::vector<double>(weights->begin() + static_cast<std::ptrdiff_t>(at),
                                  weights->begin() + static_cast<std::ptrdiff_t>(at + d)));
        }
        w.end_array();
      }
      w.key("explained_variance").value(m->explained_variance);
      w.key("rows").value(m->rows);
      w.key("error_cap").value(m->error_cap);
      w.key("error_mean").value(m->error_mean);
      w.key("error_variance").value(m->error_variance);
      w.end_object();
    } else {
      w.null();
    }
  }
  // The checksum covers every byte before its own key.
  std::string tail = std::move(w.str());
  tail += ",\n  ";
  pieces.push_back(std::move(tail));
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const auto& piece : pieces) XXH3_64bits_update(state, piece.data(), piece.size());
  const auto digest = static_cast<unsigned long long>(XXH3_64bits_digest(state));
  XXH3_freeState(state);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", digest);
  std::string trailer(kChecksumKey);
  trailer += hex;
  trailer += "\"\n}\n";
  pieces.push_back(std::move(trailer));
  return pieces;
}

std::string serialize_baseline(const Baseline& b) {
  std::string out;
  for (const auto& piece : serialize_baseline_pieces(b)) out += piece;
  return out;
}

Status write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string one(bytes);
  return write_file_atomic(path, std::span<const std::string>(&one, 1));
}

Status write_file_atomic(const std::string& path, std::span<const std::string> pieces) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error{path + ": cannot create " + tmp + ": " + std::strerror(errno)};
  for (const std::string& bytes : pieces) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const std::string why = std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return Error{path + ": write failed: " + why};
      }
      done += static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Error{path + ": fsync failed: " + why};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Error{path + ": rename failed: " + why};
  }
  // Make the rename itself durable.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace driftd
