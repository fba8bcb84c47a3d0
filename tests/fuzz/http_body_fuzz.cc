// Fuzz target: an HTTP ingest request body, judged by IngestHandler (NDJSON,
// a JSON array or one object; the first input byte picks /v1/predictions or
// /v1/labels), then every line it queued handed to the event decoder as the
// ingest thread hands it. Besides memory errors, it aborts when the two
// verdicts disagree: an event answered 2xx that the decoder rejects would be
// acknowledged and then lost, and a line refused on /v1/predictions for a
// reason the decoder would not give would be a different verdict for the
// same bytes than a file or Kafka source gets.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_util.h"
#include "src/sources/http/http_ingest.h"

namespace {

struct Ingest {
  driftd::fuzz::GoldenModel& model = driftd::fuzz::GoldenModel::shared();
  std::unique_ptr<driftd::IngestQueue> queue;
  std::unique_ptr<driftd::IngestHandler> handler;
  Ingest() {
    driftd::SourceConfig c;
    c.name = "http";
    c.type = "http";
    driftd::HttpSourceOptions o;
    o.durable = false;
    o.max_body_bytes = 1 << 20;
    o.queue_bytes = 64 << 20;
    c.options = std::make_shared<driftd::HttpSourceOptions>(std::move(o));
    queue = std::make_unique<driftd::IngestQueue>(c);
    queue->set_routes(std::make_shared<const driftd::Router>(model.router.routes_only()));
    queue->start(nullptr);
    handler = std::make_unique<driftd::IngestHandler>(*queue);
  }
  static Ingest& shared() {
    static Ingest* ingest = new Ingest();
    return *ingest;
  }
};

[[noreturn]] void disagree(const char* what, std::string_view line, driftd::RejectReason http,
                           driftd::RejectReason decoder) {
  std::fprintf(stderr, "verdicts disagree (%s): http %s, decoder %s, line: %.*s\n", what,
               driftd::to_string(http), driftd::to_string(decoder), static_cast<int>(line.size()),
               line.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& ingest = Ingest::shared();
  ingest.model.reset();
  const auto kind = (data[0] & 1) ? driftd::IngestKind::kLabel : driftd::IngestKind::kPrediction;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool array = body.find_first_not_of(" \t\r\n") != std::string::npos &&
                     body[body.find_first_not_of(" \t\r\n")] == '[';
  const driftd::IngestReply reply = ingest.handler->handle(kind, body);
  if (reply.status == 202 && reply.body.rfind("{\"accepted\":", 0) != 0) std::abort();

  driftd::EventDecoder decoder(driftd::EventFields{}, ingest.model.router);
  driftd::IngestBatch batch;
  if (!ingest.queue->take(batch)) return 0;
  for (const auto& e : batch.entries) {
    const std::string_view line(batch.bytes.data() + e.offset, e.len);
    driftd::fuzz::HeapLine heap(line);
    const driftd::DecodedEvent ev =
        decoder.decode(heap.data(), heap.size(), heap.capacity(), [](driftd::WindowResult&&) {});
    const auto got =
        ev.outcome == driftd::EventOutcome::kRejected ? ev.reason : driftd::RejectReason::kNone;
    if (e.reason == driftd::RejectReason::kNone) {
      if (got != driftd::RejectReason::kNone) disagree("accepted", line, e.reason, got);
    } else if (kind == driftd::IngestKind::kPrediction && !array && got != e.reason) {
      // (A broken array is refused whole, as one line the decoder never
      // sees; /v1/labels refuses predictions the decoder would take.)
      disagree("refused", line, e.reason, got);
    }
  }
  ingest.model.monitor->flush([](driftd::WindowResult&&) {});
  return 0;
}
