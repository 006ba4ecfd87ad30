#include "frontend/pynum.h"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "io/json_reader.h"

namespace batchai::frontend::pynum {
namespace {

namespace json = boost::json;

constexpr std::string_view kTag = "\xff";

// An integer as sign and decimal magnitude ("0" for zero, never "-0" and no
// leading zeros): slow, but only big ints and mixed comparisons come here.
struct Int {
  bool negative = false;
  std::string magnitude = "0";
};

Int int_of(const json::value& v) {
  if (v.is_int64()) {
    const std::int64_t i = v.get_int64();
    const std::uint64_t m = i < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
    return {i < 0, std::to_string(m)};
  }
  if (v.is_uint64()) return {false, std::to_string(v.get_uint64())};
  std::string_view s = v.get_object().at(kTag).get_string();
  const bool negative = s.starts_with('-');
  if (negative) s.remove_prefix(1);
  return {negative, std::string(s)};
}

json::value value_of(Int n) {
  if (n.magnitude == "0") n.negative = false;
  std::uint64_t m = 0;
  const char* end = n.magnitude.data() + n.magnitude.size();
  const auto [p, ec] = std::from_chars(n.magnitude.data(), end, m);
  if (ec == std::errc() && p == end) {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!n.negative) return m <= kMax ? json::value(static_cast<std::int64_t>(m)) : json::value(m);
    if (m <= kMax + 1) return static_cast<std::int64_t>(std::uint64_t{0} - m);
  }
  json::object tagged;
  tagged[kTag] = json::string((n.negative ? "-" : "") + n.magnitude);
  return tagged;
}

int compare_magnitudes(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int compare_ints(const Int& a, const Int& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  const int c = compare_magnitudes(a.magnitude, b.magnitude);
  return a.negative ? -c : c;
}

std::string strip_zeros(std::string s) {
  const std::size_t first = s.find_first_not_of('0');
  return first == std::string::npos ? "0" : s.substr(first);
}

std::string add_magnitudes(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    out.insert(out.begin(), static_cast<char>('0' + d % 10));
    carry = d / 10;
  }
  return strip_zeros(out);
}

// a - b, where a >= b.
std::string subtract_magnitudes(const std::string& a, const std::string& b) {
  std::string out(a.size(), '0');
  int borrow = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    int d = (a[a.size() - 1 - i] - '0') - borrow - (i < b.size() ? b[b.size() - 1 - i] - '0' : 0);
    borrow = d < 0;
    out[a.size() - 1 - i] = static_cast<char>('0' + (d + 10) % 10);
  }
  return strip_zeros(out);
}

Int exact(double integral) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::fabs(integral) < kTwo63) return int_of(json::value(static_cast<std::int64_t>(integral)));
  // |d| = m * 2^shift with a 53-bit m; shift >= 11 here, so the doubling
  // below is all there is to it.
  int e = 0;
  const double fraction = std::frexp(std::fabs(integral), &e);
  Int n{integral < 0, std::to_string(static_cast<std::uint64_t>(std::ldexp(fraction, 53)))};
  for (int i = 0; i < e - 53; ++i) n.magnitude = add_magnitudes(n.magnitude, n.magnitude);
  return n;
}

// Python's int-float comparison: exact, not by converting the int.
int compare_int_double(const Int& i, double d) {
  if (std::isnan(d)) return 0;
  if (std::isinf(d)) return d > 0 ? -1 : 1;
  const double whole = std::floor(d);
  const int c = compare_ints(i, exact(whole));
  if (c != 0) return c;
  return d > whole ? -1 : 0;
}

// The builder for pynum::parse: Boost's parser does the grammar, depth and
// UTF-8; numbers are read again from their text so that nothing is rounded
// twice and no integer becomes a float.
class Builder {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) {
    stack_.emplace_back(json::array());
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) { return close(); }
  bool on_object_begin(json::error_code&) {
    stack_.emplace_back(json::object());
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) { return close(); }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) { return part(s); }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    part(s);
    put(json::string(text_));
    text_.clear();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) { return part(s); }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    part(s);
    keys_.push_back(std::move(text_));
    text_.clear();
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) { return part(s); }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    text_.clear();
    put(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    text_.clear();
    put(u);
    return true;
  }
  bool on_double(double, json::string_view s, json::error_code&) {
    part(s);
    if (text_.find_first_of(".eE") == std::string::npos) {
      put(make_int(text_));  // an integer past 64 bits
    } else {
      put(parse_double(text_));
    }
    text_.clear();
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    put(b);
    return true;
  }
  bool on_null(json::error_code&) {
    put(nullptr);
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  json::value result;

 private:
  bool part(json::string_view s) {
    text_.append(s.data(), s.size());
    return true;
  }
  void put(json::value v) {
    if (stack_.empty()) {
      result = std::move(v);
    } else if (stack_.back().is_array()) {
      stack_.back().get_array().push_back(std::move(v));
    } else {
      stack_.back().get_object()[keys_.back()] = std::move(v);  // a repeated key: the last value, as json.loads
      keys_.pop_back();
    }
  }
  bool close() {
    json::value v = std::move(stack_.back());
    stack_.pop_back();
    put(std::move(v));
    return true;
  }

  std::vector<json::value> stack_;
  std::vector<std::string> keys_;
  std::string text_;
};

}  // namespace

