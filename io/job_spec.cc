// job.json parsing and validation in one pass. Each parse_* function reads
// one object of the format at a known JSON path, records every problem it
// finds (so the user sees them all at once), and returns what it could read.
#include "io/job_spec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <iterator>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/diag.h"
#include "io/json_reader.h"
#include "io/spec_blocks.h"
#include "io/toolkits.h"

namespace batchai::jobspec {
namespace {

namespace json = boost::json;

// ---- shared small types ---------------------------------------------------

std::optional<KeyVaultSecretReference> parse_key_vault_ref(JsonReader& r, const json::object& o, const std::string& p) {
  r.check_keys(o, p, {"sourceVault", "secretUrl"});
  KeyVaultSecretReference ref;
  if (const json::object* vault = r.object(o, p, "sourceVault", true)) {
    r.check_keys(*vault, p + ".sourceVault", {"id"});
    ref.source_vault_id = r.text(*vault, p + ".sourceVault", "id", true);
  }
  ref.secret_url = r.text(o, p, "secretUrl", true);
  return ref;
}

// Exactly one of an inline value and a Key Vault reference, as Batch AI required.
std::optional<SecretValue> parse_secret_value(JsonReader& r, const json::object& o, const std::string& p,
                                              std::string_view value_key, std::string_view ref_key, bool required) {
  const bool has_value = o.if_contains(value_key) && !o.at(value_key).is_null();
  const bool has_ref = o.if_contains(ref_key) && !o.at(ref_key).is_null();
  if (has_value && has_ref) {
    r.error(p, "give either " + std::string(value_key) + " or " + std::string(ref_key) + ", not both");
    return std::nullopt;
  }
  if (has_value) return SecretValue{r.str(o, p, value_key).value_or("")};
  if (has_ref) {
    if (const json::object* ref = r.object(o, p, ref_key)) {
      if (auto kv = parse_key_vault_ref(r, *ref, p + "." + std::string(ref_key))) return SecretValue{*kv};
    }
    return std::nullopt;
  }
  if (required) r.error(p, "one of " + std::string(value_key) + " or " + std::string(ref_key) + " is required");
  return std::nullopt;
}

std::optional<SecretValue> parse_storage_credentials(JsonReader& r, const json::object& o, const std::string& p) {
  const json::object* c = r.object(o, p, "credentials");
  if (!c) return std::nullopt;
  r.check_keys(*c, p + ".credentials", {"accountKey", "accountKeySecretReference"});
  return parse_secret_value(r, *c, p + ".credentials", "accountKey", "accountKeySecretReference", true);
}

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Ids become environment variable suffixes (AZ_BATCHAI_INPUT_<id>), so they
// must be valid in a variable name, and unique within their list.
void check_id(JsonReader& r, const std::string& id, const std::string& p, std::set<std::string>& seen) {
  if (id.empty()) return;
  if (!is_env_name(id)) {
    r.error(p + ".id", "expected letters, digits and '_' (it becomes part of an environment variable name), got \"" +
                           id + "\"");
  } else if (!seen.insert(id).second) {
    r.error(p + ".id", "duplicate id \"" + id + "\"");
  }
}

// ---- blocks of properties -------------------------------------------------

MountVolumes parse_mount_volumes(JsonReader& r, const json::object& o, const std::string& p) {
  r.check_keys(o, p, {"azureFileShares", "azureBlobFileSystems", "fileServers", "unmanagedFileSystems"});
  MountVolumes m;
  r.objects(o, p, "azureFileShares", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"accountName", "azureFileUrl", "credentials", "relativeMountPath", "fileMode", "directoryMode"});
    AzureFileShare s;
    s.account_name = r.text(e, at, "accountName");
    s.azure_file_url = r.text(e, at, "azureFileUrl", true);
    s.account_key = parse_storage_credentials(r, e, at);
    s.relative_mount_path = r.text(e, at, "relativeMountPath", true);
    s.file_mode = r.text(e, at, "fileMode");
    s.directory_mode = r.text(e, at, "directoryMode");
    m.azure_file_shares.push_back(std::move(s));
  });
  r.objects(o, p, "azureBlobFileSystems", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"accountName", "containerName", "credentials", "relativeMountPath", "mountOptions"});
    AzureBlobFileSystem b;
    b.account_name = r.text(e, at, "accountName", true);
    b.container_name = r.text(e, at, "containerName", true);
    b.account_key = parse_storage_credentials(r, e, at);
    b.relative_mount_path = r.text(e, at, "relativeMountPath", true);
    b.mount_options = r.text(e, at, "mountOptions");
    m.azure_blob_file_systems.push_back(std::move(b));
  });
  r.objects(o, p, "fileServers", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"fileServer", "sourceDirectory", "relativeMountPath", "mountOptions"});
    FileServerMount f;
    if (const json::object* fs = r.object(e, at, "fileServer", true)) {
      r.check_keys(*fs, at + ".fileServer", {"id"});
      f.file_server_id = r.text(*fs, at + ".fileServer", "id", true);
    }
    f.source_directory = r.text(e, at, "sourceDirectory");
    f.relative_mount_path = r.text(e, at, "relativeMountPath", true);
    f.mount_options = r.text(e, at, "mountOptions");
    m.file_servers.push_back(std::move(f));
  });
  r.objects(o, p, "unmanagedFileSystems", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"mountCommand", "relativeMountPath"});
    UnmanagedFileSystem u;
    u.mount_command = r.text(e, at, "mountCommand", true);
    u.relative_mount_path = r.text(e, at, "relativeMountPath", true);
    m.unmanaged_file_systems.push_back(std::move(u));
  });
  return m;
}

