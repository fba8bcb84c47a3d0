// Kernel throughput per instruction set, one thread (values/s per core).
//
//   build/release/benchmarks/driftd_kernel_bench [n_values]
//
// Prints one line per target and kernel: binning + PSI on 10 bins (the
// issue's target: >= 0.5 billion values/s per core), 20 and 100 bins, the
// moment sums, vqsort vs std::sort, and the daemon's grid slots (a
// NumericGrid over a 100,000-value normal sample at ks_resolution 512;
// against the scalar binary search and the per-value bucket scan), and the
// base64 decoding of a baseline's samples (doubles decoded per second; the
// scalar reference is the table lookup it replaced), and the exact KS
// p-value of a drifted window against a 100,000-value baseline (n = 50,000:
// the one-sided Smirnov sum from ~256 terms, stats::smirnov_sf, against the
// term-by-term walk; microseconds a p-value).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "driftd/baseline/baseline.h"
#include "driftd/io/base64.h"
#include "driftd/io/json_number.h"
#include "driftd/kernels/kernels.h"
#include "driftd/stats/kolmogorov.h"
#include "driftd/stats/summary.h"
#include "driftd/window/window.h"
#include "hwy/targets.h"

using namespace driftd;

namespace {

template <class F>
double best_seconds(F&& f, int reps = 5) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

volatile double sink;

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> values(n);
  for (auto& v : values) v = normal(rng);
  std::printf("%-8s %-28s %14s\n", "target", "kernel", "values/s");
  // The daemon's grid, from a baseline profiled as `baseline build` does.
  Column x;
  x.name.push_back('x');  // a name: an empty one would match the empty id role
  for (size_t i = 0; i < 100'000; ++i) x.numbers.push_back(normal(rng));
  Table training;
  training.rows = x.numbers.size();
  training.columns.push_back(std::move(x));
  const auto baseline = profile_table(training, BaselineBuildOptions{});
  if (!baseline) {
    std::fprintf(stderr, "%s\n", baseline.error().message.c_str());
    return 1;
  }
  const NumericGrid grid(baseline->columns[0], 512);
  if (grid.points() < 512) {
    std::fprintf(stderr, "the grid has %zu points; expected about 768\n", grid.points());
    return 1;
  }
  // And a heavy-tailed column's (lognormal, sigma 1: an amount, a
  // duration), queried with fresh draws of the same distribution.
  Column amount;
  amount.name = "amount";
  for (size_t i = 0; i < 100'000; ++i) amount.numbers.push_back(std::exp(normal(rng)));
  Table amounts;
  amounts.rows = amount.numbers.size();
  amounts.columns.push_back(std::move(amount));
  const auto amount_baseline = profile_table(amounts, BaselineBuildOptions{});
  if (!amount_baseline) return 1;
  const NumericGrid amount_grid(amount_baseline->columns[0], 512);
  std::vector<double> amount_values(values.size());
  for (size_t i = 0; i < values.size(); ++i) amount_values[i] = std::exp(values[i]);
  std::vector<uint32_t> slots(256);
  // In batches of 256, as the daemon's monitors call it.
  auto grid_slots_rate = [&](auto&& slots_of, const std::vector<double>& queries = {}) {
    const double* q = queries.empty() ? values.data() : queries.data();
    const double s = best_seconds([&] {
      uint64_t total = 0;
      for (size_t i = 0; i < n; i += 256) {
        const size_t m = std::min<size_t>(256, n - i);
        slots_of(q + i, m, slots.data());
        total += slots[0];
      }
      sink = static_cast<double>(total);
    });
    return static_cast<double>(n) / s;
  };
  // A baseline sample's text: about 1M doubles as base64, 10.7 MB; a
  // multiple of 3 doubles, so that the text needs no '=' padding.
  const size_t b64_n = std::min<size_t>(n, 1'000'000) / 3 * 3;
  const std::string b64 = doubles_to_base64({values.data(), b64_n});
  std::vector<unsigned char> decoded(b64_n * 8);
  auto base64_rate = [&](auto&& decode) {
    const double s = best_seconds([&] {
      if (!decode(b64.data(), b64.size(), decoded.data())) std::abort();
      sink = decoded[b64_n];
    });
    return static_cast<double>(b64_n) / s;
  };
  // JSON number texts as the daemon stages them (16 bytes: the token, its
  // ending byte, then whatever follows), shaped like the daemon benchmark's
  // values: 4 decimals, trailing zeros dropped, about a third negative.
  const size_t texts_n = std::min<size_t>(n, 1'000'000);
  std::string texts(texts_n * kNumberTextBytes + 16, ' ');
  for (size_t i = 0; i < texts_n; ++i) {
    char token[32];
    const int len = std::snprintf(token, sizeof token, "%.4g,\"f%zu\":", values[i] * 3 + 1, i % 20);
    std::memcpy(&texts[i * kNumberTextBytes], token,
                std::min<size_t>(static_cast<size_t>(len), kNumberTextBytes));
  }
  // And longer ones, 9 to 15 bytes with their ending byte (10 significant
  // digits): past the kernel's short-number path, read by its general one.
  std::string long_texts(texts_n * kNumberTextBytes + 16, ' ');
  for (size_t i = 0; i < texts_n; ++i) {
    char token[40];
    const int len = std::snprintf(token, sizeof token, "%.10f,", (values[i] * 3 + 1) / 100);
    std::memcpy(&long_texts[i * kNumberTextBytes], token,
                std::min<size_t>(static_cast<size_t>(len), kNumberTextBytes));
  }
  std::vector<double> numbers(256);
  // In batches of 256 texts, as the daemon reads a column's batch.
  auto numbers_rate = [&](auto&& read, const std::string& cells) {
    const double s = best_seconds([&] {
      double total = 0;
      for (size_t i = 0; i < texts_n; i += 256) {
        const size_t m = std::min<size_t>(256, texts_n - i);
        read(cells.data() + i * kNumberTextBytes, m, numbers.data());
        total += numbers[0];
      }
      sink = total;
    });
    return static_cast<double>(texts_n) / s;
  };
  // The daemon's batch: 21 numeric columns of 256 rows, a column's rows
  // 264 apart; their moments added a batch at a time.
  constexpr size_t kMomentColumns = 21, kMomentRows = 256, kMomentStride = 264;
  std::vector<double> batch(24 * kMomentStride);
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = values[i % values.size()];
  std::vector<double> moment_state(8 * 24, 0.0), moment_scale(24, 1.0);
  std::vector<int64_t> moment_offset(24);
  for (size_t j = 0; j < 24; ++j) moment_offset[j] = static_cast<int64_t>(j * kMomentStride);
  const kernels::ColumnMoments moments{
      &moment_state[0],   &moment_state[24],   &moment_state[48],
      &moment_state[72],  &moment_state[96],   &moment_state[120],
      &moment_state[144], moment_scale.data(), moment_offset.data()};
  auto moments_rate = [&](auto&& add) {
    const size_t batches = std::max<size_t>(n / (kMomentColumns * kMomentRows), 1);
    const double s = best_seconds([&] {
      for (size_t b = 0; b < batches; ++b) add(batch.data(), kMomentRows, kMomentColumns, moments);
      sink = moment_state[0];
    });
    return static_cast<double>(batches * kMomentColumns * kMomentRows) / s;
  };
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    const char* name = hwy::TargetName(target);
    for (const int bins : {10, 20, 100}) {
      std::vector<double> cuts;
      for (int k = 1; k < bins; ++k) cuts.push_back(-2.5 + 5.0 * k / bins);
      std::vector<uint64_t> counts(cuts.size() + 1);
      const double s = best_seconds([&] {
        std::fill(counts.begin(), counts.end(), 0);
        kernels::histogram(values.data(), n, cuts.data(), cuts.size(), counts.data());
        const auto p = proportions(counts);
        std::vector<double> b(p.size(), 1.0 / static_cast<double>(p.size()));
        sink = kernels::psi_sum(b.data(), p.data(), p.size());
      });
      char label[64];
      std::snprintf(label, sizeof label, "binning+psi, %d bins", bins);
      std::printf("%-8s %-28s %14.3e\n", name, label, static_cast<double>(n) / s);
    }
    const double sm =
        best_seconds([&] { sink = kernels::power_sums(values.data(), n, 1.0, 0.0).s4; });
    std::printf("%-8s %-28s %14.3e\n", name, "power sums (4 moments)", static_cast<double>(n) / sm);
    std::vector<double> copy;
    const size_t sort_n = std::min<size_t>(n, 1'000'000);
    const double ss = best_seconds(
        [&] {
          copy.assign(values.begin(), values.begin() + static_cast<ptrdiff_t>(sort_n));
          kernels::sort(copy.data(), copy.size());
        },
        3);
    std::printf("%-8s %-28s %14.3e\n", name, "vqsort (1M doubles)",
                static_cast<double>(sort_n) / ss);
    std::printf("%-8s %-28s %14.3e\n", name, "grid slots (NumericGrid)",
                grid_slots_rate(
                    [&](const double* v, size_t m, uint32_t* out) { grid.slots_of(v, m, out); }));
    std::printf("%-8s %-28s %14.3e\n", name, "grid slots, lognormal column",
                grid_slots_rate([&](const double* v, size_t m,
                                    uint32_t* out) { amount_grid.slots_of(v, m, out); },
                                amount_values));
    auto kernel = [](const char* t, size_t m, double* out) {
      kernels::read_json_numbers(t, m, out);
    };
    std::printf("%-8s %-28s %14.3e\n", name, "JSON numbers (texts)", numbers_rate(kernel, texts));
    std::printf("%-8s %-28s %14.3e\n", name, "JSON numbers, 9-15 bytes",
                numbers_rate(kernel, long_texts));
    std::printf("%-8s %-28s %14.3e\n", name, "column moments (21 columns)",
                moments_rate(
                    [](const double* v, size_t rows, size_t cols, const kernels::ColumnMoments& m) {
                      kernels::column_moments(v, rows, cols, m);
                    }));
    std::printf("%-8s %-28s %14.3e\n", name, "base64 decode (doubles)",
                base64_rate([](const char* t, size_t m, unsigned char* out) {
                  return kernels::base64_decode_quads(t, m, out);
                }));
  }
  hwy::SetSupportedTargetsForTest(0);
  std::vector<double> copy;
  const size_t sort_n = std::min<size_t>(n, 1'000'000);
  const double ss = best_seconds(
      [&] {
        copy.assign(values.begin(), values.begin() + static_cast<ptrdiff_t>(sort_n));
        std::sort(copy.begin(), copy.end());
      },
      3);
  std::printf("%-8s %-28s %14.3e\n", "-", "std::sort (1M doubles)",
              static_cast<double>(sort_n) / ss);
  std::printf("%-8s %-28s %14.3e\n", "-", "grid slots, binary search",
              grid_slots_rate([&](const double* v, size_t m, uint32_t* out) {
                kernels::scalar::grid_slots(grid.index(), v, m, out);
              }));
  std::printf("%-8s %-28s %14.3e\n", "-", "grid slots, one at a time",
              grid_slots_rate([&](const double* v, size_t m, uint32_t* out) {
                for (size_t i = 0; i < m; ++i) out[i] = grid.slot_of(v[i]);
              }));
  // D from 0.008 to 0.04 (n D^2 from 3.2 to 80: p-values 1e-3 to 1e-70),
  // where kstwo.sf takes 2 * smirnov_sf.
  auto ks_micros = [&](auto&& smirnov) {
    double total = 0;
    const double s = best_seconds([&] {
      for (int i = 0; i < 100; ++i) total += smirnov(50'000, 0.008 + 0.00032 * i);
    });
    sink = total;
    return s / 100 * 1e6;
  };
  std::printf("%-8s %-28s %11.1f us\n", "-", "KS p-value n=50000, smooth",
              ks_micros([](uint64_t size, double d) { return stats::smirnov_sf(size, d); }));
  std::printf("%-8s %-28s %11.1f us\n", "-", "KS p-value n=50000, walk",
              ks_micros([](uint64_t size, double d) { return stats::smirnov_sf_terms(size, d); }));
  std::printf("%-8s %-28s %14.3e\n", "-", "JSON numbers, scalar",
              numbers_rate([](const char* t, size_t m,
                              double* out) { kernels::scalar::read_json_numbers(t, m, out); },
                           texts));
  std::printf(
      "%-8s %-28s %14.3e\n", "-", "column moments, scalar",
      moments_rate([](const double* v, size_t rows, size_t cols, const kernels::ColumnMoments& m) {
        kernels::scalar::column_moments(v, rows, cols, m);
      }));
  std::printf("%-8s %-28s %14.3e\n", "-", "base64 decode, scalar",
              base64_rate([](const char* t, size_t m, unsigned char* out) {
                return kernels::scalar::base64_decode_quads(t, m, out);
              }));
  return 0;
}
