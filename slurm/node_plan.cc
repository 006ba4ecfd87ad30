#include "slurm/node_plan.h"

#include <boost/json.hpp>

namespace batchai::slurm {

namespace json = boost::json;

std::string node_plan_json(const NodePlan& plan) {
  json::array volumes;
  for (const auto& v : plan.volumes) {
    json::object o{{"relativeMountPath", v.relative_path}};
    if (v.refused.empty()) {
      o["source"] = v.source;
    } else {
      o["refused"] = v.refused;
    }
    if (v.directory_mode) o["directoryMode"] = mode_text(*v.directory_mode);
    volumes.push_back(std::move(o));
  }
  return json::serialize(json::object{{"version", 1}, {"volumes", std::move(volumes)}});
}

std::optional<unsigned> parse_mode(std::string_view text) {
  if (text.size() == 4 && text.front() == '0') text.remove_prefix(1);
  if (text.size() != 3) return std::nullopt;
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  return mode;
}

std::string mode_text(unsigned mode) {
  std::string out = "0000";
  for (int i = 3; i > 0; --i, mode /= 8) out[i] = static_cast<char>('0' + mode % 8);
  return out;
}

bool stays_below(std::string_view relative) {
  if (relative.empty() || relative.front() == '/' || relative.find('\n') != std::string_view::npos ||
      relative.find('\0') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    if (relative.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

std::optional<std::string> normal_relative(std::string_view relative) {
  if (!stays_below(relative)) return std::nullopt;
  std::string out;
  std::size_t start = 0;
  while (start <= relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    const std::string_view part = relative.substr(start, end - start);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = end + 1;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Result<NodePlan> parse_node_plan(std::string_view text, std::string_view file) {
  const std::string where(file);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error{where + ": not JSON: " + ec.message()};
  const auto* root = v.if_object();
  if (!root) return Error{where + ": expected an object"};
  const auto* version = root->if_contains("version");
  if (!version || !version->is_int64() || version->as_int64() != 1) {
    return Error{where + ": $.version: expected 1 (written by another batchai version?)"};
  }
  NodePlan plan;
  const auto* volumes = root->if_contains("volumes");
  if (!volumes || !volumes->is_array()) return Error{where + ": $.volumes: expected an array"};
  for (std::size_t i = 0; i < volumes->as_array().size(); ++i) {
    const std::string at = where + ": $.volumes[" + std::to_string(i) + "]";
    const auto* o = volumes->as_array()[i].if_object();
    const json::value* rel = o ? o->if_contains("relativeMountPath") : nullptr;
    const json::value* src = o ? o->if_contains("source") : nullptr;
    const json::value* refused = o ? o->if_contains("refused") : nullptr;
    const json::value* mode = o ? o->if_contains("directoryMode") : nullptr;
    if (!rel || !rel->is_string() || (src && !src->is_string()) || (refused && !refused->is_string()) ||
        (mode && !mode->is_string()) || (src == nullptr) == (refused == nullptr)) {
      return Error{at + ": expected {\"relativeMountPath\": string, and \"source\" or \"refused\": string}"};
    }
    NodeVolume vol;
    const auto relative = normal_relative(rel->as_string());
    if (!relative) {
      const std::string_view written = rel->as_string();
      return Error{at + ".relativeMountPath: \"" + std::string(written) + "\" " +
                   (stays_below(written) ? "names the job's mount root itself" : "escapes the job's mount root")};
    }
    vol.relative_path = *relative;
    if (src) vol.source = std::string(src->as_string());
    if (refused) vol.refused = std::string(refused->as_string());
    if (src && (vol.source.empty() || vol.source.front() != '/' || vol.source.find('\n') != std::string::npos)) {
      return Error{at + ".source: expected an absolute path, got \"" + vol.source + "\""};
    }
    if (refused && vol.refused.empty()) return Error{at + ".refused: expected the reason"};
    if (mode) {
      vol.directory_mode = parse_mode(mode->as_string());
      if (!vol.directory_mode) return Error{at + ".directoryMode: expected an octal mode such as \"0755\""};
    }
    plan.volumes.push_back(std::move(vol));
  }
  return plan;
}

}  // namespace batchai::slurm
