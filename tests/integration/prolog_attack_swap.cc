// The attacker's half of the Prolog-mode races (tests/integration/
// prolog_attacks.sh): exchanges two paths with renameat2(RENAME_EXCHANGE),
// atomically and over and over, as an unprivileged user, while root's
// batchai-prolog checks and then uses one of them.
//
//   prolog_attack_swap UID:GID PATH_A PATH_B SECONDS
//
// It drops to UID:GID first (groups cleared), so every swap is one the user
// could make. It stops after SECONDS or at SIGTERM/SIGINT, always after an
// even number of swaps, so both paths are back as the test made them.
// It prints "swapping" after its first swap, and the count at the end.
// Exit: 0, 1 when a swap failed (the message says which), 2 for bad usage.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// glibc before 2.28 has no renameat2 wrapper.
int exchange(const char* a, const char* b) {
  return static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE));
}

bool parse_ids(const char* text, uid_t& uid, gid_t& gid) {
  char* end = nullptr;
  const unsigned long u = std::strtoul(text, &end, 10);
  if (end == text || *end != ':') return false;
  const char* g = end + 1;
  const unsigned long gv = std::strtoul(g, &end, 10);
  if (end == g || *end != '\0' || u == 0) return false;
  uid = static_cast<uid_t>(u);
  gid = static_cast<gid_t>(gv);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uid_t uid = 0;
  gid_t gid = 0;
  char* end = nullptr;
  const double seconds = argc == 5 ? std::strtod(argv[4], &end) : 0;
  if (argc != 5 || !parse_ids(argv[1], uid, gid) || end == argv[4] || *end != '\0' || seconds <= 0) {
    std::fprintf(stderr, "usage: prolog_attack_swap UID:GID PATH_A PATH_B SECONDS (UID not 0)\n");
    return 2;
  }
  if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) {
    std::fprintf(stderr, "prolog_attack_swap: cannot become %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  // A process that changed its uid is not dumpable, and LeakSanitizer, in a
  // sanitizer build, cannot then stop its threads to look for leaks.
  ::prctl(PR_SET_DUMPABLE, 1);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  unsigned long swaps = 0;
  // The clock is read every 1024 swaps only: the race wants swaps.
  while (swaps % 2 == 1 || (!g_stop && ((swaps & 1023) != 0 || std::chrono::steady_clock::now() < until))) {
    if (exchange(argv[2], argv[3]) != 0) {
      std::fprintf(stderr, "prolog_attack_swap: cannot exchange %s and %s after %lu swaps: %s\n", argv[2], argv[3],
                   swaps, std::strerror(errno));
      return 1;
    }
    // The test starts its victim once the race is on.
    if (++swaps == 1) {
      std::printf("swapping\n");
      std::fflush(stdout);
    }
  }
  std::printf("%lu swaps\n", swaps);
  return 0;
}
