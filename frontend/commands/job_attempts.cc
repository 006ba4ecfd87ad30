#include "frontend/commands/job_attempts.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace batchai::frontend {
namespace {

namespace json = boost::json;

std::optional<long> whole_number(const std::string& text) {
  long n = 0;
  const char* end = text.data() + text.size();
  auto [at, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{} || at != end || text.empty()) return std::nullopt;
  return n;
}

// One attempt's key=value lines. The job wrote them, so every value is
// taken as text and numbers only when they are whole numbers.
json::object read_attempt(const std::filesystem::path& file, long number) {
  std::map<std::string, std::string> kv;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  auto text = [&](const char* key) -> json::value {
    auto it = kv.find(key);
    return it == kv.end() || it->second.empty() ? json::value(nullptr) : json::value(it->second);
  };
  auto number_of = [&](const char* key) -> json::value {
    auto it = kv.find(key);
    if (it == kv.end()) return nullptr;
    auto n = whole_number(it->second);
    return n ? json::value(*n) : json::value(nullptr);
  };
  // Counted from 1, as the line each log gets before a restart counts them
  // ("attempt 2 (restart 1)"); the file is named by the restart count.
  json::object a{{"attempt", number + 1},
                 {"slurmJobId", number_of("slurm_job_id")},
                 {"nodes", text("nodes")},
                 {"startTime", text("start_time")},
                 {"endTime", text("end_time")},
                 {"endReason", text("end_reason")},
                 {"exitCode", number_of("exit_code")}};
  if (auto c = text("checkpoint"); !c.is_null()) a["checkpoint"] = c;
  return a;
}

}  // namespace

json::array job_attempts(const std::string& job_dir) {
  std::vector<std::pair<long, std::filesystem::path>> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(job_dir + "/attempts", ec)) {
    // Only the records, not a record being written (.<n>.<pid>).
    auto n = whole_number(entry.path().filename().string());
    if (n && *n >= 0 && entry.is_regular_file(ec)) files.emplace_back(*n, entry.path());
  }
  std::sort(files.begin(), files.end());
  json::array attempts;
  for (const auto& [n, path] : files) attempts.push_back(read_attempt(path, n));
  return attempts;
}

}  // namespace batchai::frontend
