// -o yaml: a result as az printed it, with PyYAML's
// yaml.safe_dump(result, default_flow_style=False). PyYAML's emitter is a
// port of libyaml's, so libyaml writes the layout (block mappings, "- "
// items level with their key, lines folded at 80 columns, quoting); what
// PyYAML decides before the emitter runs is done here: keys sorted, a
// string quoted where YAML 1.1 would read it as another type ('123',
// 'yes', '2018-05-01', ''), floats in Python's repr with ".0" before an
// exponent (1.0e-07), non-ASCII escaped as az left allow_unicode off.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "base/result.h"

namespace batchai::frontend {

// The YAML document, ending in a newline.
Result<std::string> to_yaml(const boost::json::value& value);

// Whether PyYAML's resolver reads `text`, written plain, as something other
// than a string (bool, int, float, null, timestamp, merge or value key).
bool yaml_implicit_non_string(std::string_view text);

// ANSI colour for -o yamlc: mapping keys in one colour, as az's pygments
// lexer does, on the text to_yaml() made.
std::string colour_yaml(const std::string& yaml);

}  // namespace batchai::frontend
