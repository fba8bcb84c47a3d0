// Fuzz target: the checkpoint reader. The input is a format version byte
// (2 plus its value modulo the versions read: 2 to 6) and a checkpoint's payload;
// the target frames it (magic, version, XXH3 trailer recomputed), so that
// what lies past the checksum is explored: the payload's lengths and
// counts, then every model state loaded into the golden model's monitor
// and every alert state into the golden checkpoint's rule. A state that
// loads must work: events after it, windows closing (alerts judged), and
// saving it again.
#include <cstdint>
#include <cstdlib>

#include "alerts/rules/rule.h"
#include "alerts/triggers/trigger.h"
#include "driftd/common/binary_io.h"
#include "driftd/daemon/checkpoint.h"
#include "driftd/window/sequential.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto base = driftd::fuzz::shared_golden_baseline();
  if (size == 0) return 0;
  // Every version this driftd reads, 2 to kCheckpointFormatVersion.
  const uint32_t version = 2 + data[0] % (driftd::kCheckpointFormatVersion - 1);
  const std::string framed = driftd::frame_checkpoint(
      std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), version);
  auto c = driftd::decode_checkpoint(framed, "fuzz.bin");
  if (!c) return 0;
  // The golden checkpoint's model settings (tests/unit/daemon/checkpoint_test.cc).
  driftd::MonitorSettings s;
  s.window.size = 4000;
  s.window.step = 1000;
  // The golden checkpoint's rule.
  static const std::vector<std::shared_ptr<const driftd::alerts::Rule>> rules = [] {
    driftd::alerts::RuleSpec spec;
    spec.name = "amount_shift";
    spec.condition = "psi > 0.2";
    spec.min_rows = 0;
    auto rule = driftd::alerts::Rule::compile(spec);
    if (!rule) std::abort();
    return std::vector<std::shared_ptr<const driftd::alerts::Rule>>{
        std::make_shared<const driftd::alerts::Rule>(std::move(*rule))};
  }();
  for (const auto& m : c->models) {
    if (!m.alerts.empty()) {
      driftd::alerts::ModelAlerts alerts("fraud", "3", true, rules);
      driftd::ByteReader ar(m.alerts);
      if (alerts.load(ar).ok() && ar.at_end()) {
        driftd::WindowResult w;
        w.id = "fraud@3/t/4000-8000";
        w.start = 4000;
        w.end = 8000;
        w.report.rows = 10;
        driftd::FeatureResult f;
        f.name = "amount";
        f.stats.push_back({"psi", 0.01});
        w.report.features.push_back(f);
        std::vector<driftd::alerts::Notification> notes;
        alerts.evaluate(w, notes);
        for (const auto& n : notes) (void)driftd::alerts::notification_json(n);
        driftd::ByteWriter again;
        alerts.save(again);
        driftd::alerts::ModelAlerts reloaded("fraud", "3", true, rules);
        driftd::ByteReader r2(again.bytes());
        if (!reloaded.load(r2).ok() || !r2.at_end()) __builtin_trap();
      }
    }
    if (!m.triggers.empty()) {
      static const driftd::alerts::TriggerList policies = [] {
        auto p = std::make_shared<driftd::alerts::TriggerSpec>();
        p->name = "retrain";
        p->on = {"amount_shift"};
        return driftd::alerts::TriggerList{p};
      }();
      driftd::alerts::ModelTriggers triggers("fraud", "3", true, "{}", policies);
      driftd::ByteReader tr(m.triggers);
      if (triggers.load(tr).ok() && tr.at_end()) {
        driftd::WindowResult w;
        w.id = "fraud@3/t/4000-8000";
        w.end = 8000;
        driftd::alerts::Notification n;
        n.rule = "amount_shift";
        n.firing = true;
        std::vector<driftd::alerts::Trigger> out;
        triggers.evaluate(w, {n}, 0, out);
        driftd::ByteWriter again;
        triggers.save(again);
        driftd::alerts::ModelTriggers reloaded("fraud", "3", true, "{}", policies);
        driftd::ByteReader r2(again.bytes());
        if (!reloaded.load(r2).ok() || !r2.at_end()) __builtin_trap();
      }
    }
    if (!m.sequential.empty()) {
      // Loaded charts must go on: a window scored, saved, read again.
      driftd::SequentialDetector charts(1000);
      driftd::ByteReader qr(m.sequential);
      if (charts.load(qr) && qr.at_end()) {
        driftd::CheckReport scored;
        driftd::FeatureResult amount;
        amount.name = "amount";
        amount.stats = {{"location_p_value", 1e-3}, {"mean_shift", 0.1}};
        scored.features.push_back(amount);
        charts.update(scored, driftd::DriftRules{});
        driftd::ByteWriter again;
        charts.save(again);
        driftd::SequentialDetector reloaded(1000);
        driftd::ByteReader r2(again.bytes());
        if (!reloaded.load(r2) || !r2.at_end()) __builtin_trap();
      }
    }
    driftd::ModelMonitor monitor(base, s);
    driftd::ByteReader r(m.state);
    if (!monitor.load(r) || !r.at_end()) continue;
    for (const auto* col : monitor.columns()) {
      const int i = monitor.column_of(col->name);
      if (col->kind == driftd::ColumnKind::kNumeric) {
        monitor.stage_number(i, 1.5);
      } else {
        monitor.stage_text(i, "FR");
      }
    }
    (void)monitor.commit(1'000'000, [](driftd::WindowResult&&) {});
    monitor.flush([](driftd::WindowResult&&) {});
    driftd::ByteWriter again;
    monitor.save(again);
    driftd::ModelMonitor reloaded(base, s);
    driftd::ByteReader r2(again.bytes());
    if (!reloaded.load(r2) || !r2.at_end()) __builtin_trap();  // a saved state must load
  }
  return 0;
}
