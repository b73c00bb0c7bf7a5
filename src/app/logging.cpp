#include "app/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <string_view>

namespace teamreg::app {
namespace {

/// `%*`: the syslog priority prefix journald reads from a stream (sd-daemon(3)).
class SyslogPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm& /*time*/,
              spdlog::memory_buf_t& out) override {
    // trace, debug, info, warn, err, critical, off
    static constexpr std::string_view kPrefixes[] = {"<7>", "<7>", "<6>", "<4>",
                                                     "<3>", "<2>", "<6>"};
    const std::string_view prefix = kPrefixes[static_cast<int>(message.level)];
    out.append(prefix.data(), prefix.data() + prefix.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriority>();
  }
};

}  // namespace

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("teamreg");
  spdlog::set_default_logger(logger);
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SyslogPriority>('*').set_pattern("%*%l %v");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace teamreg::app
