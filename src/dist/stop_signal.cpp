// Signal handlers for a graceful stop (see stop_signal.h).
#include "dist/stop_signal.h"

#include <csignal>
#include <initializer_list>

namespace tp {

static volatile std::sig_atomic_t g_signal = 0;

static void on_signal(int sig) {
  if (sig == SIGINT && g_signal == SIGINT) {  // a second Ctrl-C: stop now
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
  g_signal = sig;
}

void stop_signal_install() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGUSR1, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
}

bool stop_requested() { return g_signal != 0; }
int stop_signal_number() { return g_signal; }

}  // namespace tp
