// What each detector's test (detectors/<name>/<name>_test.cc) builds on: a
// comparison made from shares and counts written out in the test, and a
// sink that records what the detector put.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "driftd/detectors/detector.h"

namespace driftd::detector_test {

struct RecordedStatistics final : StatisticSink {
  std::map<std::string, std::optional<double>, std::less<>> values;
  void put(std::string_view key, std::optional<double> value) override {
    // Each statistic once per column.
    REQUIRE(values.emplace(std::string(key), value).second);
  }
  // The value put under `key` (which must have been put).
  std::optional<double> operator[](std::string_view key) const {
    const auto it = values.find(key);
    REQUIRE(it != values.end());
    return it->second;
  }
};

// A numeric column: the baseline's bin shares and sorted sample, the
// current shares; moments and ECDF distances as the test sets them.
struct NumericCase {
  ColumnProfile baseline;
  std::vector<double> baseline_shares, current_shares;
  uint64_t current_count = 0;
  Moments current_moments;
  stats::EcdfDistances ecdf;
  CellCounts cells;
  stats::RobustReference robust_baseline;
  stats::RobustMoments robust_current;

  NumericCase(std::vector<double> base, std::vector<double> current, uint64_t count)
      : baseline_shares(std::move(base)), current_shares(std::move(current)), current_count(count) {
    baseline.kind = ColumnKind::kNumeric;
    baseline.numeric.moments.count = 100;
    baseline.numeric.moments.std = 1;
    for (int i = 0; i < 100; ++i) baseline.numeric.sample.push_back(i);
    current_moments.count = count;
    cells.rows = count;
  }
  NumericComparison view() const {
    return {baseline, baseline_shares, current_count,   current_shares, current_moments,
            ecdf,     cells,           robust_baseline, robust_current};
  }
};

// A categorical column from the baseline's and the current counts, aligned
// on the union of categories (the current side may have new ones last).
struct CategoricalCase {
  ColumnProfile baseline;
  std::vector<uint64_t> baseline_counts, current_counts;
  std::vector<double> baseline_shares, current_shares;
  uint64_t current_count = 0, new_category_rows = 0;
  CellCounts cells;

  CategoricalCase(std::vector<uint64_t> base, std::vector<uint64_t> current, uint64_t new_rows = 0)
      : baseline_counts(std::move(base)),
        current_counts(std::move(current)),
        new_category_rows(new_rows) {
    baseline.kind = ColumnKind::kCategorical;
    for (uint64_t c : baseline_counts) baseline.categorical.count += c;
    for (uint64_t c : current_counts) current_count += c;
    for (uint64_t c : baseline_counts)
      baseline_shares.push_back(share(c, baseline.categorical.count));
    for (uint64_t c : current_counts) current_shares.push_back(share(c, current_count));
    cells.rows = current_count;
  }
  CategoricalComparison view() const {
    return {baseline,       baseline_counts, current_counts,    baseline_shares,
            current_shares, current_count,   new_category_rows, cells};
  }

 private:
  static double share(uint64_t c, uint64_t total) {
    return total == 0 ? 0 : static_cast<double>(c) / static_cast<double>(total);
  }
};

// The detector put exactly the statistics it declares for the column kind.
inline void check_declared(const Detector& d, const RecordedStatistics& got, bool numeric) {
  size_t declared = 0;
  for (const StatisticInfo& s : d.statistics()) {
    if (!(numeric ? s.numeric : s.categorical)) continue;
    ++declared;
    INFO(s.key);
    CHECK(got.values.count(s.key) == 1);
  }
  CHECK(got.values.size() == declared);
}

// What the detector puts for the column, checked against what it declares.
inline RecordedStatistics run_numeric(const Detector& d, const NumericCase& c) {
  RecordedStatistics got;
  d.numeric(c.view(), got);
  check_declared(d, got, true);
  return got;
}
inline RecordedStatistics run_categorical(const Detector& d, const CategoricalCase& c) {
  RecordedStatistics got;
  d.categorical(c.view(), got);
  check_declared(d, got, false);
  return got;
}

}  // namespace driftd::detector_test