bool is_bigint(const json::value& v) {
  if (!v.is_object()) return false;
  const auto& o = v.get_object();
  return o.size() == 1 && o.begin()->key() == kTag;
}

bool is_number(const json::value& v) { return v.is_number() || is_bigint(v); }

bool is_object(const json::value& v) { return v.is_object() && !is_bigint(v); }

json::value make_int(std::string_view decimal) {
  Int n;
  n.negative = decimal.starts_with('-');
  if (n.negative) decimal.remove_prefix(1);
  n.magnitude = strip_zeros(std::string(decimal));
  return value_of(std::move(n));
}

json::value exact_int(double integral) { return value_of(exact(integral)); }

json::value add(const json::value& a, const json::value& b) {
  std::int64_t sum = 0;
  if (a.is_int64() && b.is_int64() && !__builtin_add_overflow(a.get_int64(), b.get_int64(), &sum)) return sum;
  Int x = int_of(a), y = int_of(b);
  if (x.negative == y.negative) return value_of({x.negative, add_magnitudes(x.magnitude, y.magnitude)});
  const int c = compare_magnitudes(x.magnitude, y.magnitude);
  if (c == 0) return std::int64_t{0};
  if (c > 0) return value_of({x.negative, subtract_magnitudes(x.magnitude, y.magnitude)});
  return value_of({y.negative, subtract_magnitudes(y.magnitude, x.magnitude)});
}

json::value negate(const json::value& a) {
  Int x = int_of(a);
  x.negative = !x.negative;
  return value_of(std::move(x));
}

bool is_negative(const json::value& a) {
  if (a.is_double()) return std::signbit(a.get_double());
  if (a.is_int64()) return a.get_int64() < 0;
  return !a.is_uint64() && int_of(a).negative;
}

int compare(const json::value& a, const json::value& b) {
  auto three_way = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (a.is_double() && b.is_double()) return three_way(a.get_double(), b.get_double());
  if (a.is_int64() && b.is_int64()) return three_way(a.get_int64(), b.get_int64());
  if (a.is_uint64() && b.is_uint64()) return three_way(a.get_uint64(), b.get_uint64());
  if (a.is_double()) return -compare_int_double(int_of(b), a.get_double());
  if (b.is_double()) return compare_int_double(int_of(a), b.get_double());
  return compare_ints(int_of(a), int_of(b));
}

double to_double(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());  // rounds to nearest, as Python does
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return parse_double(v.get_object().at(kTag).get_string());
}

double parse_double(std::string_view text) {
  double d = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc::result_out_of_range) return d;
  // Past the double range: inf above it, 0.0 below. The decimal exponent
  // of the first significant digit tells which.
  const bool negative = text.starts_with('-');
  const std::size_t e = text.find_first_of("eE");
  long long exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = text.substr(e + 1);
    const bool down = digits.starts_with('-');
    if (down || digits.starts_with('+')) digits.remove_prefix(1);
    const auto [q, ec2] = std::from_chars(digits.data(), digits.data() + digits.size(), exponent);
    if (ec2 == std::errc::result_out_of_range) exponent = std::numeric_limits<int>::max();
    if (down) exponent = -exponent;
  }
  const std::string_view mantissa = text.substr(0, e);
  const std::size_t point = mantissa.find('.');
  const std::size_t first = mantissa.find_first_of("123456789");
  long long position = static_cast<long long>(point == std::string_view::npos ? mantissa.size() : point) -
                       static_cast<long long>(first);
  if (point != std::string_view::npos && first > point) ++position;
  const double magnitude = exponent + position > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return negative ? -magnitude : magnitude;
}

std::string repr(const json::value& v) {
  if (is_bigint(v)) return std::string(v.get_object().at(kTag).get_string());
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  }
  return batchai::python_str(v).value_or("");
}

std::string str(const json::value& v) {
  if (v.is_double() && !std::isfinite(v.get_double())) {
    const double d = v.get_double();
    return std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
  }
  return repr(v);
}

json::value parse(std::string_view text, std::size_t max_depth, std::error_code& ec) {
  json::parse_options options;
  options.max_depth = max_depth;
  json::basic_parser<Builder> parser(options);
  json::error_code error;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), error);
  if (error) {
    ec = error == json::error::too_deep ? std::make_error_code(std::errc::value_too_large)
                                         : std::make_error_code(std::errc::invalid_argument);
    return nullptr;
  }
  if (text.find_first_not_of(" \t\n\r", used) != std::string_view::npos) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return nullptr;
  }
  ec.clear();
  return std::move(parser.handler().result);
}

}  // namespace batchai::frontend::pynum
