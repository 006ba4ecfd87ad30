#include "io/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace batchai {

Result<std::string> read_text_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{std::string(what) + ": cannot read '" + path + "': " + std::strerror(errno)};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace batchai
