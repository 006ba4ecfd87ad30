// A fresh directory under $TMPDIR for one test, removed with everything in it
// when the test ends, so file-format tests write real files and leave none.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace batchai::testing {

// Makes a new directory <prefix>-XXXXXX under $TMPDIR and returns its path,
// or an empty path if it cannot. Named by mkdtemp, never by the pid: pids wrap
// (pid_max is 32768 on our machines), so a directory left by a killed run
// would hand its database to whichever later test drew the same pid. A '/'
// in the prefix (parameterised test names hold one) becomes '-'.
inline std::filesystem::path make_temp_dir(std::string prefix) {
  std::replace(prefix.begin(), prefix.end(), '/', '-');
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  // mkdtemp makes it 0700; tests whose jobs or Prolog children run as another
  // user need the mode create_directories gave before.
  std::error_code ec;
  std::filesystem::permissions(pattern, std::filesystem::perms(0755), ec);
  return pattern;
}

// make_temp_dir named after the running test, for fixtures.
inline std::filesystem::path make_test_dir(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return make_temp_dir(info ? prefix + "-" + info->name() : prefix);
}

class TempDir {
 public:
  TempDir() {
    path_ = make_temp_dir("batchai-test");
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace batchai::testing