ContainerSettings parse_container(JsonReader& r, const json::object& o, const std::string& p) {
  r.check_keys(o, p, {"imageSourceRegistry", "shmSize"});
  ContainerSettings c;
  c.shm_size = r.text(o, p, "shmSize");
  const std::string reg_path = p + ".imageSourceRegistry";
  const json::object* reg = r.object(o, p, "imageSourceRegistry", true);
  if (!reg) return c;
  r.check_keys(*reg, reg_path, {"serverUrl", "image", "credentials"});
  c.server_url = r.text(*reg, reg_path, "serverUrl");
  c.image = r.text(*reg, reg_path, "image", true);
  if (const json::object* cred = r.object(*reg, reg_path, "credentials")) {
    const std::string cp = reg_path + ".credentials";
    r.check_keys(*cred, cp, {"username", "password", "passwordSecretReference"});
    RegistryCredentials rc;
    rc.username = r.text(*cred, cp, "username", true);
    if (auto pw = parse_secret_value(r, *cred, cp, "password", "passwordSecretReference", true)) {
      rc.password = *pw;
      c.credentials = std::move(rc);
    }
  }
  return c;
}

// ---- properties -----------------------------------------------------------

// The keys of "properties", the toolkits' from their table.
std::span<const std::string_view> property_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> k{"schedulingPriority", "cluster", "mountVolumes", "nodeCount", "containerSettings"};
    for (const ToolkitFormat& t : toolkit_formats()) k.push_back(t.key);
    k.insert(k.end(), {"jobPreparation", "stdOutErrPathPrefix", "inputDirectories", "outputDirectories",
                       "environmentVariables", "secrets", "constraints",
                       // Read-only fields that `job show` output carries; a
                       // user may feed such output back in.
                       "toolType", "jobOutputDirectoryPathSegment", "creationTime", "provisioningState",
                       "provisioningStateTransitionTime", "executionState", "executionStateTransitionTime",
                       "executionInfo"});
    return k;
  }();
  return keys;
}

// Batch AI's rule: exactly one toolkit. The first one given is read even
// when there are more, so its own problems are reported too.
void parse_toolkit(JsonReader& r, const json::object& o, const std::string& p, JobSpec& spec) {
  std::vector<const ToolkitFormat*> given;
  for (const ToolkitFormat& t : toolkit_formats()) {
    if (const json::value* v = o.if_contains(t.key); v && !v->is_null()) given.push_back(&t);
  }
  if (given.size() != 1) {
    std::string all, found;
    const auto formats = toolkit_formats();
    for (std::size_t i = 0; i < formats.size(); ++i) {
      all += (i == 0 ? "" : i + 1 == formats.size() ? " or " : ", ") + std::string(formats[i].key);
    }
    for (const ToolkitFormat* t : given) found += (found.empty() ? "" : ", ") + std::string(t->key);
    r.error(p, "expected exactly one toolkit (" + all + "), got " + (given.empty() ? "none" : found));
  }
  if (given.empty()) return;
  const ToolkitFormat& format = *given[0];
  const std::string at = p + "." + std::string(format.key);
  if (const json::object* t = r.object(o, p, format.key)) {
    spec.toolkit = format.parse(r, *t, at);
    if (format.validate) format.validate(r, spec, at);
  }
}

