// The daemon's HTTP server (src/server/http_server.cc states its threads,
// deadlines and limits): the probes, /metrics, the /v1 API and, with an
// ingest queue, POST /v1/predictions and /v1/labels.
#pragma once

#include <cstdint>
#include <memory>

#include "driftd/common/result.h"
#include "driftd/daemon/daemon_config.h"

namespace driftd {

struct Published;
class IngestQueue;

// Serves the published state until stop(); with an ingest queue, POST
// /v1/predictions and /v1/labels feed it.
class HttpServer {
 public:
  HttpServer(const Published& published, const ServerConfig& config, IngestQueue* ingest = nullptr);
  ~HttpServer();
  // Binds and starts serving; the error names the address on failure.
  Status start();
  void stop();
  // The bound port (useful with port 0).
  uint16_t port() const { return port_; }
  struct Impl;  // (the sessions of http_server.cc use it)

 private:
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace driftd
