// Every SIMD kernel against its scalar reference, on the same inputs, for
// every instruction set this machine supports and driftd was compiled for.
#include <limits>
#include <random>
#include <vector>

#include <cstring>
#include <string>

#include <simdjson.h>

#include "driftd/io/json_number.h"
#include "driftd/kernels/kernels.h"
#include "driftd/stats/kolmogorov.h"
#include "driftd/stats/quantile.h"
#include "driftd/stats/summary.h"
#include "driftd/window/window.h"
#include "hwy/targets.h"
#include "test_util.h"

using namespace driftd;

namespace {

// Runs body() once per supported target with dispatch pinned to it.
template <class Body>
void for_each_target(Body&& body) {
  const auto targets = hwy::SupportedAndGeneratedTargets();
  REQUIRE(!targets.empty());
  for (const int64_t t : targets) {
    hwy::SetSupportedTargetsForTest(t);
    INFO("target " << hwy::TargetName(t));
    CHECK(std::string(kernels::active_target_name()) == hwy::TargetName(t));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);  // back to what the CPU has
}

std::vector<double> random_values(size_t n, std::mt19937_64& rng, bool with_ties) {
  std::normal_distribution<double> normal(0, 3);
  std::vector<double> v(n);
  for (auto& x : v) x = with_ties ? std::round(normal(rng)) : normal(rng);
  return v;
}

double rel(double a, double b) {
  return std::fabs(a - b) / std::max({std::fabs(a), std::fabs(b), 1e-300});
}

}  // namespace

TEST_CASE("histogram kernel equals the scalar reference on every target", "[kernels]") {
  std::mt19937_64 rng(7);
  for_each_target([&] {
    for (const size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 1000u, 5003u}) {
      for (const size_t n_cuts : {0u, 1u, 3u, 4u, 9u, 31u, 32u, 33u, 99u, 250u}) {
        for (const bool ties : {false, true}) {
          auto values = random_values(n, rng, ties);
          std::vector<double> cuts = random_values(n_cuts, rng, ties);
          std::sort(cuts.begin(), cuts.end());
          cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
          // Values exactly on cut points must land above them (side='right').
          for (size_t i = 0; i < cuts.size() && i < values.size(); ++i) values[i] = cuts[i];
          std::vector<uint64_t> simd(cuts.size() + 1, 0), ref(cuts.size() + 1, 0);
          kernels::histogram(values.data(), values.size(), cuts.data(), cuts.size(), simd.data());
          kernels::scalar::histogram(values.data(), values.size(), cuts.data(), cuts.size(),
                                     ref.data());
          INFO("n=" << n << " cuts=" << cuts.size() << " ties=" << ties);
          REQUIRE(simd == ref);
        }
      }
    }
  });
}

TEST_CASE("min_max and power_sums equal the scalar reference on every target", "[kernels]") {
  std::mt19937_64 rng(11);
  for_each_target([&] {
    for (const size_t n : {1u, 2u, 5u, 16u, 17u, 1001u}) {
      const auto v = random_values(n, rng, false);
      double lo, hi, rlo, rhi;
      kernels::min_max(v.data(), n, &lo, &hi);
      kernels::scalar::min_max(v.data(), n, &rlo, &rhi);
      CHECK(lo == rlo);
      CHECK(hi == rhi);
      for (const double scale : {1.0, 0.25}) {
        const auto s = kernels::power_sums(v.data(), n, scale, 0.5);
        const auto r = kernels::scalar::power_sums(v.data(), n, scale, 0.5);
        // Summation order differs between lanes: agree to rounding.
        CHECK(rel(s.s1, r.s1) < 1e-11);
        CHECK(rel(s.s2, r.s2) < 1e-12);
        CHECK(rel(s.s3, r.s3) < 1e-10);
        CHECK(rel(s.s4, r.s4) < 1e-12);
      }
    }
  });
}

