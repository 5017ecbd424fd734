// Logging setup (see log.h).
#include "util/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace tp {

static int g_rank = 0, g_size = 1;

void log_init(int rank, int size) {
  g_rank = rank;
  g_size = size;
  spdlog::drop("thinkprobe");
  auto logger = spdlog::stderr_logger_mt("thinkprobe");
  logger->set_pattern(fmt::format("[%H:%M:%S] [rank {}] %l: %v", rank));
  spdlog::set_default_logger(logger);
  if (const char* lvl = std::getenv("THINKPROBE_LOG")) spdlog::set_level(spdlog::level::from_str(lvl));
}

int log_rank() { return g_rank; }
int log_size() { return g_size; }

}  // namespace tp
