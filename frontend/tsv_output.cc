#include "frontend/tsv_output.h"

#include <algorithm>
#include <string>
#include <vector>

#include "frontend/output.h"
#include "frontend/pynum.h"
#include "frontend/query.h"

namespace batchai::frontend {
namespace {

// A value inside a line, as Python's str() of it, except that a list is
// its length and an object nothing: nested values would break the columns.
std::string field(const boost::json::value& v) {
  if (pynum::is_number(v)) return pynum::str(v);
  switch (v.kind()) {
    case boost::json::kind::null:
      return "None";
    case boost::json::kind::bool_:
      return v.get_bool() ? "True" : "False";
    case boost::json::kind::string:
      return std::string(v.get_string());
    case boost::json::kind::array:
      return std::to_string(v.get_array().size());
    case boost::json::kind::object:
      return "";
    default:
      return compact_json(v);
  }
}

std::string line(const boost::json::value& item,
                 const std::function<bool(const boost::json::object&)>& built_by_query) {
  std::string s;
  bool first = true;
  auto add = [&](const boost::json::value& v) {
    if (!first) s += '\t';
    first = false;
    s += field(v);
  };
  if (item.is_object() && !pynum::is_number(item)) {
    const auto& o = item.get_object();
    if (built_by_query && built_by_query(o)) {
      for (const auto& kv : o) add(kv.value());
    } else {
      for (const auto* kv : sorted_members(o)) add(kv->value());
    }
    return s;
  }
  if (item.is_array()) {
    for (const auto& v : item.get_array()) add(v);
    return s;
  }
  if (item.is_bool()) return item.get_bool() ? "true" : "false";
  return field(item);
}

}  // namespace

void print_tsv(std::ostream& out, const boost::json::value& result,
               const std::function<bool(const boost::json::object&)>& built_by_query) {
  if (result.is_array() && !pynum::is_number(result)) {
    for (const auto& item : result.get_array()) out << line(item, built_by_query) << "\n";
    return;
  }
  out << line(result, built_by_query) << "\n";
}

}  // namespace batchai::frontend