TEST_CASE("column_moments equals the scalar reference bit for bit on every target", "[kernels]") {
  // Columns at a stride in one buffer (as the daemon's batch), states that
  // do not start at zero, and values with ties and signed zeros (min and
  // max must pick the same zero as std::min and std::max).
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal(3, 2);
  for_each_target([&] {
    for (const size_t n_columns : {1u, 3u, 8u, 9u, 21u}) {
      for (const size_t rows : {0u, 1u, 5u, 256u}) {
        const size_t stride = rows + 8, padded = (n_columns + 7) / 8 * 8;
        std::vector<double> values(padded * stride);
        for (auto& v : values) {
          const double x = normal(rng);
          v = rng() % 8 == 0 ? (rng() % 2 ? 0.0 : -0.0) : std::round(x * 4) / 4;
        }
        std::vector<int64_t> offset(padded);
        for (size_t j = 0; j < padded; ++j) offset[j] = static_cast<int64_t>(j * stride);
        struct State {
          std::vector<double> p0, p1, p2, p3, lo, hi, center, scale;
        };
        State a;
        for (auto* v : {&a.p0, &a.p1, &a.p2, &a.p3, &a.center}) {
          v->resize(padded);
          for (auto& x : *v) x = normal(rng);
        }
        a.scale.assign(padded, 0);
        for (auto& x : a.scale) x = 0.5 + std::fabs(normal(rng));
        a.lo.assign(padded, 0.0);
        a.hi.assign(padded, -0.0);
        State b = a;
        auto view = [&](State& st) {
          return kernels::ColumnMoments{st.p0.data(),     st.p1.data(),    st.p2.data(),
                                        st.p3.data(),     st.lo.data(),    st.hi.data(),
                                        st.center.data(), st.scale.data(), offset.data()};
        };
        kernels::column_moments(values.data(), rows, n_columns, view(a));
        kernels::scalar::column_moments(values.data(), rows, n_columns, view(b));
        INFO("columns " << n_columns << " rows " << rows);
        const size_t bytes = n_columns * sizeof(double);
        REQUIRE(std::memcmp(a.p0.data(), b.p0.data(), bytes) == 0);
        REQUIRE(std::memcmp(a.p1.data(), b.p1.data(), bytes) == 0);
        REQUIRE(std::memcmp(a.p2.data(), b.p2.data(), bytes) == 0);
        REQUIRE(std::memcmp(a.p3.data(), b.p3.data(), bytes) == 0);
        REQUIRE(std::memcmp(a.lo.data(), b.lo.data(), bytes) == 0);
        REQUIRE(std::memcmp(a.hi.data(), b.hi.data(), bytes) == 0);
      }
    }
  });
}

TEST_CASE("ascending equals the scalar reference on every target", "[kernels]") {
  std::mt19937_64 rng(12);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for_each_target([&] {
    for (const size_t n : {0u, 1u, 2u, 3u, 8u, 9u, 16u, 17u, 1001u}) {
      auto sorted_values = random_values(n, rng, true);  // ties: equal neighbours are in order
      std::sort(sorted_values.begin(), sorted_values.end());
      CHECK(kernels::ascending(sorted_values.data(), n));
      CHECK(kernels::scalar::ascending(sorted_values.data(), n));
      // One flaw at each position: a swap, a NaN, infinities at the ends.
      for (size_t at = 0; at < n; ++at) {
        for (const int flaw : {0, 1, 2, 3}) {
          auto v = sorted_values;
          if (flaw == 0 && at + 1 < n) {
            v[at] = v[at + 1] + 1;
          } else if (flaw == 1) {
            v[at] = nan;
          } else if (flaw == 2) {
            v[at] = -inf;
          } else if (flaw == 3) {
            v[at] = inf;
          }
          INFO("n=" << n << " at=" << at << " flaw=" << flaw);
          REQUIRE(kernels::ascending(v.data(), n) == kernels::scalar::ascending(v.data(), n));
          if (flaw == 1 && n >= 2) REQUIRE_FALSE(kernels::ascending(v.data(), n));
        }
      }
    }
  });
}

