#include "src/daemon/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace driftd {

namespace {

// The level as the configuration spells it (spdlog's own names say
// "warning" where log_level says "warn").
class ConfigLevelName : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr std::string_view kNames[] = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
    const std::string_view name = kNames[static_cast<size_t>(msg.level) % std::size(kNames)];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<ConfigLevelName>();
  }
};

}  // namespace

void setup_logging(const std::string& level) {
  spdlog::drop("driftd");  // the command line's plain-text logger
  auto logger = spdlog::stderr_logger_mt("driftd");
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<ConfigLevelName>('*').set_pattern(
      R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%*","msg":"%v"})");
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace driftd
