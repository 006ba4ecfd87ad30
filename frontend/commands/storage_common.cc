#include "frontend/commands/storage_common.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace batchai::frontend::storage {

namespace fs = std::filesystem;

Status check_share_name(std::string_view name, std::string_view flag) {
  const auto bad = [&](std::string_view why) {
    return Error{"--" + std::string(flag) + ": \"" + std::string(name) + "\" is not a share name: " +
                 std::string(why)};
  };
  if (name.size() < 3 || name.size() > 63) return bad("it must be 3 to 63 characters long");
  const auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; };
  if (!std::all_of(name.begin(), name.end(), allowed)) {
    return bad("use lowercase letters, digits and hyphens");
  }
  if (name.front() == '-' || name.back() == '-' || name.find("--") != std::string_view::npos) {
    return bad("a hyphen must stand between letters or digits");
  }
  return {};
}

ShareDir share_dir(const site::SiteConfig& site, std::string_view name) {
  for (const auto& s : site.shares) {
    if (s.kind == site::Share::Kind::azure_file_share && s.name == name) return {s.path, true};
  }
  return {fs::path(site.storage_root) / name, false};
}

Result<std::string> share_name(const args::Parsed& p, std::string_view flag) {
  auto name = p.get(flag).value_or("");  // required by every table that names `flag`
  if (auto ok = check_share_name(name, flag); !ok) return ok.error();
  return name;
}

Result<fs::path> existing_share(const site::SiteConfig& site, const args::Parsed& p, std::string_view flag) {
  const auto name = share_name(p, flag);
  if (!name) return name.error();
  const fs::path dir = share_dir(site, *name).path;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{"--" + std::string(flag) + ": no file share \"" + *name + "\" in " + site.storage_root +
                 " (create it with `batchai storage share create -n " + *name + "`)"};
  }
  return dir;
}

Result<fs::path> inside(const fs::path& share, std::string_view relative, std::string_view flag) {
  const auto bad = [&](std::string_view why) {
    return Error{"--" + std::string(flag) + ": \"" + std::string(relative) + "\" " + std::string(why)};
  };
  std::string_view rest = relative;
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (!rest.empty() && rest.front() == '/') return bad("must be a path inside the share, not an absolute one");
  fs::path out = share;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return bad("must name a path inside the share, without . or ..");
    if (part.find('\0') != std::string_view::npos || part.find('\n') != std::string_view::npos) {
      return bad("contains a control character");
    }
    out /= std::string(part);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  // A link planted inside a shared share could otherwise send a write out.
  std::error_code ec;
  const fs::path root = fs::canonical(share, ec);
  if (ec) return Error{"cannot resolve the share " + share.string() + ": " + ec.message()};
  const fs::path real = fs::weakly_canonical(out, ec);
  if (ec) return Error{"cannot resolve " + out.string() + ": " + ec.message()};
  const auto [r, o] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  if (r != root.end()) return bad("leads out of the share through a symbolic link");
  return out;
}

Result<bool> make_directory(const fs::path& dir, std::string_view what) {
  if (::mkdir(dir.c_str(), 0777) == 0) return true;
  const int err = errno;
  std::error_code ec;
  if (err == EEXIST && fs::is_directory(dir, ec)) return false;
  if (err == EEXIST) return Error{std::string(what) + " exists and is not a directory"};
  return Error{"cannot create " + dir.string() + ": " + std::strerror(err)};
}

Result<std::vector<site::Share>> user_shares(const site::SiteConfig& site) {
  std::vector<site::Share> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(site.storage_root, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code dir_ec;
    if (!check_share_name(name, "") || !entry.is_directory(dir_ec) || share_dir(site, name).site_mapped) continue;
    out.push_back({site::Share::Kind::azure_file_share, name, entry.path().string()});
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Error{"cannot list the storage root " + site.storage_root + ": " + ec.message()};
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

void add_user_shares(site::SiteConfig& site) {
  auto own = user_shares(site);
  if (own) site.shares.insert(site.shares.end(), own->begin(), own->end());
}

}  // namespace batchai::frontend::storage