TEST_CASE("psi, Jensen-Shannon and Bhattacharyya sums equal the scalar reference on every target",
          "[kernels]") {
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> u(0, 1);
  for_each_target([&] {
    for (const size_t n : {1u, 2u, 3u, 8u, 10u, 11u, 100u, 1000u}) {
      std::vector<double> p(n), q(n);
      double sp = 0, sq = 0;
      for (size_t i = 0; i < n; ++i) {
        p[i] = u(rng);
        q[i] = (i % 5 == 3) ? 0.0 : u(rng);  // zeros exercise the masked lanes
        sp += p[i];
        sq += q[i];
      }
      for (size_t i = 0; i < n; ++i) p[i] /= sp;
      if (sq > 0) {
        for (size_t i = 0; i < n; ++i) q[i] /= sq;
      }
      CHECK(rel(kernels::js_divergence_sum(p.data(), q.data(), n),
                kernels::scalar::js_divergence_sum(p.data(), q.data(), n)) < 1e-12);
      CHECK(rel(kernels::bhattacharyya_sum(p.data(), q.data(), n),
                kernels::scalar::bhattacharyya_sum(p.data(), q.data(), n)) < 1e-13);
      for (auto& x : q) x = x == 0 ? 1e-4 : x;
      CHECK(rel(kernels::psi_sum(p.data(), q.data(), n),
                kernels::scalar::psi_sum(p.data(), q.data(), n)) < 1e-12);
    }
  });
}

TEST_CASE("sort kernel (vqsort) equals std::sort on every target", "[kernels]") {
  std::mt19937_64 rng(17);
  for_each_target([&] {
    for (const size_t n : {0u, 1u, 2u, 31u, 1000u, 100000u}) {
      auto v = random_values(n, rng, n % 2 == 0);
      auto r = v;
      kernels::sort(v.data(), v.size());
      kernels::scalar::sort(r.data(), r.size());
      REQUIRE(v == r);
    }
  });
}

TEST_CASE("bin counts from sorted values equal the histogram kernel", "[kernels]") {
  std::mt19937_64 rng(23);
  for (const size_t n : {0u, 1u, 10u, 1000u, 20000u}) {
    for (const size_t n_cuts : {0u, 1u, 9u, 40u}) {
      auto values = random_values(n, rng, true);
      std::vector<double> cuts = random_values(n_cuts, rng, true);
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
      const auto unsorted = bin_counts(values, cuts);
      std::sort(values.begin(), values.end());
      INFO("n=" << n << " cuts=" << cuts.size());
      CHECK(bin_counts_sorted(values, cuts) == unsorted);
    }
  }
}

TEST_CASE("find_csv_delimiters equals the scalar reference on every target", "[kernels]") {
  std::mt19937_64 rng(31);
  for_each_target([&] {
    for (const size_t n : {0u, 1u, 15u, 16u, 17u, 63u, 64u, 65u, 200u, 5000u}) {
      std::string text(n, 'x');
      for (auto& c : text) {
        const auto r = rng() % 10;
        c = r == 0 ? ',' : r == 1 ? '\n' : r == 2 ? '\r' : static_cast<char>('0' + rng() % 10);
      }
      std::vector<uint32_t> simd(n + 1), ref(n + 1);
      const size_t ks = kernels::find_csv_delimiters(text.data(), n, simd.data());
      const size_t kr = kernels::scalar::find_csv_delimiters(text.data(), n, ref.data());
      INFO("n=" << n);
      REQUIRE(ks == kr);
      simd.resize(ks);
      ref.resize(kr);
      CHECK(simd == ref);
    }
  });
}

// A numeric column's profile as `baseline build` makes it, from a sample.
ColumnProfile numeric_profile(std::vector<double> sample) {
  std::sort(sample.begin(), sample.end());
  ColumnProfile c;
  c.kind = ColumnKind::kNumeric;
  c.numeric.sample.assign(sample.begin(), sample.end());
  c.numeric.cut_points = stats::quantile_cut_points(sample, 10);
  c.numeric.moments = compute_moments(sample);
  return c;
}

