// Fuzz target: a rule's condition (alerts/rules/condition.h), text from a
// team's config. Besides memory errors, it aborts when an accepted
// condition's canonical form does not parse back to itself, or when
// evaluating it gives a different answer than its canonical form does, or
// when the load-time analysis (Condition::reach) calls a condition never
// true (or never false) and the window here, whose values lie in their
// ranges, makes it so.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "alerts/rules/condition.h"

namespace {

driftd::FeatureResult column(const char* name, driftd::ColumnRole role, double psi) {
  driftd::FeatureResult f;
  f.name = name;
  f.role = role;
  f.stats = {{"psi", psi}, {"ks_p_value", 0.03}, {"wasserstein", std::nullopt}};
  f.missing_rate = 0.1;
  f.drift = psi > 0.2;
  f.drift_value = psi;
  return f;
}

const driftd::CheckReport& window() {
  static const driftd::CheckReport* w = [] {
    auto* r = new driftd::CheckReport();
    r->rows = 1000;
    r->features = {column("a", driftd::ColumnRole::kFeature, 0.3),
                   column("b", driftd::ColumnRole::kFeature, 0.01),
                   column("p", driftd::ColumnRole::kPrediction, 0.1)};
    r->features_compared = 2;
    r->features_drifted = 1;
    r->drift_share = 0.5;
    driftd::Performance p;
    p.rows = 10;
    p.metrics = {{"roc_auc", 0.7}, {"accuracy", std::nullopt}};
    r->performance = p;
    return r;
  }();
  return *w;
}

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "%s:\n  %s\n  %s\n", what, a.c_str(), b.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = driftd::alerts::Condition::parse(text);
  if (!c) {
    if (c.error().message.rfind("column ", 0) != 0)
      fail("an error without its column", std::string(text), c.error().message);
    return 0;
  }
  const std::string canonical = c->canonical();
  // The canonical form adds parentheses: near the length limit it is longer
  // than a config may hold (found by the fuzzer), and is read back with room.
  auto again = driftd::alerts::Condition::parse(
      canonical, std::max(driftd::alerts::Condition::kMaxLength, canonical.size()));
  if (!again) fail("the canonical form does not parse", canonical, again.error().message);
  if (again->canonical() != canonical)
    fail("the canonical form changes", canonical, again->canonical());
  if (again->scope() != c->scope())
    fail("the canonical form changes the scope", std::string(text), canonical);
  const auto& w = window();
  const auto reach = c->reach();
  for (const auto& f : w.features) {
    const driftd::alerts::Truth t = c->evaluate(w, &f);
    if (t != again->evaluate(w, &f)) {
      fail("the canonical form evaluates otherwise", std::string(text), canonical);
    }
    if ((t == driftd::alerts::Truth::kTrue && !reach.can_be_true) ||
        (t == driftd::alerts::Truth::kFalse && !reach.can_be_false)) {
      fail("reach() is wrong about a window", std::string(text), driftd::alerts::to_string(t));
    }
    (void)c->sides(w, &f);
  }
  return 0;
}
