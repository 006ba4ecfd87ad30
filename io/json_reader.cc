#include "io/json_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>

#include "base/diag.h"
#include "base/spell.h"

namespace batchai {

namespace json = boost::json;

JsonReader::JsonReader(std::string file, UnknownKeys unknown_keys, Conversions conversions, std::string ignored_note)
    : file_(std::move(file)),
      unknown_keys_(unknown_keys),
      conversions_(conversions),
      ignored_note_(std::move(ignored_note)) {}

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
    if (conversions_ == Conversions::az_sdk) {
      if (auto converted = python_str(*v)) return converted;
    }
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
  if (conversions_ == Conversions::az_sdk) {
    if (v->is_string()) n = python_int(v->get_string());
    // 2^63 is exact as a double; anything below it converts without overflow.
    if (const double* d = v->if_double(); d && std::trunc(*d) == *d && std::fabs(*d) < 0x1p63) {
      n = static_cast<std::int64_t>(*d);
    }
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

std::optional<std::string> python_str(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? "True" : "False";
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (!v.is_double() || !std::isfinite(v.get_double())) return std::nullopt;
  // The shortest digits that read back as the same double, as repr uses,
  // from to_chars's scientific form "d.ddde+XX".
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double(), std::chars_format::scientific);
  if (ec != std::errc()) return std::nullopt;
  std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  std::string out;
  if (sci.starts_with('-')) {
    out = "-";
    sci.remove_prefix(1);
  }
  const std::size_t e = sci.find('e');
  std::string digits(sci.substr(0, e));
  std::erase(digits, '.');
  int exponent = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (exp_text.starts_with('+')) exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  // Python's float repr: the decimal point sits after `point` digits; it
  // switches to exponent form below 1e-4 and from 1e16 on.
  const int point = exponent + 1;
  const int n = static_cast<int>(digits.size());
  if (point <= -4 || point > 16) {
    out += digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    const std::string mag = std::to_string(exponent < 0 ? -exponent : exponent);
    out += std::string(exponent < 0 ? "e-" : "e+") + (mag.size() < 2 ? "0" : "") + mag;
  } else if (point <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else if (point >= n) {
    out += digits + std::string(static_cast<std::size_t>(point - n), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<std::size_t>(point)) + "." + digits.substr(static_cast<std::size_t>(point));
  }
  return out;
}

std::optional<std::int64_t> python_int(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return std::nullopt;
  s = s.substr(first, s.find_last_not_of(kSpace) - first + 1);
  const bool negative = s.starts_with('-');
  if (negative || s.starts_with('+')) s.remove_prefix(1);
  // from_chars would take a second sign; Python does not.
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return std::nullopt;
  std::uint64_t magnitude = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  if (magnitude > static_cast<std::uint64_t>(INT64_MAX) + (negative ? 1 : 0)) return std::nullopt;
  return negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
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