TEST_CASE("grid_slots equals the binary-search reference on every target", "[kernels]") {
  // Grids as the daemon builds them (NumericGrid over a baseline sample):
  // dense centres, heavy tails whose outliers crowd buckets, ties, one point.
  std::mt19937_64 rng(41);
  std::normal_distribution<double> normal(3, 2);
  std::lognormal_distribution<double> heavy(0, 2.5);
  std::vector<std::vector<double>> samples(5);
  for (int i = 0; i < 20000; ++i) {
    samples[0].push_back(normal(rng));
    samples[1].push_back(heavy(rng));
    samples[2].push_back(std::round(normal(rng) * 4) / 4);
  }
  samples[3] = {7.5};
  samples[4] = {-1, 1e300};
  for (auto& s : samples) {
    std::sort(s.begin(), s.end());
    const NumericGrid grid(numeric_profile(s), 512);
    // Queries: fresh draws, every point exactly, the ends and beyond.
    std::vector<double> q;
    for (int i = 0; i < 3001; ++i) {
      q.push_back(i % 2 ? normal(rng) : heavy(rng));
      if (i % 7 == 0) q.push_back(s[rng() % s.size()]);
    }
    q.insert(q.end(), grid.point().begin(), grid.point().end());
    // The doubles next to every point, and around every bucket's start as
    // the index computes it: where a value's bucket and a point's meet.
    for (const double p : grid.point()) {
      q.push_back(std::nextafter(p, -HUGE_VAL));
      q.push_back(std::nextafter(p, HUGE_VAL));
    }
    const kernels::GridIndex index = grid.index();
    for (size_t b = 0; index.bucket_lo != nullptr && b <= index.buckets; ++b) {
      const double start = index.origin + static_cast<double>(b) / index.scale;
      double below = start, above = start;
      for (int step = 0; step < 3; ++step) {
        q.insert(q.end(), {below, above});
        below = std::nextafter(below, -HUGE_VAL);
        above = std::nextafter(above, HUGE_VAL);
      }
    }
    q.insert(q.end(), {s.front(), s.back(), s.front() - 1, s.back() + 1, -1e308, 1e308, 0.0, -0.0});
    std::vector<uint32_t> want(q.size()), got(q.size());
    kernels::scalar::grid_slots(grid.index(), q.data(), q.size(), want.data());
    for (size_t i = 0; i < q.size(); ++i) REQUIRE(want[i] == grid.slot_of_by_search(q[i]));
    for_each_target([&] {
      // Every length up to a few vectors, then all: the tail loop too.
      for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{9}, size_t{17}, q.size()}) {
        std::fill(got.begin(), got.end(), 0xFFFFFFFFu);
        kernels::grid_slots(grid.index(), q.data(), n, got.data());
        for (size_t i = 0; i < n; ++i) {
          INFO("query " << q[i] << " at " << i << " of " << n);
          REQUIRE(got[i] == want[i]);
        }
      }
    });
  }
}

// Number texts of every shape the reader meets: the ones it reads (signs,
// lengths up to 15 digits, points anywhere, each ending) and the ones it
// must leave to simdjson (exponents, 16 digits and more, leading zeros, a
// point without digits, a bare minus, no ending within 16 bytes, bytes
// that may not follow a number).
std::vector<std::string> number_texts() {
  std::mt19937_64 rng(7);
  std::vector<std::string> t;
  const std::string ends = ",}] \n\r\t:x\"0";
  for (int i = 0; i < 40000; ++i) {
    std::string s;
    if (rng() % 3 == 0) s += '-';
    const int int_len = static_cast<int>(rng() % 12);
    for (int k = 0; k < int_len; ++k) s += static_cast<char>('0' + rng() % 10);
    if (rng() % 4 != 0) {
      s += '.';
      const int frac_len = static_cast<int>(rng() % 12);
      for (int k = 0; k < frac_len; ++k) s += static_cast<char>('0' + rng() % 10);
    }
    if (rng() % 20 == 0) {
      s += 'e';
      s += std::to_string(rng() % 40);
    }
    s += ends[rng() % ends.size()];
    t.push_back(s);
  }
  for (const char* s : {"0,",
                        "-0,",
                        "0.0}",
                        "1.5,",
                        "-1.5]",
                        "01,",
                        "1.,",
                        "-,",
                        ".5,",
                        "-.5,",
                        "1e5,",
                        "1E-3,",
                        "+1,",
                        "--1,",
                        "1.2.3,",
                        "999999999999999,",
                        "9999999999999999,",
                        "0.00000000000001,",
                        "123456789.123456,",
                        "12345678.1234567,",
                        "1234567.12345678 ",
                        "-123456789012345,"}) {
    t.emplace_back(s);
  }
  return t;
}

