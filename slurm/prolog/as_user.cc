#include "slurm/prolog/as_user.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace batchai::prolog {
namespace {

using Clock = std::chrono::steady_clock;

// Big enough for any message the prolog writes; a longer one is cut.
constexpr std::size_t kMaxReply = 32 * 1024;

std::string seconds_text(std::chrono::milliseconds limit) {
  const auto ms = limit.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// In the child: become the user, or say why not. After this, the process
// has the user's credentials and no way back.
std::optional<std::string> become(const User& user, const std::vector<gid_t>& groups) {
  uid_t r = 0, e = 0, s = 0;
  ::getresuid(&r, &e, &s);
  if (r == user.uid && e == user.uid && s == user.uid && ::getegid() == user.gid) return std::nullopt;
  if (e != 0) return "cannot act as uid " + std::to_string(user.uid) + ": this process is not root";
  if (::setgroups(groups.size(), groups.data()) != 0) return "setgroups: " + errno_text();
  if (::setresgid(user.gid, user.gid, user.gid) != 0) return "setresgid: " + errno_text();
  if (::setresuid(user.uid, user.uid, user.uid) != 0) return "setresuid: " + errno_text();
  if (user.uid != 0) {
    // A process that could regain root is not the user's.
    if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setegid(0) == 0) return "could become root again";
  }
  gid_t gr = 0, ge = 0, gs = 0;
  ::getresuid(&r, &e, &s);
  ::getresgid(&gr, &ge, &gs);
  if (r != user.uid || e != user.uid || s != user.uid || gr != user.gid || ge != user.gid || gs != user.gid) {
    return "the credentials did not change";
  }
  // The kernel already makes a process that changed its uid undumpable;
  // said again because the descriptors it inherited are root's.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return std::nullopt;
}

// One message: 'o' or 'e', then the bytes; a descriptor alongside.
void send_reply(int sock, const Result<ChildReply>& reply) {
  std::string message = reply ? "o" + reply->bytes : "e" + reply.error().message;
  if (message.size() > kMaxReply) message.resize(kMaxReply);
  iovec iov{message.data(), message.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (reply && reply->fd.ok()) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    const int fd = reply->fd.get();
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  (void)::sendmsg(sock, &msg, MSG_NOSIGNAL);
}

Result<ChildReply> receive_reply(int sock) {
  std::string buf(kMaxReply, '\0');
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = 0;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return Error{""};  // no reply: the caller says how the child ended
  ChildReply reply;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      reply.fd = Fd(fd);
    }
  }
  buf.resize(static_cast<std::size_t>(n));
  if (buf[0] == 'e') return Error{buf.substr(1)};
  reply.bytes = buf.substr(1);
  return reply;
}

// Waits for the child until `deadline`, then kills it. A child stuck in
// the kernel (a hung NFS server) may outlive SIGKILL; it is then left to
// init rather than holding this process.
std::optional<int> reap(pid_t pid, Clock::time_point deadline) {
  // Woken when the child ends (pidfd, Linux 5.3), rather than by polling.
  Fd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  for (bool killed = false;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) {
      if (killed) return std::nullopt;
      ::kill(pid, SIGKILL);
      killed = true;
      deadline = Clock::now() + std::chrono::milliseconds(200);
    }
    if (exited.ok()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{exited.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left < 1 ? 1 : left));
    } else {
      const timespec pause{0, 2'000'000};
      ::nanosleep(&pause, nullptr);
    }
  }
}

std::string ended_how(std::optional<int> status) {
  if (!status) return "did not end";
  if (WIFSIGNALED(*status)) return "was killed by signal " + std::to_string(WTERMSIG(*status));
  return "exited with status " + std::to_string(WEXITSTATUS(*status)) + " and no result";
}

}  // namespace

std::vector<gid_t> user_groups(const User& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(user.uid, &pw, buf.data(), buf.size(), &found) != 0 || !found) return {user.gid};
  std::vector<gid_t> groups(64);
  for (int tries = 0; tries < 4; ++tries) {
    int n = static_cast<int>(groups.size());
    if (::getgrouplist(found->pw_name, user.gid, groups.data(), &n) >= 0) {
      groups.resize(static_cast<std::size_t>(n));
      return groups;
    }
    groups.resize(static_cast<std::size_t>(n) > groups.size() ? static_cast<std::size_t>(n) : groups.size() * 2);
  }
  return {user.gid};
}

Result<ChildReply> run_in_child(const std::optional<User>& user, std::chrono::milliseconds limit,
                                const std::function<Result<ChildReply>()>& work) {
  // Looked up before the fork: the child runs no name service.
  const std::vector<gid_t> groups = user ? user_groups(*user) : std::vector<gid_t>{};
  int socks[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) != 0) {
    return Error{"cannot make a socket pair: " + errno_text()};
  }
  Fd parent_end(socks[0]), child_end(socks[1]);
  const auto deadline = Clock::now() + limit;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Error{"cannot fork: " + errno_text()};
  if (pid == 0) {
    parent_end = Fd();
    Result<ChildReply> reply = Error{""};
    if (auto why = user ? become(*user, groups) : std::nullopt) {
      reply = Error{"cannot become uid " + std::to_string(user->uid) + ": " + *why};
    } else {
      // Dies with its parent: a watchdog that kills the Prolog's work kills
      // the children that work started too. Set after become(), which
      // clears it, and checked, in case the parent died first.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (::getppid() != parent) ::_exit(1);
      try {
        reply = work();
      } catch (const std::exception& e) {
        reply = Error{std::string("unexpected failure: ") + e.what()};
      }
    }
    send_reply(child_end.get(), reply);
    ::_exit(0);
  }
  child_end = Fd();
  Result<ChildReply> reply = Error{""};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      reap(pid, Clock::now());
      return Error{"did not finish within " + seconds_text(limit)};
    }
    pollfd p{parent_end.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      reap(pid, Clock::now());
      return Error{"cannot wait for the child process: " + errno_text()};
    }
    if (n == 0) continue;  // the deadline, checked above
    reply = receive_reply(parent_end.get());
    break;
  }
  const auto status = reap(pid, deadline);
  if (!reply && reply.error().message.empty()) return Error{"the child process " + ended_how(status)};
  return reply;
}

}  // namespace batchai::prolog
