// -o tsv as az prints it (knack's TSV output), which is not the table
// without its headers: one line per item of the result (the result itself
// when it is not a list), and in a line an object's values in the order of
// its sorted keys, or in its own order where --query built it, an array's
// items in order. Inside a line a list is its length, an object is empty,
// null is None, booleans are True and False, numbers as Python's str()
// spells them; a line that is a lone boolean is true or false. The
// command's table columns play no part, as in az.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <ostream>

namespace batchai::frontend {

// `built_by_query` says which objects keep their own key order: az's
// --query makes its new objects ordered dicts, and objects it passes
// through from the command's result stay plain ones, printed sorted.
void print_tsv(std::ostream& out, const boost::json::value& result,
               const std::function<bool(const boost::json::object&)>& built_by_query = {});

}  // namespace batchai::frontend