TEST_CASE("grid buckets spread heavy-tailed columns by the values' bit patterns", "[kernels]") {
  // The share of fresh draws whose bucket is crowded (a binary search): a
  // normal column keeps buckets of equal width; a lognormal one, whose
  // points crowd into the lowest of equal-width buckets, takes buckets in
  // the bit pattern (about even in log v).
  std::mt19937_64 rng(43);
  auto searched_share = [&](auto&& draw, bool* by_bits) {
    std::vector<double> s;
    for (int i = 0; i < 100000; ++i) s.push_back(draw());
    const NumericGrid grid(numeric_profile(std::move(s)), 512);
    const kernels::GridIndex index = grid.index();
    REQUIRE(index.bucket_lo != nullptr);
    *by_bits = index.bit_shift >= 0;
    size_t searched = 0, n = 0;
    for (int i = 0; i < 100000; ++i) {
      const double v = draw();
      if (v < grid.point().front() || v > grid.point().back()) continue;
      ++n;
      searched += index.bucket_lo[kernels::grid_bucket(index, v)] < 0 ? 1 : 0;
    }
    return static_cast<double>(searched) / static_cast<double>(n);
  };
  std::normal_distribution<double> normal(3, 2);
  std::lognormal_distribution<double> lognormal(0, 1), heavier(0, 2.5);
  bool by_bits = false;
  const double normal_share = searched_share([&] { return normal(rng); }, &by_bits);
  CHECK_FALSE(by_bits);
  CHECK(normal_share < 0.001);
  const double lognormal_share = searched_share([&] { return lognormal(rng); }, &by_bits);
  CHECK(by_bits);
  CHECK(lognormal_share < 0.05);
  const double heavier_share = searched_share([&] { return heavier(rng); }, &by_bits);
  CHECK(by_bits);
  CHECK(heavier_share < 0.05);
  WARN("searched: normal " << normal_share << ", lognormal " << lognormal_share << ", sigma 2.5 "
                           << heavier_share);
}

TEST_CASE("read_json_numbers equals the reference reader on every target", "[kernels]") {
  const auto texts = number_texts();
  // Back to back, 16 bytes each (the token and what follows it, then a
  // filler that would be digits), with the 16 bytes of slack the kernel may read.
  std::string packed;
  for (const auto& s : texts) {
    std::string cell = s.substr(0, kNumberTextBytes);
    cell.resize(kNumberTextBytes, '7');
    packed += cell;
  }
  packed.append(16, '7');
  const size_t n = texts.size();
  std::vector<double> want(n), got(n);
  kernels::scalar::read_json_numbers(packed.data(), n, want.data());
  size_t read = 0;
  for (size_t i = 0; i < n; ++i) read += std::isnan(want[i]) ? 0 : 1;
  CHECK(read > n / 4);  // both kinds are well represented
  CHECK(read < n * 3 / 4);
  for_each_target([&] {
    for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{9}, size_t{17}, n}) {
      std::fill(got.begin(), got.end(), 0.5);
      kernels::read_json_numbers(packed.data(), len, got.data());
      for (size_t i = 0; i < len; ++i) {
        INFO(texts[i] << " at " << i << " of " << len);
        REQUIRE(std::memcmp(&got[i], &want[i], sizeof(double)) == 0);
      }
    }
  });
}

