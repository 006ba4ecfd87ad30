// "Did you mean" suggestions for flags, subcommands and job.json keys.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace batchai {

// Case-insensitive edit distance (insert, delete, substitute, transpose).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate to `word`, if it is close enough to be a likely typo:
// within a third of the word's length, and at least 1 edit, or equal when
// case is ignored (nodecount -> nodeCount).
std::optional<std::string> closest_match(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace batchai
