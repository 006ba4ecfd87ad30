// Numbers as Python has them, in Boost.JSON values. az prints its results
// with Python's json module and evaluates --query with Python's jmespath, so
// an integer never overflows there and a float prints as repr() spells it.
// Boost.JSON holds integers in 64 bits only; an integer past them is kept
// here as a "big int": an object whose single key is "\xff" (not UTF-8, so
// no parsed document, query text or command result can hold that key)
// mapped to its decimal digits. Only query.cc makes them, and everything
// that prints a query's result prints them through compact_json().
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace batchai::frontend::pynum {

bool is_bigint(const boost::json::value& v);
// int64, uint64, double or a big int.
bool is_number(const boost::json::value& v);
// An object that is not a big int.
bool is_object(const boost::json::value& v);

// "-123" (an optional '-' and decimal digits) as the narrowest of int64,
// uint64 and big int that holds it exactly.
boost::json::value make_int(std::string_view decimal);
// The integer a finite, integral double is exactly (floor(1e300) is 301
// digits long, as in Python).
boost::json::value exact_int(double integral);

// Integer arithmetic, exact at any size; both arguments integers.
boost::json::value add(const boost::json::value& a, const boost::json::value& b);
boost::json::value negate(const boost::json::value& a);
bool is_negative(const boost::json::value& a);

// -1, 0 or 1, exactly as Python orders an int and a float (2**53 + 1 >
// 2.0**53), whatever the two kinds.
int compare(const boost::json::value& a, const boost::json::value& b);

// float(x): correctly rounded, ±inf past the largest double.
double to_double(const boost::json::value& v);
// float(text) for a number in JSON's grammar: correctly rounded, inf when
// too large, 0.0 when too small.
double parse_double(std::string_view text);

// How json.dumps spells a number: 3.0, 1e-05, 1000000000000000.0, 1e+16,
// -0.0, NaN, -Infinity, 18446744073709551616.
std::string repr(const boost::json::value& v);
// How str() spells it, as az's table and tsv cells do: as repr() but nan,
// inf and -inf.
std::string str(const boost::json::value& v);

// A JSON text as Python's json.loads reads it: integers exact at any size,
// floats correctly rounded, 1e400 as inf. Nesting past `max_depth` is
// std::errc::value_too_large in `ec`; any other failure another error.
boost::json::value parse(std::string_view text, std::size_t max_depth, std::error_code& ec);

}  // namespace batchai::frontend::pynum
