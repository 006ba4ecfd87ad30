// batchai list-usages: az's quota usages of a location, from Slurm. Batch
// AI counted cores per VM family against the subscription's quota; a site's
// quota is its nodes, so each VM size the site offers counts the CPUs (and
// GPUs) allocated on its partition against the partition's total, and the
// low-priority partition of a size counts the preemptible ones.
#include <boost/json.hpp>
#include <charconv>
#include <map>
#include <set>

#include "base/diag.h"
#include "frontend/commands/site.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

constexpr args::Option kOptions[] = {
    args::required({"location", 'l', "LOCATION", "accepted for az scripts; the usages are this site's"}),
};

// The GPUs a gres string names: "gpu:a100:4(S:0-1),gpu:2,mps:100" gives 6.
// A "gpu" entry without a count is one GPU, as Slurm reads it.
std::uint64_t gpus_in(std::string_view gres) {
  std::uint64_t total = 0;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= gres.size(); ++i) {
    const char c = i < gres.size() ? gres[i] : ',';
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c != ',' || depth > 0) continue;
    std::string_view entry = gres.substr(start, i - start);
    start = i + 1;
    entry = entry.substr(0, entry.find('('));
    if (entry != "gpu" && !entry.starts_with("gpu:")) continue;
    const auto colon = entry.rfind(':');
    const std::string_view last = colon == std::string_view::npos ? "" : entry.substr(colon + 1);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), n);
    total += ec == std::errc{} && end == last.data() + last.size() && !last.empty() ? n : 1;
  }
  return total;
}

struct Count {
  std::uint64_t cpus = 0, alloc_cpus = 0, gpus = 0, alloc_gpus = 0;
};

Count count(const std::set<std::string>& names, const std::map<std::string, const slurm::NodeInfo*>& nodes) {
  Count c;
  for (const auto& name : names) {
    auto it = nodes.find(name);
    if (it == nodes.end()) continue;
    const slurm::NodeInfo& n = *it->second;
    c.cpus += n.cpus;
    c.alloc_cpus += n.alloc_cpus;
    c.gpus += gpus_in(n.gres);
    c.alloc_gpus += gpus_in(n.gres_used);
  }
  return c;
}

json::object usage(const std::string& value, const std::string& localized, std::uint64_t current,
                   std::uint64_t limit) {
  return json::object{{"currentValue", current},
                      {"limit", limit},
                      {"name", json::object{{"localizedValue", localized}, {"value", value}}},
                      {"unit", "Count"}};
}

Result<int> run(Context& ctx, const args::Parsed&) {
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto partitions = (*client)->partitions();
  if (!partitions) return partitions.error();
  auto node_list = (*client)->nodes();
  if (!node_list) return node_list.error();
  std::map<std::string, const slurm::NodeInfo*> nodes;
  for (const auto& n : *node_list) nodes[n.name] = &n;
  std::map<std::string, std::set<std::string>> in_partition;
  std::string default_partition;
  for (const auto& p : *partitions) {
    in_partition[p.name].insert(p.node_names.begin(), p.node_names.end());
    if (p.is_default) default_partition = p.name;
  }
  auto members = [&](const std::string& partition) -> const std::set<std::string>& {
    static const std::set<std::string> kNone;
    auto it = in_partition.find(partition.empty() ? default_partition : partition);
    if (it == in_partition.end()) {
      diag::warning("list-usages: Slurm has no partition \"" + partition + "\" (" + site->source + ")");
      return kNone;
    }
    return it->second;
  };

  // What the site offers: its VM sizes, else every partition by its name.
  std::vector<site::Cluster> sizes = site->vm_sizes;
  if (sizes.empty()) {
    for (const auto& p : *partitions) {
      site::Cluster c;
      c.name = c.partition = p.name;
      sizes.push_back(std::move(c));
    }
  }
  json::array rows;
  std::set<std::string> dedicated, low_priority;
  for (const auto& s : sizes) {
    const std::string partition = s.partition.empty() ? default_partition : s.partition;
    const auto& names = members(partition);
    dedicated.insert(names.begin(), names.end());
    const Count c = count(names, nodes);
    rows.push_back(usage(s.name + "DedicatedCores", s.name + " dedicated cores (partition " + partition + ")",
                         c.alloc_cpus, c.cpus));
    if (c.gpus > 0) {
      rows.push_back(usage(s.name + "DedicatedGpus", s.name + " dedicated GPUs (partition " + partition + ")",
                           c.alloc_gpus, c.gpus));
    }
    if (s.low_priority_partition.empty()) continue;
    const auto& low = members(s.low_priority_partition);
    low_priority.insert(low.begin(), low.end());
    const Count l = count(low, nodes);
    rows.push_back(usage(s.name + "LowPriorityCores",
                         s.name + " low-priority cores (partition " + s.low_priority_partition + ")", l.alloc_cpus,
                         l.cpus));
    if (l.gpus > 0) {
      rows.push_back(usage(s.name + "LowPriorityGpus",
                           s.name + " low-priority GPUs (partition " + s.low_priority_partition + ")", l.alloc_gpus,
                           l.gpus));
    }
  }
  // Each node once, though several sizes or partitions share it.
  const Count d = count(dedicated, nodes), l = count(low_priority, nodes);
  rows.push_back(usage("TotalDedicatedCores", "Total dedicated cores", d.alloc_cpus, d.cpus));
  rows.push_back(usage("TotalLowPriorityCores", "Total low-priority cores", l.alloc_cpus, l.cpus));

  // az's table: Value (the localized name), Usage, Limit.
  if (ctx.format == OutputFormat::table) {
    for (auto& r : rows) {
      auto& o = r.as_object();
      r = json::object{{"value", o.at("name").at("localizedValue")},
                       {"usage", o.at("currentValue")},
                       {"limit", o.at("limit")}};
    }
  }
  static constexpr Column kColumns[] = {{"Value", "value"}, {"Usage", "usage"}, {"Limit", "limit"}};
  if (auto s = emit(ctx, rows, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kListUsages = {"list-usages", "Show the site's core and GPU usage against its nodes (az "
                                                   "batchai list-usages)",
                                    kOptions, {}, run};

}  // namespace batchai::frontend