JobSpec parse_properties(JsonReader& r, const json::object& o) {
  const std::string p = "properties";
  r.check_keys(o, p, property_keys());
  JobSpec spec;

  std::string priority = r.str(o, p, "schedulingPriority").value_or("normal");
  if (priority == "low") spec.scheduling_priority = Priority::low;
  else if (priority == "high") spec.scheduling_priority = Priority::high;
  else if (priority != "normal") {
    r.error(p + ".schedulingPriority", "expected \"low\", \"normal\" or \"high\", got \"" + priority + "\"");
  }

  if (const json::object* cluster = r.object(o, p, "cluster")) {
    r.check_keys(*cluster, p + ".cluster", {"id"});
    spec.cluster_id = r.text(*cluster, p + ".cluster", "id");
  }
  spec.node_count = r.count(o, p, "nodeCount", true).value_or(1);
  spec.std_out_err_path_prefix = r.text(o, p, "stdOutErrPathPrefix", true);

  parse_toolkit(r, o, p, spec);

  if (const json::object* m = r.object(o, p, "mountVolumes")) spec.mount_volumes = parse_mount_volumes(r, *m, p + ".mountVolumes");
  if (const json::object* c = r.object(o, p, "containerSettings")) {
    spec.container_settings = parse_container(r, *c, p + ".containerSettings");
  }
  if (const json::object* prep = r.object(o, p, "jobPreparation")) {
    r.check_keys(*prep, p + ".jobPreparation", {"commandLine"});
    spec.job_preparation_command_line = r.text(*prep, p + ".jobPreparation", "commandLine", true);
  }

  std::set<std::string> input_ids, output_ids;
  r.objects(o, p, "inputDirectories", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"id", "path"});
    InputDirectory d{r.text(e, at, "id", true), r.text(e, at, "path", true)};
    check_id(r, d.id, at, input_ids);
    spec.input_directories.push_back(std::move(d));
  });
  r.objects(o, p, "outputDirectories", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"id", "pathPrefix", "pathSuffix", "type", "createNew"});
    OutputDirectory d{r.text(e, at, "id", true), r.text(e, at, "pathPrefix", true), r.text(e, at, "pathSuffix")};
    check_id(r, d.id, at, output_ids);
    spec.output_directories.push_back(std::move(d));
  });

  std::set<std::string> env_names;
  auto check_env_name = [&](const std::string& name, const std::string& at) {
    if (name.empty()) return;
    if (!is_env_name(name)) {
      r.error(at + ".name", "expected an environment variable name (letters, digits, '_'; not starting with a "
                            "digit), got \"" + name + "\"");
    } else if (!env_names.insert(name).second) {
      r.error(at + ".name", "\"" + name + "\" is defined more than once");
    }
  };
  r.objects(o, p, "environmentVariables", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"name", "value"});
    EnvironmentVariable v{r.text(e, at, "name", true), r.str(e, at, "value", true).value_or("")};
    check_env_name(v.name, at);
    spec.environment_variables.push_back(std::move(v));
  });
  r.objects(o, p, "secrets", [&](const json::object& e, const std::string& at) {
    r.check_keys(e, at, {"name", "value", "valueSecretReference"});
    std::string name = r.text(e, at, "name", true);
    check_env_name(name, at);
    if (auto value = parse_secret_value(r, e, at, "value", "valueSecretReference", true)) {
      spec.secrets.push_back(Secret{std::move(name), std::move(*value)});
    }
  });

  if (const json::object* c = r.object(o, p, "constraints")) {
    r.check_keys(*c, p + ".constraints", {"maxWallClockTime"});
    if (const json::value* v = r.field(*c, p + ".constraints", "maxWallClockTime", false)) {
      const std::string at = p + ".constraints.maxWallClockTime";
      if (!v->is_string()) {
        r.error(at, "expected a duration string such as \"PT4H\" or \"7.00:00:00\", got " + JsonReader::describe(*v));
      } else if (auto secs = parse_duration(v->get_string()); !secs) {
        r.error(at, secs.error().message);
      } else {
        spec.max_wall_clock_seconds = *secs;
        spec.max_wall_clock_given = true;
      }
    }
  }
  return spec;
}

}  // namespace

