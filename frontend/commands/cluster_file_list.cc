// batchai cluster file list: the files of a cluster's setup task output,
// <stdOutErrPathPrefix>/<stdOutErrPathSuffix>, as az listed them (its
// LogFile rows). A cluster without a setup task has none.
#include <boost/json.hpp>

#include "frontend/commands/cluster_common.h"
#include "frontend/commands/job_files.h"
#include "frontend/commands/resource_args.h"
#include "frontend/commands/site.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"cluster", 'c', "NAME", "cluster name"}),
    {"path", 'p', "PATH", "directory inside the setup task's output (default: .)"},
    {"expiry", 0, "MINUTES", "accepted for compatibility: files are read where they are, no links expire"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto cluster = find_cluster(ctx, p, **store, "cluster");
  if (!cluster) return cluster.error();
  if (auto expiry = p.get_int("expiry", 1, 1000000); !expiry) return expiry.error();
  boost::json::array files;
  if (!cluster->setup_uuid.empty()) {
    auto site = read_site_config(ctx);
    if (!site) return site.error();
    if (auto out = setup_output_dir(*cluster, site->mount_root)) {
      // The directory above stdouterr, which Batch AI's suffix named.
      const std::string root = out->substr(0, out->size() - std::string("/stdouterr").size());
      auto dir = directory_inside(root, p.get("path").value_or("."));
      if (!dir) return dir.error();
      for (const auto& f : list_directory(*dir)) {
        files.push_back(boost::json::object{
            {"name", f.name},
            {"is_directory", f.is_directory},
            {"size", f.size},
            {"download_url", f.is_directory ? boost::json::value(nullptr) : boost::json::value("file://" + f.path)},
        });
      }
    }
  }
  // az's table: yes/no for the directory flag.
  boost::json::array rows;
  if (ctx.format == OutputFormat::table) {
    for (const auto& f : files) {
      const auto& o = f.as_object();
      rows.push_back(boost::json::object{{"name", o.at("name")},
                                         {"directory", o.at("is_directory").as_bool() ? "yes" : "no"},
                                         {"size", o.at("size")}});
    }
  }
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Is directory", "directory"}, {"Size", "size"}};
  if (auto s = emit(ctx, ctx.format == OutputFormat::table ? rows : files, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterFileList = {"cluster file list", "List the files of a cluster's setup task output",
                                         kOptions, {}, run};

}  // namespace batchai::frontend
