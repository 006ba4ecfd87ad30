#include "slurm/shell_quote.h"

namespace batchai::slurm {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// Length of a variable reference at text[i] ("$NAME" or "${NAME}"), or 0
// when the $ starts anything else ($(cmd), $1, ${x:-$(cmd)}...).
std::size_t variable_reference(std::string_view text, std::size_t i) {
  std::size_t j = i + 1;
  if (j < text.size() && is_name_start(text[j])) {
    while (j < text.size() && is_name_char(text[j])) ++j;
    return j - i;
  }
  if (j < text.size() && text[j] == '{') {
    std::size_t k = j + 1;
    if (k >= text.size() || !is_name_start(text[k])) return 0;
    while (k < text.size() && is_name_char(text[k])) ++k;
    if (k < text.size() && text[k] == '}') return k + 1 - i;
  }
  return 0;
}

}  // namespace

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string shell_quote_expanding(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '$') {
      if (std::size_t n = variable_reference(text, i)) {
        out.append(text.substr(i, n));
        i += n - 1;
      } else {
        out += "\\$";
      }
    } else if (c == '`' || c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace batchai::slurm
