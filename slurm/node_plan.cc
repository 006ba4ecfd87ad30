#include "slurm/node_plan.h"

#include <boost/json.hpp>

namespace batchai::slurm {

namespace json = boost::json;

std::string node_plan_json(const NodePlan& plan) {
  json::array volumes;
  for (const auto& v : plan.volumes) {
    volumes.push_back(json::object{{"relativeMountPath", v.relative_path}, {"source", v.source}});
  }
  return json::serialize(json::object{{"version", 1}, {"volumes", std::move(volumes)}});
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
    if (!rel || !rel->is_string() || !src || !src->is_string()) {
      return Error{at + ": expected {\"relativeMountPath\": string, \"source\": string}"};
    }
    NodeVolume vol{std::string(rel->as_string()), std::string(src->as_string())};
    if (!stays_below(vol.relative_path)) {
      return Error{at + ".relativeMountPath: \"" + vol.relative_path + "\" escapes the job's mount root"};
    }
    if (vol.source.empty() || vol.source.front() != '/' || vol.source.find('\n') != std::string::npos) {
      return Error{at + ".source: expected an absolute path, got \"" + vol.source + "\""};
    }
    plan.volumes.push_back(std::move(vol));
  }
  return plan;
}

}  // namespace batchai::slurm
