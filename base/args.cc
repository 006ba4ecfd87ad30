#include "base/args.h"

#include <algorithm>
#include <charconv>

#include "base/spell.h"

namespace batchai::args {

std::optional<std::string> Parsed::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Parsed::all(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max, std::string_view what) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty() || value < min || value > max) {
    std::string expected = max == INT64_MAX ? "an integer >= " + std::to_string(min)
                                            : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    return Error{std::string(what) + ": expected " + expected + ", got '" + std::string(text) + "'"};
  }
  return value;
}

Result<std::optional<std::int64_t>> Parsed::get_int(std::string_view name, std::int64_t min, std::int64_t max) const {
  auto text = get(name);
  if (!text) return std::optional<std::int64_t>{};
  auto value = parse_int(*text, min, max, "--" + std::string(name));
  if (!value) return value.error();
  return std::optional<std::int64_t>{*value};
}

std::string spelling(const Option& option) {
  std::string s;
  if (option.short_name) {
    s += '-';
    s += option.short_name;
    s += ", ";
  }
  s += "--";
  s += option.name;
  if (!option.value_name.empty()) {
    s += ' ';
    s += option.value_name;
  }
  return s;
}

std::string usage_form(const Option& option) {
  std::string s = option.short_name ? std::string("-") + option.short_name : "--" + std::string(option.name);
  if (!option.value_name.empty()) s += " " + std::string(option.value_name);
  if (option.many) s += " [" + std::string(option.value_name) + " ...]";
  return s;
}

std::string usage_options(std::span<const Option> options) {
  std::string s;
  std::vector<std::string_view> grouped;
  for (const Option& o : options) {
    if (!o.required) continue;
    if (o.unless.empty()) {
      s += " " + usage_form(o);
      continue;
    }
    if (std::find(grouped.begin(), grouped.end(), o.unless) != grouped.end()) continue;
    grouped.push_back(o.unless);
    std::string group;
    for (const Option& member : options) {
      if (member.required && member.unless == o.unless) group += (group.empty() ? "" : " ") + usage_form(member);
    }
    const Option* other = nullptr;
    for (const Option& a : options) {
      if (a.name == o.unless) other = &a;
    }
    s += other ? " (" + group + " | " + usage_form(*other) + ")" : " " + group;
  }
  return s;
}

std::string help_text(const Option& option) {
  if (option.required && !option.unless.empty()) {
    return std::string(option.help) + " (required, or --" + std::string(option.unless) + ")";
  }
  return std::string(option.help) + (option.required ? " (required)" : "");
}

namespace {

const Option* find_long(std::span<const Option> options, std::string_view name) {
  for (const Option& o : options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

const Option* find_short(std::span<const Option> options, char c) {
  for (const Option& o : options) {
    if (o.short_name == c) return &o;
  }
  return nullptr;
}

Error unknown_option(std::string_view given, std::span<const Option> options) {
  std::vector<std::string> names;
  for (const Option& o : options) names.push_back("--" + std::string(o.name));
  std::vector<std::string_view> views(names.begin(), names.end());
  std::string message = "unknown option '" + std::string(given) + "'";
  if (auto near = closest_match(given, views)) message += " (did you mean '" + *near + "'?)";
  return Error{message};
}

}  // namespace

Result<Parsed> parse(std::span<const std::string> argv, std::span<const Option> options,
                     std::span<const Positional> positionals, bool extra_positionals) {
  Parsed parsed;
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (options_done || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      parsed.add_positional(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    const Option* option = nullptr;
    std::optional<std::string> inline_value;
    std::string shown;
    if (arg.starts_with("--")) {
      std::string_view body = std::string_view(arg).substr(2);
      auto eq = body.find('=');
      if (eq != std::string_view::npos) {
        inline_value = std::string(body.substr(eq + 1));
        body = body.substr(0, eq);
      }
      shown = "--" + std::string(body);
      option = find_long(options, body);
      if (!option) return unknown_option(shown, options);
    } else {
      // -n VALUE, or -nVALUE for a valued short option.
      shown = arg.substr(0, 2);
      option = find_short(options, arg[1]);
      if (!option) return unknown_option(shown, options);
      if (arg.size() > 2) {
        if (option->value_name.empty()) return Error{shown + ": takes no value, got '" + arg + "'"};
        inline_value = arg.substr(2);
      }
    }
    const std::string flag = "--" + std::string(option->name);
    if (option->value_name.empty()) {
      if (inline_value) return Error{flag + ": takes no value, got '" + *inline_value + "'"};
      parsed.add(std::string(option->name), "");
    } else {
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        return Error{flag + ": missing value " + std::string(option->value_name)};
      }
      parsed.add(std::string(option->name), std::move(value));
      // The words after the first, up to the next option (or "--").
      while (option->many && !inline_value && i + 1 < argv.size() && !argv[i + 1].starts_with("-")) {
        parsed.add(std::string(option->name), argv[++i]);
      }
    }
    if (!option->repeatable && !option->many && parsed.all(option->name).size() > 1) {
      return Error{flag + ": given more than once"};
    }
  }

  for (const Option& o : options) {
    const auto value = parsed.get(o.name);
    if (o.required && (!value || value->empty())) {
      if (!o.unless.empty()) {
        if (parsed.has(o.unless)) continue;
        return Error{"--" + std::string(o.name) + " or --" + std::string(o.unless) + ": required (" +
                     std::string(o.help) + ")"};
      }
      return Error{"--" + std::string(o.name) + ": required (" + std::string(o.help) + ")"};
    }
  }

  const auto& given = parsed.positionals();
  std::size_t required = std::count_if(positionals.begin(), positionals.end(), [](auto& p) { return p.required; });
  if (given.size() < required) {
    return Error{"missing argument " + std::string(positionals[given.size()].name)};
  }
  if (!extra_positionals && given.size() > positionals.size()) {
    return Error{"unexpected argument '" + given[positionals.size()] + "'"};
  }
  return parsed;
}

std::string help(std::string_view usage_line, std::string_view summary, std::span<const Option> options,
                 std::span<const Positional> positionals) {
  std::string out = "usage: " + std::string(usage_line) + "\n";
  if (!summary.empty()) out += "\n" + std::string(summary) + "\n";
  std::size_t width = 0;
  for (const auto& p : positionals) width = std::max(width, p.name.size());
  for (const auto& o : options) width = std::max(width, spelling(o).size());
  auto row = [&](std::string left, std::string_view text) {
    left.resize(width, ' ');
    out += "  " + left + "  " + std::string(text) + "\n";
  };
  if (!positionals.empty()) {
    out += "\narguments:\n";
    for (const auto& p : positionals) row(std::string(p.name), p.help);
  }
  if (!options.empty()) {
    out += "\noptions:\n";
    for (const auto& o : options) row(spelling(o), help_text(o));
  }
  return out;
}

}  // namespace batchai::args
