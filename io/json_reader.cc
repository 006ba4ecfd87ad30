#include "io/json_reader.h"

#include <algorithm>
#include <climits>

#include "base/diag.h"
#include "base/spell.h"

namespace batchai {

namespace json = boost::json;

JsonReader::JsonReader(std::string file, UnknownKeys unknown_keys, std::string ignored_note)
    : file_(std::move(file)), unknown_keys_(unknown_keys), ignored_note_(std::move(ignored_note)) {}

void JsonReader::error(const std::string& path, const std::string& message) {
  errors.push_back(diag::one_line(file_ + ": " + path + ": " + message));
}

void JsonReader::located(const std::string& message) { errors.push_back(diag::one_line(file_ + ": " + message)); }

Status JsonReader::status() const {
  if (errors.empty()) return {};
  std::string all;
  for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
  return Error{all};
}

std::string JsonReader::describe(const json::value& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return json::serialize(v);
}

std::string JsonReader::join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

void JsonReader::check_keys(const json::object& o, const std::string& path, std::span<const std::string_view> known) {
  for (const auto& [key, _] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) != known.end()) continue;
    std::string message = "unknown key";
    if (auto near = closest_match(key, known)) message += " (did you mean '" + *near + "'?)";
    if (unknown_keys_ == UnknownKeys::error) {
      error(join(path, key), message);
    } else {
      warnings.push_back(diag::one_line(file_ + ": " + join(path, key) + ": " + message + "; " + ignored_note_));
    }
  }
}

const json::value* JsonReader::field(const json::object& o, const std::string& path, std::string_view key,
                                     bool required) {
  const json::value* v = o.if_contains(key);
  if (v && v->is_null()) v = nullptr;
  if (!v && required) error(join(path, key), "required, but missing");
  return v;
}

std::optional<std::string> JsonReader::str(const json::object& o, const std::string& path, std::string_view key,
                                           bool required) {
  const json::value* v = field(o, path, key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    error(join(path, key), "expected a string, got " + describe(*v));
    return std::nullopt;
  }
  if (v->get_string().find('\0') != json::string::npos) {
    error(join(path, key), "must not contain a NUL character (\\u0000)");
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::string JsonReader::text(const json::object& o, const std::string& path, std::string_view key, bool required) {
  std::optional<std::string> s = str(o, path, key, required);
  if (!s) return {};
  if (s->empty() && required) error(join(path, key), "must not be empty");
  return std::move(*s);
}

std::optional<std::int64_t> JsonReader::integer(const json::object& o, const std::string& path, std::string_view key,
                                                std::int64_t min, std::int64_t max, const std::string& expected,
                                                bool required) {
  const json::value* v = field(o, path, key, required);
  if (!v) return std::nullopt;
  std::optional<std::int64_t> n;
  if (v->is_int64()) n = v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  }
  if (!n || *n < min || *n > max) {
    error(join(path, key), "expected " + expected + ", got " + describe(*v));
    return std::nullopt;
  }
  return n;
}

std::optional<std::int64_t> JsonReader::count(const json::object& o, const std::string& path, std::string_view key,
                                              bool required) {
  return integer(o, path, key, 1, INT32_MAX, "a positive integer", required);
}

std::optional<bool> JsonReader::boolean(const json::object& o, const std::string& path, std::string_view key) {
  const json::value* v = field(o, path, key, false);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    error(join(path, key), "expected true or false, got " + describe(*v));
    return std::nullopt;
  }
  return v->get_bool();
}

const json::object* JsonReader::object(const json::object& o, const std::string& path, std::string_view key,
                                       bool required) {
  const json::value* v = field(o, path, key, required);
  if (!v) return nullptr;
  if (!v->is_object()) {
    error(join(path, key), "expected an object, got " + describe(*v));
    return nullptr;
  }
  return &v->get_object();
}

Result<json::value> parse_json(std::string_view text, std::string_view file, bool relaxed) {
  json::parse_options options;
  options.allow_comments = relaxed;
  options.allow_trailing_commas = relaxed;
  json::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) return Error{std::string(file) + ":" + diag::line_col(text, consumed) + ": invalid JSON: " + ec.message()};
  return parser.release();
}

}  // namespace batchai