TEST_CASE("read_json_numbers: every short text, alone among numbers it reads, as the reference",
          "[kernels]") {
  // Every text of 7 characters from "-05.,e " and then an eighth from
  // " ,9" (each cell then padded with digits): every sign, point, leading
  // zero, exponent and end a number of up to 8 bytes may have. The kernel
  // reads a vector of short numbers by a path of its own, and a vector
  // with any other lane by its general one, so the texts the reference
  // reads are laid out back to back (whole vectors of them), and each
  // text it declines is put among 7 it reads, at every lane in turn.
  const std::string alphabet = "-05.,e ", eighth = " ,9";
  size_t combos = 1;
  for (int k = 0; k < 7; ++k) combos *= alphabet.size();
  std::vector<std::string> reads, declines;
  for (size_t c = 0; c < combos; ++c) {
    std::string cell(kNumberTextBytes, '7');
    size_t rest = c;
    for (size_t k = 0; k < 7; ++k, rest /= alphabet.size())
      cell[k] = alphabet[rest % alphabet.size()];
    cell[7] = eighth[c % eighth.size()];
    double v = 0;
    (short_json_double(cell.data(), &v) ? reads : declines).push_back(cell);
  }
  REQUIRE(reads.size() > 1000);
  auto check = [](const std::string& packed, size_t n, size_t call) {
    std::vector<double> want(n), got(n);
    kernels::scalar::read_json_numbers(packed.data(), n, want.data());
    for_each_target([&] {
      for (size_t at = 0; at < n; at += call) {
        kernels::read_json_numbers(packed.data() + at * kNumberTextBytes, std::min(call, n - at),
                                   got.data() + at);
      }
      // (One assertion for the lot: a million REQUIREs take seconds.)
      size_t differ = 0, first = 0;
      for (size_t i = n; i-- > 0;) {
        if (std::memcmp(&got[i], &want[i], sizeof(double)) != 0) ++differ, first = i;
      }
      INFO(differ << " differ, the first "
                  << packed.substr(first * kNumberTextBytes, kNumberTextBytes) << ": " << got[first]
                  << " for " << want[first]);
      REQUIRE(differ == 0);
    });
  };
  std::string packed;
  for (const auto& cell : reads) packed += cell;
  packed.append(16, '7');
  check(packed, reads.size(), reads.size());
  // One declined text in each group of 8, read a group a call (so the
  // vector holding it is always tried by the short path first).
  packed.clear();
  size_t next_read = 0;
  for (size_t j = 0; j < declines.size(); ++j) {
    for (size_t lane = 0; lane < 8; ++lane) {
      packed += lane == j % 8 ? declines[j] : reads[next_read++ % reads.size()];
    }
  }
  packed.append(16, '7');
  check(packed, declines.size() * 8, 8);
}

TEST_CASE("the reference number reader returns simdjson's double or declines", "[kernels]") {
  // Each text as the value of an object's field, read by get_double: where
  // short_json_double reads a text, simdjson returns the same bits; where
  // it declines, read_json_number_text answers as simdjson does.
  simdjson::ondemand::parser parser;
  size_t compared = 0;
  for (const auto& s : number_texts()) {
    std::string cell = s.substr(0, kNumberTextBytes);
    cell.resize(kNumberTextBytes + 32, ' ');
    size_t token_len = 0;
    while (token_len < s.size() && !ends_json_number(s[token_len])) ++token_len;
    if (token_len >= kNumberTextBytes || token_len == s.size()) continue;  // not stageable
    const std::string doc_text = "{\"a\":" + s.substr(0, token_len) + "}";
    simdjson::padded_string padded(doc_text);
    simdjson::ondemand::document doc;
    double want = 0;
    bool simdjson_ok = false;
    if (!parser.iterate(padded).get(doc)) {
      simdjson_ok = !doc["a"].get_double().get(want);
    }
    INFO(s);
    double got = 0;
    if (short_json_double(cell.data(), &got)) {
      REQUIRE(simdjson_ok);
      REQUIRE(std::memcmp(&got, &want, sizeof got) == 0);
      ++compared;
    } else {
      double slow = 0;
      REQUIRE(read_json_number_text(cell.data(), kNumberTextBytes, &slow) == simdjson_ok);
      if (simdjson_ok) REQUIRE(std::memcmp(&slow, &want, sizeof slow) == 0);
    }
  }
  CHECK(compared > 5000);
}

TEST_CASE("smirnov_terms keeps its precision where 1 - x - j/n cancels", "[kernels]") {
  // Near j = n(1 - x) the base 1 - x - j/n is a small difference of
  // larger numbers, and its relative error is raised to the power n - j.
  // Reference: each term's log in 80-bit long double (11 more bits).
  const double n = 50000, x = 0.3;
  auto exact_log_term = [&](int64_t j) {
    const long double ln = n, lx = x, lj = static_cast<long double>(j);
    return std::lgammal(ln + 1) - std::lgammal(lj + 1) - std::lgammal(ln - lj + 1) +
           (ln - lj) * std::log(1.0L - lx - lj / ln) + (lj - 1) * std::log(lx + lj / ln) +
           std::log(lx);
  };
  long double whole = 0;  // the run 34980 .. 34999 relative to its first term
  for (int64_t j = 34980; j < 35000; ++j) {
    const long double want = exact_log_term(j);
    whole += std::exp(want - exact_log_term(34980));
    INFO("j=" << j);
    CHECK(std::fabs(kernels::scalar::smirnov_terms(n, x, j, 1, 0.0).max_rel - want) <= 1e-9);
    for_each_target(
        [&] { CHECK(std::fabs(kernels::smirnov_terms(n, x, j, 1, 0.0).max_rel - want) <= 1e-9); });
  }
  const double log_first = static_cast<double>(exact_log_term(34980));
  for_each_target([&] {
    // Every lane position: the terms fall with j here, so the run's sum is
    // led by its first term, and each later one adds its share.
    const auto run = kernels::smirnov_terms(n, x, 34980, 20, log_first);
    CHECK(std::fabs(run.sum - static_cast<double>(whole)) <= 1e-9 * static_cast<double>(whole));
  });
}

