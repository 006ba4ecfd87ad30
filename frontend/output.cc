#include "frontend/output.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <ostream>
#include <vector>

#include "frontend/pynum.h"
#include "frontend/query.h"
#include "frontend/tsv_output.h"
#include "frontend/yaml_output.h"

namespace batchai::frontend {
namespace {

void pretty(const boost::json::value& v, std::string& out, int indent) {
  const std::string pad(indent + 2, ' ');
  if (pynum::is_bigint(v)) {  // an int past 64 bits, printed bare
    out += compact_json(v);
    return;
  }
  switch (v.kind()) {
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      if (obj.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto* kv : sorted_members(obj)) {
        if (!first) out += ",\n";
        first = false;
        out += pad + boost::json::serialize(boost::json::string(kv->key())) + ": ";
        pretty(kv->value(), out, indent + 2);
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
      out += compact_json(v);
  }
}

// A cell's text: strings bare, null empty, numbers as Python's str() spells
// them (inf, not Infinity), anything else as JSON.
std::string cell(const boost::json::value* v) {
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_bool()) return v->get_bool() ? "True" : "False";  // az's spelling
  if (pynum::is_number(*v)) return pynum::str(*v);
  return compact_json(*v);
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

std::vector<const boost::json::key_value_pair*> sorted_members(const boost::json::object& o) {
  std::vector<const boost::json::key_value_pair*> members;
  members.reserve(o.size());
  for (const auto& kv : o) members.push_back(&kv);
  std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
  return members;
}

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

namespace {

using Cells = std::vector<std::vector<std::string>>;

// -o table: aligned under the headers, the last column unpadded.
void print_rows(const Context& ctx, const std::vector<std::string>& headers, const Cells& cells) {
  std::ostream& out = *ctx.out;
  std::vector<std::size_t> width;
  for (const auto& h : headers) width.push_back(h.size());
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  auto print_line = [&](auto&& text_of) {
    std::string s;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      std::string t = text_of(i);
      if (i + 1 < headers.size()) t.resize(width[i], ' ');
      s += (i ? "  " : "") + t;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  print_line([&](std::size_t i) { return headers[i]; });
  print_line([&](std::size_t i) { return std::string(width[i], '-'); });
  for (const auto& line : cells) print_line([&](std::size_t i) { return line[i]; });
}

// The command's own rows, under the command's own columns.
void print_objects(const Context& ctx, const boost::json::value& value, std::span<const Column> columns) {
  std::vector<std::string> headers;
  for (const auto& c : columns) headers.emplace_back(c.header);
  Cells cells;
  for (const auto* row : rows_of(value)) {
    std::vector<std::string> line;
    for (const auto& c : columns) line.push_back(cell(row->if_contains(c.key)));
    cells.push_back(std::move(line));
  }
  print_rows(ctx, headers, cells);
}

// A query's result as rows, as az shows one: the command's columns while
// the rows are rows the command emitted (a filter, an index, a sort), the
// objects' keys once the query built new ones ({name: name}) or went inside
// one (nodeStateCounts), Column1.. for arrays ([name, state]), and a single
// "Result" column for scalars.
void print_queried(const Context& ctx, const boost::json::value& input, const boost::json::value& result,
                   std::span<const Column> columns) {
  boost::json::array single;
  if (!result.is_array()) single.push_back(result);
  const boost::json::array& items = result.is_array() ? result.get_array() : single;
  auto all = [&](auto&& pred) { return std::all_of(items.begin(), items.end(), pred); };
  std::vector<std::string> headers;
  Cells cells;
  if (items.empty()) {
    print_objects(ctx, result, columns);  // nothing matched: the command's empty table
    return;
  }
  if (all([](const boost::json::value& e) { return pynum::is_object(e); })) {
    auto emitted = rows_of(input);
    if (all([&](const boost::json::value& e) {
          return std::any_of(emitted.begin(), emitted.end(), [&](const auto* row) { return *row == e.get_object(); });
        })) {
      print_objects(ctx, result, columns);
      return;
    }
    std::vector<std::string> keys;
    for (const auto& e : items) {
      for (const auto& [k, _] : e.get_object()) {
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.emplace_back(k);
      }
    }
    // A table has no room for nested values (az leaves them out): a key
    // goes when every value it has set is an object or an array.
    {
      std::vector<std::string> flat;
      for (const auto& k : keys) {
        bool nested = false, scalar = false;
        for (const auto& e : items) {
          const boost::json::value* v = e.get_object().if_contains(k);
          if (!v || v->is_null()) continue;
          (pynum::is_object(*v) || v->is_array() ? nested : scalar) = true;
        }
        if (scalar || !nested) flat.push_back(k);
      }
      if (!flat.empty()) keys = std::move(flat);
    }
    for (const auto& k : keys) {
      std::string h = k;
      if (!h.empty() && h[0] >= 'a' && h[0] <= 'z') h[0] = static_cast<char>(h[0] - 'a' + 'A');  // az's headers
      headers.push_back(std::move(h));
    }
    for (const auto& e : items) {
      std::vector<std::string> line;
      for (const auto& k : keys) line.push_back(cell(e.get_object().if_contains(k)));
      cells.push_back(std::move(line));
    }
  } else if (all([](const boost::json::value& e) { return e.is_array(); })) {
    std::size_t n = 0;
    for (const auto& e : items) n = std::max(n, e.get_array().size());
    for (std::size_t i = 0; i < n; ++i) headers.push_back("Column" + std::to_string(i + 1));
    for (const auto& e : items) {
      std::vector<std::string> line;
      for (std::size_t i = 0; i < n; ++i) line.push_back(cell(i < e.get_array().size() ? &e.get_array()[i] : nullptr));
      cells.push_back(std::move(line));
    }
  }
  if (headers.empty()) {  // scalars, or objects and arrays with nothing in them
    headers.push_back("Result");
    cells.clear();
    for (const auto& e : items) cells.push_back({cell(&e)});
  }
  print_rows(ctx, headers, cells);
}

}  // namespace

namespace {

// -o jsonc on a terminal: pretty_json's layout, keys, strings and other
// scalars each in a colour.
void coloured(const boost::json::value& v, std::string& out, int indent) {
  constexpr const char* kKey = "\x1b[94m";
  constexpr const char* kString = "\x1b[32m";
  constexpr const char* kScalar = "\x1b[36m";
  constexpr const char* kReset = "\x1b[0m";
  const std::string pad(indent + 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto* kv : sorted_members(v.get_object())) {
      if (!first) out += ",\n";
      first = false;
      out += pad + kKey + boost::json::serialize(boost::json::string(kv->key())) + kReset + ": ";
      coloured(kv->value(), out, indent + 2);
    }
    out += "\n" + std::string(indent, ' ') + "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    const auto& arr = v.get_array();
    out += "[\n";
    for (std::size_t i = 0; i < arr.size(); ++i) {
      out += pad;
      coloured(arr[i], out, indent + 2);
      out += i + 1 < arr.size() ? ",\n" : "\n";
    }
    out += std::string(indent, ' ') + "]";
  } else {
    out += (v.is_string() ? kString : kScalar) + pretty_json(v) + kReset;
  }
}

// The result in a format that prints the whole value; table prints rows
// instead, and tsv lines (tsv_output.h).
Status print_document(const Context& ctx, const boost::json::value& value) {
  switch (ctx.format) {
    case OutputFormat::jsonc:
      if (ctx.out_is_tty) {
        std::string text;
        coloured(value, text, 0);
        *ctx.out << text << "\n";
        return {};
      }
      [[fallthrough]];  // not a terminal: plain json, as az does
    case OutputFormat::json:
      *ctx.out << pretty_json(value) << "\n";
      return {};
    case OutputFormat::yaml:
    case OutputFormat::yamlc: {
      auto text = to_yaml(value);
      if (!text) return text.error();
      *ctx.out << (ctx.format == OutputFormat::yamlc && ctx.out_is_tty ? colour_yaml(*text) : *text);
      return {};
    }
    default:
      return {};
  }
}

// Anywhere in `tree`: the objects az's --query passes through from the
// command's result, as against those it builds.
bool appears_in(const boost::json::value& tree, const boost::json::object& o) {
  if (tree.is_object()) {
    if (tree.get_object() == o) return true;
    for (const auto& [_, v] : tree.get_object()) {
      if (appears_in(v, o)) return true;
    }
  } else if (tree.is_array()) {
    for (const auto& v : tree.get_array()) {
      if (appears_in(v, o)) return true;
    }
  }
  return false;
}

}  // namespace

Status emit(const Context& ctx, const boost::json::value& value, std::span<const Column> columns) {
  if (!ctx.query) {
    if (ctx.format == OutputFormat::none) return {};
    if (ctx.format == OutputFormat::tsv) {
      print_tsv(*ctx.out, value);
      return {};
    }
    if (ctx.format != OutputFormat::table) return print_document(ctx, value);
    print_objects(ctx, value, columns);
    return {};
  }
  // -o none still applies the query: a query that cannot apply fails the
  // command whatever is printed.
  auto result = apply(*ctx.query, value);
  if (!result) return result.error();
  if (result->is_null()) return {};  // az prints nothing when the query finds nothing
  if (ctx.format == OutputFormat::none) return {};
  if (ctx.format == OutputFormat::tsv) {
    print_tsv(*ctx.out, *result, [&](const boost::json::object& o) { return !appears_in(value, o); });
    return {};
  }
  if (ctx.format != OutputFormat::table) return print_document(ctx, *result);
  print_queried(ctx, value, *result, columns);
  return {};
}

}  // namespace batchai::frontend
