#include "frontend/output.h"

#include <boost/json/serialize.hpp>
#include <ostream>
#include <vector>

namespace batchai::frontend {
namespace {

void pretty(const boost::json::value& v, std::string& out, int indent) {
  const std::string pad(indent + 2, ' ');
  switch (v.kind()) {
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      if (obj.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& [key, child] : obj) {
        if (!first) out += ",\n";
        first = false;
        out += pad + boost::json::serialize(boost::json::string(key)) + ": ";
        pretty(child, out, indent + 2);
      }
      out += "\n" + std::string(indent, ' ') + "}";
      return;
    }
    case boost::json::kind::array: {
      const auto& arr = v.get_array();
      if (arr.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < arr.size(); ++i) {
        out += pad;
        pretty(arr[i], out, indent + 2);
        out += i + 1 < arr.size() ? ",\n" : "\n";
      }
      out += std::string(indent, ' ') + "]";
      return;
    }
    default:
      out += boost::json::serialize(v);
  }
}

// A cell's text: strings bare, null empty, anything else as JSON.
std::string cell(const boost::json::value* v) {
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_bool()) return v->get_bool() ? "True" : "False";  // az's spelling
  return boost::json::serialize(*v);
}

std::vector<const boost::json::object*> rows_of(const boost::json::value& value) {
  std::vector<const boost::json::object*> rows;
  if (value.is_object()) rows.push_back(&value.get_object());
  if (value.is_array()) {
    for (const auto& e : value.get_array()) {
      if (e.is_object()) rows.push_back(&e.get_object());
    }
  }
  return rows;
}

}  // namespace

std::string pretty_json(const boost::json::value& value) {
  std::string out;
  pretty(value, out, 0);
  return out;
}

boost::json::value iso_time(std::time_t t) {
  if (t == 0) return nullptr;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return boost::json::string(buf);
}

void emit(const Context& ctx, const boost::json::value& value, std::span<const Column> columns) {
  std::ostream& out = *ctx.out;
  if (ctx.format == OutputFormat::json) {
    out << pretty_json(value) << "\n";
    return;
  }
  auto rows = rows_of(value);
  std::vector<std::vector<std::string>> cells;
  for (const auto* row : rows) {
    std::vector<std::string> line;
    for (const auto& c : columns) line.push_back(cell(row->if_contains(c.key)));
    cells.push_back(std::move(line));
  }
  if (ctx.format == OutputFormat::tsv) {
    for (const auto& line : cells) {
      for (std::size_t i = 0; i < line.size(); ++i) out << (i ? "\t" : "") << line[i];
      out << "\n";
    }
    return;
  }
  std::vector<std::size_t> width;
  for (const auto& c : columns) width.push_back(c.header.size());
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  auto print_line = [&](auto&& text_of) {
    std::string s;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::string t = text_of(i);
      if (i + 1 < columns.size()) t.resize(width[i], ' ');
      s += (i ? "  " : "") + t;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  print_line([&](std::size_t i) { return std::string(columns[i].header); });
  print_line([&](std::size_t i) { return std::string(width[i], '-'); });
  for (const auto& line : cells) print_line([&](std::size_t i) { return line[i]; });
}

}  // namespace batchai::frontend
