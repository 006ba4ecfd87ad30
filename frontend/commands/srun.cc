#include "frontend/commands/srun.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

namespace batchai::frontend {

Result<int> run_srun(const Context& ctx, const std::vector<std::string>& args) {
  std::vector<std::string> argv_s{"srun"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = ctx.environment;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (int e = ::posix_spawnp(&pid, "srun", nullptr, nullptr, argv.data(), envp.data()); e != 0) {
    return Error{"cannot run srun: " + std::string(std::strerror(e))};
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error{"waiting for srun: " + std::string(std::strerror(errno))};
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace batchai::frontend