Result<Parsed> parse_job_spec(std::string_view text, const ParseOptions& options) {
  auto root = parse_json(text, options.file_name);
  if (!root) return root.error();

  // az's conversions whatever --strict says: --strict is about keys Batch
  // AI ignored, and a converted value is one the service accepted.
  JsonReader r(options.file_name, options.strict ? UnknownKeys::error : UnknownKeys::warn, Conversions::az_sdk,
               "ignored, as Batch AI did");
  Parsed out;
  if (!root->is_object()) {
    r.error("(top level)", "expected an object with \"properties\", got " + JsonReader::describe(*root));
  } else {
    const json::object& top = root->get_object();
    r.check_keys(top, "(top level)", {"$schema", "properties"});
    if (const json::object* props = r.object(top, "(top level)", "properties", true)) {
      out.spec = parse_properties(r, *props);
    }
  }
  if (auto ok = r.status(); !ok) return ok.error();
  out.warnings = std::move(r.warnings);
  return out;
}

namespace {

// A decimal number "<digits>[.<digits>]" (ISO 8601 also allows ',') read
// from the front of `s`: its whole part and its fraction's digits.
struct Decimal {
  std::int64_t whole = 0;
  std::string_view fraction;
  bool nonzero() const { return whole != 0 || fraction.find_first_not_of('0') != std::string_view::npos; }
};

// The largest number of any one unit: beyond it a duration is a typo, and
// below it no sum of units overflows.
constexpr std::int64_t kMaxNumber = 100000000;

std::optional<Decimal> read_decimal(std::string_view& s, std::string_view separators) {
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  Decimal d;
  std::size_t zeros = 0;
  while (zeros + 1 < i && s[zeros] == '0') ++zeros;
  if (i == 0 || i - zeros > 9) return std::nullopt;  // 9 digits hold kMaxNumber
  std::from_chars(s.data() + zeros, s.data() + i, d.whole);
  if (d.whole > kMaxNumber) return std::nullopt;
  if (i < s.size() && separators.find(s[i]) != std::string_view::npos) {
    std::size_t j = i + 1;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i + 1) return std::nullopt;
    d.fraction = s.substr(i + 1, j - i - 1);
    i = j;
  }
  s.remove_prefix(i);
  return d;
}

// Seconds so far, and whether a fraction of a second was left over.
struct Seconds {
  std::int64_t total = 0;
  bool partial = false;

  void add(const Decimal& d, std::int64_t scale) {
    total += d.whole * scale;
    if (d.fraction.empty()) return;
    // Twelve digits times a week's seconds fit 64 bits; any later non-zero
    // digit only makes the sum a little larger, which rounding up covers
    // even when the first twelve came out whole.
    const std::string_view head = d.fraction.substr(0, 12);
    std::int64_t numerator = 0, denominator = 1;
    std::from_chars(head.data(), head.data() + head.size(), numerator);
    for (std::size_t k = 0; k < head.size(); ++k) denominator *= 10;
    const std::int64_t part = numerator * scale;
    total += part / denominator;
    partial = partial || part % denominator != 0 ||
              d.fraction.substr(head.size()).find_first_not_of('0') != std::string_view::npos;
  }
  std::int64_t rounded_up() const { return total + (partial ? 1 : 0); }
};

}  // namespace

