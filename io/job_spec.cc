// job.json parsing and validation in one pass. Each parse_* function reads
// one object of the format at a known JSON path, records every problem it
// finds (so the user sees them all at once), and returns what it could read.
#include "io/job_spec.h"

#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/diag.h"
#include "io/json_reader.h"
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

  JsonReader r(options.file_name, options.strict ? UnknownKeys::error : UnknownKeys::warn,
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

Result<std::int64_t> parse_duration(std::string_view text) {
  auto bad = [&] {
    return Error{"expected a duration such as \"PT4H\", \"P1DT2H\" or \"7.00:00:00\", got \"" + std::string(text) + "\""};
  };
  auto number = [](std::string_view s, std::int64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty() && out >= 0;
  };
  std::int64_t total = 0;
  if (text.starts_with("P")) {
    // ISO-8601: P[nD][T[nH][nM][nS]], integers only.
    // Units once each, largest first ("PT1H1H" and "PT1S2H" are not
    // durations), and a T must be followed by a time.
    bool in_time = false, any = false, any_time = false;
    std::int64_t last_scale = INT64_MAX;
    std::string_view rest = text.substr(1);
    while (!rest.empty()) {
      if (rest[0] == 'T') {
        if (in_time) return bad();
        in_time = true;
        rest.remove_prefix(1);
        continue;
      }
      std::size_t i = 0;
      while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
      std::int64_t n = 0;
      if (i == rest.size() || !number(rest.substr(0, i), n) || n > 100000000) return bad();
      char unit = rest[i];
      std::int64_t scale = !in_time && unit == 'D' ? 86400 : in_time && unit == 'H' ? 3600
                         : in_time && unit == 'M' ? 60 : in_time && unit == 'S' ? 1 : 0;
      if (scale == 0 || scale >= last_scale) return bad();
      last_scale = scale;
      total += n * scale;
      any = true;
      any_time = any_time || in_time;
      rest.remove_prefix(i + 1);
    }
    if (!any || (in_time && !any_time)) return bad();
  } else {
    // .NET TimeSpan: [d.]hh:mm:ss
    std::string_view rest = text;
    std::int64_t days = 0, h = 0, m = 0, s = 0;
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return bad();
    auto dot = rest.substr(0, colon).find('.');
    if (dot != std::string_view::npos) {
      if (!number(rest.substr(0, dot), days)) return bad();
      rest.remove_prefix(dot + 1);
    }
    auto c1 = rest.find(':'), c2 = rest.rfind(':');
    if (c1 == c2 || !number(rest.substr(0, c1), h) || !number(rest.substr(c1 + 1, c2 - c1 - 1), m) ||
        !number(rest.substr(c2 + 1), s) || h > 23 || m > 59 || s > 59 || days > 100000) {
      return bad();
    }
    total = days * 86400 + h * 3600 + m * 60 + s;
  }
  if (total <= 0) return Error{"expected a positive duration, got \"" + std::string(text) + "\""};
  return total;
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
