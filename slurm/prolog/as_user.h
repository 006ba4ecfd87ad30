// Work done in a child process: as the job's user (so that root writes
// nothing the user prepared, and the kernel checks the user's own rights),
// or as root under a time limit (so that a hung filesystem or a FIFO ends
// the work instead of holding the node until Slurm drains it).
//
// The child sends its result back over a socket: bytes, and at most one
// descriptor (SCM_RIGHTS), which lets the parent use exactly the directory
// the user's child opened. The child never execs and never returns into
// the caller: it runs the work and _exits. Library code: errors are
// values.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/result.h"
#include "slurm/prolog/fd.h"

namespace batchai::prolog {

// Whom a child becomes: the job's user and primary group, from Slurm.
struct User {
  uid_t uid = 0;
  gid_t gid = 0;
};

// What a child sends back.
struct ChildReply {
  std::string bytes;
  Fd fd;
};

// Runs `work` in a child process and returns what it returned. With a
// user, the child first drops every privilege: the user's supplementary
// groups (getgrouplist), then setresgid and setresuid, then it checks that
// it cannot become root again and makes itself undumpable (so the user
// cannot ptrace it for root's descriptors). A process already running as
// that user (a test, job-step mode) runs the work as it is; a process that
// is neither root nor the user gets an error. The child is killed once
// `limit` has passed, and the error says so; a child that dies says how.
Result<ChildReply> run_in_child(const std::optional<User>& user, std::chrono::milliseconds limit,
                                const std::function<Result<ChildReply>()>& work);

// The groups a child of `user` keeps: the user's primary group and those
// getgrouplist finds for the user's name; the primary group alone for a
// uid with no passwd entry.
std::vector<gid_t> user_groups(const User& user);

namespace detail {
template <class R>
struct ChildResult;
template <>
struct ChildResult<Status> {
  static Result<ChildReply> pack(Status s) {
    if (!s) return s.error();
    return ChildReply{"", Fd()};
  }
  static Status unpack(Result<ChildReply> r) {
    if (!r) return r.error();
    return {};
  }
};
template <>
struct ChildResult<Result<std::string>> {
  static Result<ChildReply> pack(Result<std::string> s) {
    if (!s) return s.error();
    return ChildReply{std::move(*s), Fd()};
  }
  static Result<std::string> unpack(Result<ChildReply> r) {
    if (!r) return r.error();
    return std::move(r->bytes);
  }
};
template <>
struct ChildResult<Result<Fd>> {
  static Result<ChildReply> pack(Result<Fd> s) {
    if (!s) return s.error();
    return ChildReply{"", std::move(*s)};
  }
  static Result<Fd> unpack(Result<ChildReply> r) {
    if (!r) return r.error();
    if (!r->fd.ok()) return Error{"the child process sent no descriptor"};
    return std::move(r->fd);
  }
};
}  // namespace detail

// `work()` (returning Status, Result<std::string> or Result<Fd>) as the
// job's user, in a child process killed after `limit`.
template <class F>
auto as_user(const User& user, std::chrono::milliseconds limit, F&& work) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  return detail::ChildResult<R>::unpack(
      run_in_child(user, limit, [&]() { return detail::ChildResult<R>::pack(work()); }));
}

// `work()` with this process's own identity, in a child process killed
// after `limit`: the watchdog of the Prolog and Epilog.
template <class F>
auto within(std::chrono::milliseconds limit, F&& work) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  return detail::ChildResult<R>::unpack(
      run_in_child(std::nullopt, limit, [&]() { return detail::ChildResult<R>::pack(work()); }));
}

}  // namespace batchai::prolog
