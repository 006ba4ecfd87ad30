#include "frontend/yaml_output.h"

#include <yaml.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <string_view>
#include <vector>

#include "frontend/output.h"
#include "io/json_reader.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

// PyYAML's implicit resolvers (yaml/resolver.py), YAML 1.1. std::regex's
// `$` does not match before a trailing newline as Python's does, but a
// string with a line break is never written plain anyway.
const std::regex& implicit_pattern() {
  static const std::regex re(
      // bool
      "(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)"
      // float
      "|[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?"
      "|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
      "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*"
      "|[-+]?\\.(?:inf|Inf|INF)"
      "|\\.(?:nan|NaN|NAN)"
      // int
      "|[-+]?0b[0-1_]+"
      "|[-+]?0[0-7_]+"
      "|[-+]?(?:0|[1-9][0-9_]*)"
      "|[-+]?0x[0-9a-fA-F_]+"
      "|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
      // merge, null, value
      "|<<|~|null|Null|NULL|="
      // timestamp
      "|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
      "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\\.[0-9]*)?"
      "(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
      std::regex::ECMAScript | std::regex::optimize);
  return re;
}

// PyYAML's represent_float: repr, lower case, ".0" added before an exponent
// that follows no dot, and its own names for the non-finite.
std::string yaml_float(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  std::string s = python_str(json::value(d)).value_or("0.0");
  for (char& c : s) c = static_cast<char>(c == 'E' ? 'e' : c);
  if (s.find('.') == std::string::npos) {
    if (auto e = s.find('e'); e != std::string::npos) s.insert(e, ".0");
  }
  return s;
}

class Emitter {
 public:
  Emitter() {
    ok_ = yaml_emitter_initialize(&emitter_) != 0;
    if (!ok_) return;
    yaml_emitter_set_output(&emitter_, &Emitter::write, this);
    yaml_emitter_set_encoding(&emitter_, YAML_UTF8_ENCODING);
    yaml_emitter_set_unicode(&emitter_, 0);
    yaml_emitter_set_width(&emitter_, 80);
    yaml_emitter_set_indent(&emitter_, 2);
    yaml_emitter_set_break(&emitter_, YAML_LN_BREAK);
  }
  ~Emitter() {
    if (ok_) yaml_emitter_delete(&emitter_);
  }
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  Result<std::string> document(const json::value& v) {
    if (!ok_) return Error{"YAML output: cannot start libyaml's emitter"};
    yaml_event_t e;
    yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING);
    if (!emit(e)) return failure();
    yaml_document_start_event_initialize(&e, nullptr, nullptr, nullptr, 1);
    if (!emit(e)) return failure();
    if (!node(v)) return failure();
    yaml_document_end_event_initialize(&e, 1);
    if (!emit(e)) return failure();
    yaml_stream_end_event_initialize(&e);
    if (!emit(e)) return failure();
    if (!yaml_emitter_flush(&emitter_)) return failure();
    return std::move(out_);
  }

 private:
  static int write(void* self, unsigned char* buffer, size_t size) {
    static_cast<Emitter*>(self)->out_.append(reinterpret_cast<const char*>(buffer), size);
    return 1;
  }

  bool emit(yaml_event_t& e) { return yaml_emitter_emit(&emitter_, &e) != 0; }

  Error failure() const {
    return Error{std::string("YAML output: ") + (emitter_.problem ? emitter_.problem : "libyaml failed")};
  }

  // A scalar PyYAML writes plain when its resolver agrees on the type:
  // numbers, bools and null always; strings unless they look like another
  // type, when libyaml quotes them.
  bool scalar(std::string_view text, bool is_string) {
    const bool plain = !is_string || !yaml_implicit_non_string(text);
    yaml_event_t e;
    auto* bytes = reinterpret_cast<yaml_char_t*>(const_cast<char*>(text.data()));
    if (!yaml_scalar_event_initialize(&e, nullptr, nullptr, bytes, static_cast<int>(text.size()), plain ? 1 : 0, 1,
                                      YAML_ANY_SCALAR_STYLE)) {
      return false;
    }
    return emit(e);
  }

  bool node(const json::value& v) {
    yaml_event_t e;
    switch (v.kind()) {
      case json::kind::object: {
        const auto& obj = v.get_object();
        // safe_dump sorts keys.
        const auto items = sorted_members(obj);
        if (!yaml_mapping_start_event_initialize(&e, nullptr, nullptr, 1, YAML_BLOCK_MAPPING_STYLE)) return false;
        if (!emit(e)) return false;
        for (const auto* kv : items) {
          if (!scalar(kv->key(), true) || !node(kv->value())) return false;
        }
        yaml_mapping_end_event_initialize(&e);
        return emit(e);
      }
      case json::kind::array: {
        if (!yaml_sequence_start_event_initialize(&e, nullptr, nullptr, 1, YAML_BLOCK_SEQUENCE_STYLE)) return false;
        if (!emit(e)) return false;
        for (const auto& item : v.get_array()) {
          if (!node(item)) return false;
        }
        yaml_sequence_end_event_initialize(&e);
        return emit(e);
      }
      case json::kind::string:
        return scalar(v.get_string(), true);
      case json::kind::bool_:
        return scalar(v.get_bool() ? "true" : "false", false);
      case json::kind::null:
        return scalar("null", false);
      case json::kind::int64:
        return scalar(std::to_string(v.get_int64()), false);
      case json::kind::uint64:
        return scalar(std::to_string(v.get_uint64()), false);
      case json::kind::double_:
        return scalar(yaml_float(v.get_double()), false);
    }
    return false;
  }

  yaml_emitter_t emitter_{};
  bool ok_ = false;
  std::string out_;
};

}  // namespace

bool yaml_implicit_non_string(std::string_view text) {
  return std::regex_match(text.begin(), text.end(), implicit_pattern()) || text.empty();
}

Result<std::string> to_yaml(const json::value& value) {
  Emitter emitter;
  return emitter.document(value);
}

std::string colour_yaml(const std::string& yaml) {
  // A plain mapping key is the text before the first ": " (or a final ':')
  // of a line that starts with indentation and "- " markers; plain keys can
  // hold neither. Quoted keys and continuation lines stay uncoloured.
  static const std::regex key(R"(^([ ]*(?:- )*)([^ '"\-?:#][^:]*?)(:(?: |$)))");
  std::string out;
  std::size_t start = 0;
  while (start < yaml.size()) {
    std::size_t end = yaml.find('\n', start);
    if (end == std::string::npos) end = yaml.size();
    std::string line = yaml.substr(start, end - start);
    std::smatch m;
    if (std::regex_search(line, m, key)) {
      out += m[1].str() + "\x1b[94m" + m[2].str() + "\x1b[0m" + m[3].str() + m.suffix().str();
    } else {
      out += line;
    }
    if (end < yaml.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace batchai::frontend