TEST_CASE("smirnov_terms equals the term-by-term lgamma reference on every target", "[kernels]") {
  struct Case {
    double n, x;
    int64_t first, count;
  };
  // Runs around and away from the peak, runs cut by the end of the terms
  // (1 - x - j/n <= 0), runs shorter than a vector, and small n.
  const Case cases[] = {
      {50000, 0.02, 700, 64},     {50000, 0.02, 0, 64},      {50000, 0.02, 20000, 64},
      {50000, 0.3, 34990, 64},    {200000, 0.01, 1900, 61},  {141, 0.1, 0, 127},
      {141, 0.1, 120, 7},         {70, 0.6, 0, 29},          {5000, 0.05, 4740, 3},
      {50000, 0.013, 23000, 256}, {50000, 0.013, 40000, 256}};
  for (const Case& c : cases) {
    // Relative to the largest term of the run, as smirnov_sf uses it.
    const auto probe = kernels::scalar::smirnov_terms(c.n, c.x, c.first, c.count, 0.0);
    const double log_peak = probe.max_rel;
    const auto want = kernels::scalar::smirnov_terms(c.n, c.x, c.first, c.count, log_peak);
    for_each_target([&] {
      const auto got = kernels::smirnov_terms(c.n, c.x, c.first, c.count, log_peak);
      INFO("n=" << c.n << " x=" << c.x << " first=" << c.first << " count=" << c.count);
      CHECK(std::fabs(got.sum - want.sum) <= 1e-10 * want.sum);
      if (std::isfinite(want.max_rel)) {
        CHECK(std::fabs(got.max_rel - want.max_rel) <= 1e-9);
      } else {
        CHECK(got.max_rel == want.max_rel);
      }
    });
  }
}

TEST_CASE("base64_decode_quads equals the scalar reference on every target", "[kernels][base64]") {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937_64 rng(11);
  // Every length in quads up to a few vector steps (16 characters each),
  // so that the vector part, its stop before the output's end and the
  // scalar rest are each exercised.
  for (size_t quads = 0; quads <= 40; ++quads) {
    std::string text(4 * quads, 'A');
    for (char& c : text) c = alphabet[rng() % 64];
    std::vector<unsigned char> want(3 * quads + 1, 0xEE), got(3 * quads + 1, 0xEE);
    REQUIRE(kernels::scalar::base64_decode_quads(text.data(), text.size(), want.data()));
    for_each_target([&] {
      std::fill(got.begin(), got.end(), 0xEE);
      INFO("quads " << quads);
      CHECK(kernels::base64_decode_quads(text.data(), text.size(), got.data()));
      CHECK(got == want);  // the byte past the output untouched too
    });
  }
  // Each of the 256 byte values at each position of a 192-character text
  // (two 64-character vector steps, then the scalar rest): accepted, with
  // the reference's bytes, exactly when in the alphabet.
  std::string text(192, 'A');
  for (char& c : text) c = alphabet[rng() % 64];
  std::vector<unsigned char> want(144), got(144);
  for_each_target([&] {
    for (size_t at = 0; at < text.size(); ++at) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string t = text;
        t[at] = static_cast<char>(byte);
        const bool in_alphabet = alphabet.find(static_cast<char>(byte)) != std::string::npos;
        INFO("byte " << byte << " at " << at);
        REQUIRE(kernels::scalar::base64_decode_quads(t.data(), t.size(), want.data()) ==
                in_alphabet);
        REQUIRE(kernels::base64_decode_quads(t.data(), t.size(), got.data()) == in_alphabet);
        if (in_alphabet) REQUIRE(got == want);
      }
    }
  });
}
