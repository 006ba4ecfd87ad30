#include "io/cluster_spec.h"

#include <boost/json.hpp>
#include <set>

#include "io/json_reader.h"
#include "io/spec_blocks.h"

namespace batchai::clusterspec {
namespace {

namespace json = boost::json;

void parse_scale(JsonReader& r, const json::object& o, const std::string& p, ClusterSpec& spec) {
  r.check_keys(o, p, {"manual", "autoScale"});
  const json::object* manual = r.object(o, p, "manual");
  const json::object* autoscale = r.object(o, p, "autoScale");
  if (manual && autoscale) {
    r.error(p, "give manual or autoScale, not both");
  } else if (!r.field(o, p, "manual", false) && !r.field(o, p, "autoScale", false)) {
    r.error(p, "expected manual or autoScale");
  }
  constexpr std::int64_t kMax = 100000;
  const std::string expected = "a node count from 0 to 100000";
  if (manual) {
    const std::string at = p + ".manual";
    r.check_keys(*manual, at, {"targetNodeCount", "nodeDeallocationOption"});
    spec.target_nodes = r.integer(*manual, at, "targetNodeCount", 0, kMax, expected, true);
    if (auto option = r.str(*manual, at, "nodeDeallocationOption")) {
      if (*option != "requeue" && *option != "terminate" && *option != "waitforjobcompletion") {
        r.error(at + ".nodeDeallocationOption",
                "expected \"requeue\", \"terminate\" or \"waitforjobcompletion\", got \"" + *option + "\"");
      }
    }
  }
  if (autoscale) {
    const std::string at = p + ".autoScale";
    r.check_keys(*autoscale, at, {"minimumNodeCount", "maximumNodeCount", "initialNodeCount"});
    spec.min_nodes = r.integer(*autoscale, at, "minimumNodeCount", 0, kMax, expected, true);
    spec.max_nodes = r.integer(*autoscale, at, "maximumNodeCount", 0, kMax, expected, true);
    spec.initial_nodes = r.integer(*autoscale, at, "initialNodeCount", 0, kMax, expected);
    if (spec.min_nodes && spec.max_nodes && *spec.min_nodes > *spec.max_nodes) {
      r.error(at + ".minimumNodeCount", "more than maximumNodeCount");
    }
  }
}

void parse_node_setup(JsonReader& r, const json::object& o, const std::string& p, ClusterSpec& spec) {
  r.check_keys(o, p, {"setupTask", "mountVolumes", "performanceCountersSettings"});
  if (const json::object* t = r.object(o, p, "setupTask")) {
    const std::string at = p + ".setupTask";
    r.check_keys(*t, at, {"commandLine", "environmentVariables", "secrets", "stdOutErrPathPrefix",
                          "stdOutErrPathSuffix"});
    SetupTask task;
    task.command_line = r.text(*t, at, "commandLine", true);
    task.std_out_err_path_prefix = r.text(*t, at, "stdOutErrPathPrefix", true);
    std::set<std::string> names;
    r.objects(*t, at, "environmentVariables", [&](const json::object& e, const std::string& ep) {
      r.check_keys(e, ep, {"name", "value"});
      std::string name = r.text(e, ep, "name", true);
      std::string value = r.str(e, ep, "value", true).value_or("");
      if (!name.empty() && !jobspec::environment_name(name)) {
        r.error(ep + ".name", "expected an environment variable name (letters, digits, '_'; not starting with a "
                              "digit), got \"" + name + "\"");
      } else if (!name.empty() && !names.insert(name).second) {
        r.error(ep + ".name", "\"" + name + "\" is defined more than once");
      }
      task.environment.emplace_back(std::move(name), std::move(value));
    });
    // batchai keeps a cluster's setup task in its state and records, which
    // are not private: a secret there would not stay one.
    if (const json::value* s = r.field(*t, at, "secrets", false); s && !(s->is_array() && s->as_array().empty())) {
      r.error(at + ".secrets", "not kept by batchai, whose cluster records are not private; pass secrets to the "
                               "jobs (job.json secrets)");
    }
    spec.setup_task = std::move(task);
  }
  if (const json::object* m = r.object(o, p, "mountVolumes")) {
    jobspec::parse_mount_volumes_block(r, *m, p + ".mountVolumes");
    spec.inert.push_back(p + ".mountVolumes");
  }
  if (r.object(o, p, "performanceCountersSettings")) spec.inert.push_back(p + ".performanceCountersSettings");
}

ClusterSpec parse_properties(JsonReader& r, const json::object& o) {
  const std::string p = "properties";
  r.check_keys(o, p, {"vmSize", "vmPriority", "scaleSettings", "virtualMachineConfiguration", "nodeSetup",
                      "userAccountSettings", "subnet"});
  ClusterSpec spec;
  spec.vm_size = r.str(o, p, "vmSize");
  if (auto priority = r.str(o, p, "vmPriority")) {
    if (*priority != "dedicated" && *priority != "lowpriority") {
      r.error(p + ".vmPriority", "expected \"dedicated\" or \"lowpriority\", got \"" + *priority + "\"");
    }
    spec.vm_priority = std::move(priority);
  }
  if (const json::object* s = r.object(o, p, "scaleSettings")) parse_scale(r, *s, p + ".scaleSettings", spec);
  if (const json::object* v = r.object(o, p, "virtualMachineConfiguration")) {
    const std::string at = p + ".virtualMachineConfiguration";
    r.check_keys(*v, at, {"imageReference"});
    if (const json::object* image = r.object(*v, at, "imageReference")) {
      const std::string ip = at + ".imageReference";
      r.check_keys(*image, ip, {"publisher", "offer", "sku", "version", "virtualMachineImageId"});
      for (std::string_view key : {"publisher", "offer", "version", "virtualMachineImageId"}) r.str(*image, ip, key);
      r.text(*image, ip, "sku", true);
    }
    spec.inert.push_back(at);
  }
  if (const json::object* n = r.object(o, p, "nodeSetup")) parse_node_setup(r, *n, p + ".nodeSetup", spec);
  if (const json::object* u = r.object(o, p, "userAccountSettings")) {
    const std::string at = p + ".userAccountSettings";
    r.check_keys(*u, at, {"adminUserName", "adminUserSshPublicKey", "adminUserPassword"});
    r.text(*u, at, "adminUserName", true);
    r.str(*u, at, "adminUserSshPublicKey");
    r.str(*u, at, "adminUserPassword");
    spec.inert.push_back(at);
  }
  if (const json::object* s = r.object(o, p, "subnet")) {
    r.check_keys(*s, p + ".subnet", {"id"});
    r.text(*s, p + ".subnet", "id", true);
    spec.inert.push_back(p + ".subnet");
  }
  return spec;
}

}  // namespace

Result<Parsed> parse_cluster_spec(std::string_view text, const ParseOptions& options) {
  auto root = parse_json(text, options.file_name);
  if (!root) return root.error();
  JsonReader r(options.file_name, options.strict ? UnknownKeys::error : UnknownKeys::warn, Conversions::az_sdk,
               "ignored, as Batch AI did");
  Parsed out;
  if (!root->is_object()) {
    r.error("(top level)", "expected an object with \"properties\", got " + JsonReader::describe(*root));
  } else {
    const json::object& top = root->get_object();
    r.check_keys(top, "(top level)", {"$schema", "properties", "location", "tags"});
    if (const json::object* props = r.object(top, "(top level)", "properties", true)) {
      out.spec = parse_properties(r, *props);
    }
  }
  if (auto ok = r.status(); !ok) return ok.error();
  out.warnings = std::move(r.warnings);
  return out;
}

}  // namespace batchai::clusterspec
