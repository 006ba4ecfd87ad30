// `batchai storage`: the tutorial's Azure storage steps (account, share,
// directory, file upload and download) on the site's storage root, a
// directory on a filesystem the nodes share (site.json "storageRoot").
// The file shares are one namespace: those the site maps under "shares",
// and the directories users make as <storageRoot>/<share>. A job's
// azureFileShares entry resolves a name the same way, so what a user
// uploads to a share is what their job mounts.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/cli.h"
#include "io/site_config.h"

namespace batchai::frontend::storage {

inline constexpr args::Option kShareNameOption = args::required({"share-name", 's', "NAME", "the file share"});
inline constexpr args::Option kAccountNameOption = {
    "account-name", 0, "NAME", "accepted for az scripts; the site's storageRoot is the one account"};
inline constexpr args::Option kAccountKeyOption = {"account-key", 0, "KEY",
                                                    "accepted for az scripts and never stored or printed"};

// Azure's rule for share names (3 to 63 lowercase letters, digits and single
// hyphens, starting and ending with a letter or digit), which also makes
// every name a safe single path component. The error names `flag`.
Status check_share_name(std::string_view name, std::string_view flag);

// Where the file share `name` lives, whether or not it exists: the
// directory the site maps it to under "shares" (what a job mounts for that
// name, so uploads land where jobs look), else <storageRoot>/<name>.
struct ShareDir {
  std::filesystem::path path;
  bool site_mapped = false;  // an admin's share: not the user's to delete
};
ShareDir share_dir(const site::SiteConfig& site, std::string_view name);

// The share name `flag` gives (which the command's table marks required),
// checked.
Result<std::string> share_name(const args::Parsed& p, std::string_view flag);

// The share named by `flag` (its name checked), which must exist: the error
// says how to create it.
Result<std::filesystem::path> existing_share(const site::SiteConfig& site, const args::Parsed& p,
                                             std::string_view flag);

// `relative` (a --path value) inside `share`: not absolute, no "." or ".."
// component, and no symbolic link on the way that leads out of the share.
// Empty means the share itself.
Result<std::filesystem::path> inside(const std::filesystem::path& share, std::string_view relative,
                                     std::string_view flag);

// mkdir as az's "create" commands report it: true when made, false when a
// directory is already there (not an error), an error when something else
// stands there. The umask decides who else may read it.
Result<bool> make_directory(const std::filesystem::path& dir, std::string_view what);

// The shares users made under storageRoot that the site does not map
// itself (a name the site maps is the site's), sorted by name. A storage
// root not made yet holds none.
Result<std::vector<site::Share>> user_shares(const site::SiteConfig& site);

// Those shares, added to the site's map for a job to resolve. An unreadable
// storage root adds none; the job's missing share then says what to do.
void add_user_shares(site::SiteConfig& site);

}  // namespace batchai::frontend::storage
