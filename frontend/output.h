// Rendering command results the way az does: JSON by default (indented), an
// aligned table with named columns for -o table, and az's tab-separated
// lines for -o tsv (tsv_output.h), which scripts cut(1) apart.
#pragma once

#include <boost/json/value.hpp>
#include <ctime>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/cli.h"

namespace batchai::frontend {

struct Column {
  std::string_view header;  // "Name"
  std::string_view key;     // top-level key of each object, "name"
};

// Writes `value` (an object, or an array of objects) to ctx.out in ctx.format,
// after the global --query when one was given. Fails, printing nothing, when
// the query cannot apply to this value (a function given the wrong type),
// which only the result can tell; the command returns that error.
Status emit(const Context& ctx, const boost::json::value& value, std::span<const Column> columns);

// An object's members in the order of their keys, as Python's sort_keys
// and PyYAML give them (byte order of UTF-8 is code point order).
std::vector<const boost::json::key_value_pair*> sorted_members(const boost::json::object& o);

// Indented JSON, two spaces per level, keys sorted, as az prints it.
std::string pretty_json(const boost::json::value& value);

// ISO-8601 UTC ("2026-11-24T08:01:02Z"), or null for 0 (not yet happened).
boost::json::value iso_time(std::time_t t);

}  // namespace batchai::frontend
