#include "slurm/prolog/safe_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace batchai::prolog {

Result<Fd> create_new_file(const Fd& dir, const std::string& name, mode_t mode) {
  if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return Error{"cannot replace '" + name + "': " + errno_text()};
  }
  Fd fd(::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode));
  if (!fd.ok()) return Error{"cannot create '" + name + "': " + errno_text()};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{"cannot inspect '" + name + "': " + errno_text()};
  // O_EXCL made it, so this holds unless something is badly wrong; checked
  // because the whole point is never to write into someone else's file.
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
    return Error{"'" + name + "' is not a new regular file with one link"};
  }
  return fd;
}

Status write_new_file(const Fd& dir, const std::string& name, std::string_view text, mode_t mode) {
  const std::string temp = "." + name + ".tmp";
  auto fd = create_new_file(dir, temp, mode);
  if (!fd) return fd.error();
  auto fail = [&](const std::string& why) {
    ::unlinkat(dir.get(), temp.c_str(), 0);
    return Error{why};
  };
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd->get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write '" + name + "': " + errno_text());
    done += static_cast<std::size_t>(n);
  }
  // The mode asked for, whatever the umask took away.
  if (::fchmod(fd->get(), mode) != 0) return fail("cannot set the mode of '" + name + "': " + errno_text());
  if (::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
    return fail("cannot replace '" + name + "': " + errno_text());
  }
  return {};
}

}  // namespace batchai::prolog
