// `batchai file-server`: Batch AI's NFS file servers on a site. No VM is
// made: a file server is a directory on the shared filesystem that jobs
// mount by the server's name (fileServers[].fileServer.id, --nfs), either
// one the site maps as a "fileServer" share or one batchai makes under
// <storageRoot>/fileServers/<name> (a name no user share can take, since
// share names are lowercase).
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "frontend/cli.h"
#include "frontend/state.h"
#include "io/site_config.h"

namespace batchai::frontend::file_servers {

inline constexpr args::Option kNameOption = args::required({"name", 'n', "NAME", "file server name"});
// show and delete take -n or --ids.
inline constexpr args::Option kNameOrIdsOption = args::required_unless({"name", 'n', "NAME", "file server name"}, "ids");

// -g, -w and -n, each checked.
Result<state::FileServerKey> key(const Context& ctx, const args::Parsed& p, state::Store& store);

// The file servers a show or delete names (those of --ids, else -g -w -n),
// each found, or the error that says which is missing.
Result<std::vector<state::FileServer>> named(const Context& ctx, const args::Parsed& p, state::Store& store);

// The directory a file server of that name uses: the site's own
// "fileServer" share of that name, else <storageRoot>/fileServers/<name>.
struct Place {
  std::filesystem::path path;
  bool site_mapped = false;
};
Place place(const site::SiteConfig& site, std::string_view name);

// az's FileServer object, and the flat row its table shows.
boost::json::value to_json(const state::FileServer& f);
// `as_list`: an array (list), else the one object (show, create).
Status emit(const Context& ctx, std::span<const state::FileServer> all, bool as_list);

// The workspace's recorded file servers added to the site's shares, for a
// job's fileServers[] to resolve by name; those the site maps are there
// already.
Status add_to_site(site::SiteConfig& site, state::Store& store, const state::WorkspaceKey& ws);

}  // namespace batchai::frontend::file_servers