Result<std::int64_t> parse_duration(std::string_view text) {
  const std::string quoted = "\"" + diag::one_line(text) + "\"";
  auto bad = [&] { return Error{"expected a duration such as \"PT4H\", \"P1DT2H\" or \"7.00:00:00\", got " + quoted}; };
  auto not_positive = [&] { return Error{"expected a positive duration, got " + quoted}; };
  if (text.starts_with('-')) return not_positive();
  Seconds seconds;
  if (text.starts_with('P')) {
    // ISO 8601 with designators, in isodate's grammar, which az's SDK used:
    // P[nY][nM][nW][nD][T[nH][nM][nS]], each unit at most once and in that
    // order (so weeks combine with days, as isodate allowed), at least one
    // unit, and a T only before a time. ISO 8601 lets only the last number
    // have a fraction. Years and months are calendar lengths (a month is 28
    // to 31 days), which isodate kept as such; a wall-clock limit needs a
    // fixed one, and guessing 30 days would be wrong for some month, so they
    // must be zero. The alternative form (P0001-02-03T04:05:06) never
    // reached the service with fixed lengths either: isodate read it as a
    // date, whose year and month cannot be zero.
    struct Unit {
      char letter;
      bool time;
      std::int64_t scale;  // 0: a calendar unit
    };
    static constexpr Unit kUnits[] = {{'Y', false, 0},    {'M', false, 0},   {'W', false, 604800},
                                      {'D', false, 86400}, {'H', true, 3600}, {'M', true, 60},
                                      {'S', true, 1}};
    std::string_view rest = text.substr(1);
    std::size_t next = 0;  // kUnits[next] is the first unit still allowed
    bool in_time = false, any = false, any_time = false, fraction_seen = false;
    while (!rest.empty()) {
      if (rest[0] == 'T') {
        if (in_time) return bad();
        in_time = true;
        rest.remove_prefix(1);
        continue;
      }
      auto number = read_decimal(rest, ".,");
      if (!number || rest.empty()) return bad();
      if (fraction_seen) {
        return Error{"only the last number of a duration may have a fraction, got " + quoted};
      }
      const char letter = rest[0];
      rest.remove_prefix(1);
      std::size_t u = next;
      while (u < std::size(kUnits) && (kUnits[u].letter != letter || kUnits[u].time != in_time)) ++u;
      if (u == std::size(kUnits)) return bad();
      next = u + 1;
      if (kUnits[u].scale == 0) {
        if (number->nonzero()) {
          return Error{"years and months have no fixed length; give the limit in weeks, days or hours (such as "
                       "\"P30D\"), got " + quoted};
        }
      } else {
        seconds.add(*number, kUnits[u].scale);
      }
      fraction_seen = !number->fraction.empty();
      any = true;
      any_time = any_time || in_time;
    }
    if (!any || (in_time && !any_time)) return bad();
  } else {
    // .NET TimeSpan: [d.]hh:mm:ss[.fffffff]
    std::string_view rest = text;
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return bad();
    Decimal days, h, m, s;
    if (rest.substr(0, colon).find('.') != std::string_view::npos) {
      auto d = read_decimal(rest, "");
      if (!d || !rest.starts_with('.')) return bad();
      days = *d;
      rest.remove_prefix(1);
    }
    auto field = [&](Decimal& out, std::string_view separators, bool last) {
      auto d = read_decimal(rest, separators);
      if (!d) return false;
      out = *d;
      if (last) return rest.empty();
      if (!rest.starts_with(':')) return false;
      rest.remove_prefix(1);
      return true;
    };
    if (!field(h, "", false) || !field(m, "", false) || !field(s, ".", true) || h.whole > 23 || m.whole > 59 ||
        s.whole > 59 || s.fraction.size() > 7 || days.whole > 100000) {
      return bad();
    }
    seconds.add(days, 86400);
    seconds.add(h, 3600);
    seconds.add(m, 60);
    seconds.add(s, 1);
  }
  if (seconds.rounded_up() <= 0) return not_positive();
  return seconds.rounded_up();
}

Status validate_resource_group_name(std::string_view name, std::string_view what) {
  const bool ok = !name.empty() && name.size() <= 90 && name.back() != '.' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                           c == '(' || c == ')';
                  });
  if (ok) return {};
  return Error{std::string(what) + ": expected 1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending in " +
               "'.', got \"" + diag::one_line(name) + "\""};
}

Status validate_resource_name(std::string_view name, std::string_view what) {
  const bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (ok) return {};
  return Error{std::string(what) + ": expected 1 to 64 letters, digits, '-' or '_', got \"" + std::string(name) + "\""};
}

}  // namespace batchai::jobspec

namespace batchai::jobspec {

MountVolumes parse_mount_volumes_block(JsonReader& r, const boost::json::object& o, const std::string& p) {
  return parse_mount_volumes(r, o, p);
}

bool environment_name(std::string_view s) { return is_env_name(s); }

}  // namespace batchai::jobspec
