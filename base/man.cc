#include "base/man.h"

#include <cctype>

#include "base/version.h"

namespace batchai::man {

std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out.front() == '.' || out.front() == '\'')) out.insert(0, "\\&");
  return out;
}

void options(std::ostringstream& s, std::span<const args::Option> table) {
  for (const auto& o : table) {
    s << ".TP\n";
    if (o.short_name) s << "\\fB\\-" << o.short_name << "\\fR, ";
    s << "\\fB\\-\\-" << roff(o.name) << "\\fR";
    if (!o.value_name.empty()) s << " \\fI" << roff(o.value_name) << "\\fR";
    s << "\n" << roff(args::help_text(o)) << (o.repeatable ? " (may be repeated)" : "") << "\n";
  }
}

std::string page(const Page& p) {
  std::string upper(p.name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::ostringstream s;
  s << ".\\\" Generated from " << p.name << "'s option table; do not edit.\n"
    << ".TH " << roff(upper) << " " << p.section << " \"\" \"batchai-slurm " << build::kVersion << "\" \""
    << (p.section == 8 ? "System Administration" : "User Commands") << "\"\n"
    << ".SH NAME\n"
    << roff(p.name) << " \\- " << roff(p.summary) << "\n"
    << ".SH SYNOPSIS\n"
    << p.synopsis << "\n"
    << ".SH DESCRIPTION\n";
  for (std::size_t i = 0; i < p.description.size(); ++i) s << (i ? ".PP\n" : "") << roff(p.description[i]) << "\n";
  if (!p.positionals.empty()) {
    s << ".SH ARGUMENTS\n";
    for (const auto& a : p.positionals) s << ".TP\n\\fI" << roff(a.name) << "\\fR\n" << roff(a.help) << "\n";
  }
  s << ".SH OPTIONS\n";
  options(s, p.options);
  if (!p.environment.empty()) {
    s << ".SH ENVIRONMENT\n";
    for (const auto& [name, text] : p.environment) s << ".TP\n.B " << roff(name) << "\n" << roff(text) << "\n";
  }
  if (!p.exit_status.empty()) s << ".SH EXIT STATUS\n" << roff(p.exit_status) << "\n";
  if (!p.see_also.empty()) s << ".SH SEE ALSO\n" << p.see_also << "\n";
  return s.str();
}

}  // namespace batchai::man
