// Small pieces both node-side steps walk paths with: an owned descriptor,
// and a relative path's components.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace batchai::prolog {

// An open descriptor, closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// The current errno as text, for messages.
inline std::string errno_text() { return std::strerror(errno); }

// "a//b/./c" -> {"a", "b", "c"}; ".." is kept, for the caller to refuse.
inline std::vector<std::string> components(std::string_view relative) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    std::string part(relative.substr(start, end - start));
    if (!part.empty() && part != ".") parts.emplace_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

}  // namespace batchai::prolog
