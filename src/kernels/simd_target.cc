#include "driftd/kernels/simd_target.h"

#include <cctype>
#include <cstdlib>

#include "driftd/kernels/kernels.h"
#include "hwy/targets.h"

namespace driftd {
namespace {

struct NamedTarget {
  const char* name;
  int64_t bit;
};
constexpr NamedTarget kTargets[] = {
    {"avx3", HWY_AVX3},   {"avx2", HWY_AVX2},     {"sse4", HWY_SSE4},
    {"ssse3", HWY_SSSE3}, {"emu128", HWY_EMU128}, {"scalar", HWY_SCALAR},
};

}  // namespace

std::vector<std::string> supported_simd_targets() {
  // Read once, before a forced target disables the others (see below), so
  // that `driftd version` shows what the CPU supports whatever is forced.
  static const std::vector<std::string> cpu = [] {
    std::vector<std::string> out;
    for (const int64_t t : hwy::SupportedAndGeneratedTargets()) {
      out.emplace_back(hwy::TargetName(t));
    }
    return out;
  }();
  return cpu;
}

Result<std::string> select_simd_target_from_env() {
  const char* env = std::getenv("DRIFTD_SIMD_TARGET");
  if (env == nullptr || *env == '\0') return std::string(kernels::active_target_name());
  std::string want(env);
  for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string choices;
  for (const auto& t : kTargets) {
    if (!choices.empty()) choices += ", ";
    choices += t.name;
    if (want != t.name) continue;
    if ((hwy::SupportedTargets() & t.bit) == 0) {
      return Error{"DRIFTD_SIMD_TARGET=" + std::string(env) +
                   ": this CPU or build does not support that target"};
    }
    // Every other target is disabled, so dispatch (ours and vqsort's) can
    // only pick this one.
    (void)supported_simd_targets();
    hwy::DisableTargets(~t.bit);
    return std::string(kernels::active_target_name());
  }
  return Error{"DRIFTD_SIMD_TARGET=" + std::string(env) + " is not a target; choose one of " +
               choices};
}

}  // namespace driftd
