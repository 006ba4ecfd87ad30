#include "base/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace batchai {
namespace {

// Beside the target, so the rename stays on one filesystem; per process, so
// two writers never share one.
std::string temporary_beside(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

}  // namespace

Result<std::string> read_text_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{std::string(what) + ": cannot read '" + path + "': " + std::strerror(errno)};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status write_file_atomic(const std::string& path, std::string_view content, unsigned mode, bool durable) {
  const std::string tmp = temporary_beside(path);
  auto fail = [&](const char* what) {
    Error e{"cannot " + std::string(what) + " '" + path + "': " + std::strerror(errno)};
    ::unlink(tmp.c_str());
    return e;
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fail("create");
  // open() applies the umask; fchmod makes the mode exactly what was asked.
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    return fail("set the mode of");
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0) return fail("write");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename onto");
  return {};
}

Result<std::uint64_t> copy_file_atomic(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Error{"cannot read '" + from + "': " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = errno;
    ::close(in);
    return Error{"'" + from + "' is not a regular file" + (err ? std::string(": ") + std::strerror(err) : "")};
  }
  const std::string tmp = temporary_beside(to);
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  auto fail = [&](const std::string& what, int err) {
    Error e{"cannot " + what + " '" + to + "': " + std::strerror(err)};
    if (out >= 0) ::close(out);
    ::close(in);
    ::unlink(tmp.c_str());
    return e;
  };
  if (out < 0) return fail("create", errno);
  std::uint64_t total = 0;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("read '" + from + "' into", errno);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail("write", errno);
      done += w;
    }
    total += static_cast<std::uint64_t>(n);
  }
  if (::fchmod(out, st.st_mode & 07777 & ~static_cast<mode_t>(S_ISUID | S_ISGID)) != 0) return fail("set the mode of", errno);
  if (::fsync(out) != 0) return fail("write", errno);
  const int closed = ::close(out);
  ::close(in);
  if (closed != 0 || ::rename(tmp.c_str(), to.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error{"cannot write '" + to + "': " + std::strerror(err)};
  }
  return total;
}

bool is_temporary_name(std::string_view name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string_view::npos || at + 5 == name.size()) return false;
  return name.find_first_not_of("0123456789", at + 5) == std::string_view::npos;
}

}  // namespace batchai
