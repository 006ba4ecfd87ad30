#include "frontend/commands/job_files.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace batchai::frontend {

namespace fs = std::filesystem;

namespace {

// "." and plain names only: the listing must stay inside the directory.
Status check_relative(const std::string& path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return Error{"--path: '" + path + "' leaves the directory"};
    start = end + 1;
  }
  if (!path.empty() && path.front() == '/') return Error{"--path: '" + path + "' must be relative"};
  return {};
}

}  // namespace

Result<std::string> directory_inside(const std::string& dir, const std::string& path) {
  if (auto ok = check_relative(path); !ok) return ok.error();
  return path.empty() || path == "." ? dir : dir + "/" + path;
}

std::vector<ListedFile> list_directory(const std::string& dir) {
  std::vector<ListedFile> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    ListedFile f;
    f.name = e.path().filename().string();
    f.path = e.path().string();
    f.is_directory = e.is_directory(ec);
    f.size = f.is_directory ? 0 : e.file_size(ec);
    const auto mtime = fs::last_write_time(e.path(), ec);
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
        mtime - fs::file_time_type::clock::now() + std::chrono::system_clock::now().time_since_epoch());
    f.modified = static_cast<std::time_t>(secs.count());
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(), [](const ListedFile& a, const ListedFile& b) { return a.name < b.name; });
  return files;
}

Result<std::optional<std::string>> job_output_directory(const state::Job& job, const std::string& id,
                                                        const std::string& path) {
  if (auto ok = check_relative(path); !ok) return ok.error();
  std::ifstream in(job.job_dir + "/directories");
  if (!in) return std::optional<std::string>{};
  std::string ids;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    if (key == id) {
      std::string dir = line.substr(eq + 1);
      if (!path.empty() && path != ".") dir += "/" + path;
      return std::optional<std::string>{dir};
    }
    ids += (ids.empty() ? "" : ", ") + key;
  }
  return Error{"--output-directory-id: job '" + job.key.job + "' has no output directory '" + id + "' (it has " +
               ids + ")"};
}

}  // namespace batchai::frontend
