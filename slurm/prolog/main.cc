// batchai-prolog: prepares a job's nodes before its processes start.
//
//   batchai-prolog setup --job-dir DIR [--volume RELATIVE=SOURCE]...
//                        [--refused RELATIVE=WHY]... [--directory-mode RELATIVE=MODE]...
//   batchai-prolog cleanup
//   batchai-prolog preparation-failed --job-dir DIR [--image IMAGE] --node NODE...
//   batchai-prolog prolog|epilog [--conf SITE_JSON]
//
// The job script runs it once on every node (srun --ntasks-per-node=1), as
// the job's user, before jobPreparation: it makes the job's directories and
// links each volume's site directory at $AZ_BATCHAI_JOB_MOUNT_ROOT/RELATIVE,
// logging each step to the node's
// execution-<node>.log. On failure it writes the Batch AI error to
// errors/<node>.json in the job directory, where `batchai job show` finds
// it, and exits 1, which fails the job and drains nothing. `cleanup`, at the
// job's end, removes the node's scratch ($AZ_BATCHAI_JOB_TEMP); outputs and
// logs stay. `preparation-failed`, run by the job runtime when the step
// that runs jobPreparation (in the job's container, if it has one) failed,
// records JobPreparationFailed for each node where jobPreparation failed,
// and ContainerStartFailed for each node whose container never started.
//
// As the site's Slurm Prolog and Epilog (Prolog mode, PrologFlags=Alloc),
// it runs as root at allocation and at the end on every node, with no
// arguments (it reads SLURM_SCRIPT_CONTEXT) or through a wrapper that
// passes --conf: the Prolog bind-mounts the job's volumes, the Epilog
// unmounts them. The volumes come from the job's submission (Slurm hands
// them over as SPANK_BATCHAI_VOLUMES), are checked against the site's own
// configuration, and nothing of the user's runs. Its failures are the
// job's, recorded for the job's first step to report: it exits 0 so that
// Slurm drains no node over a user's mistake.
//
// It runs on compute nodes, so it links only io/ and the translator's pure
// part, never the login-node frontend or libslurm.
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "base/args.h"
#include "base/diag.h"
#include "base/files.h"
#include "base/man.h"
#include "base/version.h"
#include "slurm/node_plan.h"
#include "slurm/prolog/as_user.h"
#include "slurm/prolog/container.h"
#include "slurm/prolog/error_record.h"
#include "slurm/prolog/limits.h"
#include "slurm/prolog/mounts.h"
#include "slurm/prolog/node_scratch.h"
#include "slurm/prolog/setup.h"

#ifndef BATCHAI_SITE_CONF
#define BATCHAI_SITE_CONF "/etc/batchai/site.json"
#endif

extern char** environ;

namespace {

using batchai::Error;
using batchai::Result;
using batchai::args::Option;
using batchai::args::Positional;

constexpr Option kOptions[] = {
    {"job-dir", 0, "DIR", "the job's directory ($BATCHAI_JOB_DIR)"},
    {"volume", 0, "REL=SOURCE", "link the site directory SOURCE at $AZ_BATCHAI_JOB_MOUNT_ROOT/REL", true},
    {"refused", 0, "REL=WHY", "a volume the site does not provide: fail with MountError saying WHY", true},
    {"directory-mode", 0, "REL=MODE", "the octal mode of directories made on the way to volume REL", true},
    {"image", 0, "IMAGE", "preparation-failed: the job's container image, if it has one"},
    {"node", 0, "NODE", "preparation-failed: one of the job's nodes", true},
    {"conf", 0, "FILE", "prolog, epilog: the site configuration (default " BATCHAI_SITE_CONF ")"},
    {"version", 0, "", "print version and exit"},
    {"man", 0, "", "print the manual page (roff) and exit"},
    {"help", 'h', "", "show this help and exit"},
};
constexpr Positional kPositionals[] = {
    {"STEP",
     "setup: the job's directories and volumes on this node; cleanup: remove its scratch; preparation-failed: "
     "record where jobPreparation failed or the container did not start; prolog, epilog: "
     "as Slurm's Prolog and Epilog (the default when Slurm runs it as one)",
     false},
};

std::string manual() {
  return batchai::man::page({
      "batchai-prolog",
      8,
      "prepare the nodes of a batchai job: volumes, directories, logs, errors",
      "\\fBbatchai-prolog\\fR \\fBsetup\\fR \\fB\\-\\-job-dir\\fR \\fIdir\\fR [\\fIoptions\\fR]\n.br\n"
      "\\fBbatchai-prolog\\fR \\fBcleanup\\fR | \\fBpreparation-failed\\fR ...\n.br\n"
      "\\fBbatchai-prolog\\fR [\\fBprolog\\fR | \\fBepilog\\fR] [\\fB\\-\\-conf\\fR \\fIsite.json\\fR]",
      {"The script batchai writes for a job runs batchai-prolog setup once on every node, as the job's user, "
       "before jobPreparation: it links each volume's site directory under $AZ_BATCHAI_JOB_MOUNT_ROOT, makes the "
       "job's directories, logs each step to execution-<node>.log and, on failure, records Batch AI's error "
       "(MountError, NodeSetupFailed) in errors/<node>.json in the job directory, where batchai job show finds it. "
       "cleanup removes the node's scratch at the end; preparation-failed records JobPreparationFailed for the nodes "
       "where jobPreparation failed and ContainerStartFailed for those whose container never started.",
       "A site may install it as Slurm's Prolog and Epilog (PrologFlags=Alloc; see etc/batchai/slurm-prolog.conf). "
       "Then it runs as root at allocation and bind-mounts each volume, checked against the site's own site.json; "
       "it runs nothing of the user's, makes the job's directories and error file as the job's user, and always exits "
       "0, recording failures as the job's MountError so that Slurm drains no node over a user's mistake. Its work "
       "ends after 60 seconds, with the job's MountError, well inside a PrologEpilogTimeout of 90 or more. The Epilog unmounts the volumes and removes the scratch of a "
       "cancelled job."},
      kOptions,
      kPositionals,
      {{"BATCHAI_JOB_DIR, AZ_BATCHAI_*", "setup and cleanup: the job's directories, as the job script exports them."},
       {"SLURM_SCRIPT_CONTEXT", "prolog_slurmd or epilog_slurmd: the step, when Slurm runs it with no arguments."},
       {"SPANK_BATCHAI_JOB_DIR, SPANK_BATCHAI_VOLUMES", "Prolog mode: the job's directory and volumes, from its "
        "submission."}},
      "setup: 0, or 1 when the node could not be prepared (the job fails). prolog and epilog: always 0. 2 for a "
      "command line that cannot be parsed.",
      ".BR batchai (1),\n.BR slurm.conf (5)"});
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string now_iso() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// What the job script exported: the node and the job's paths.
struct Job {
  std::string dir;
  batchai::slurm::NodePlan plan;
  std::string node;
  std::string stdouterr;
  batchai::prolog::NodeSetup setup;
};

// REL=VALUE, split at the first '=' (a relative path has none that matter
// here: the script writes them, and a volume's path may not hold one).
std::optional<std::pair<std::string, std::string>> split_pair(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

std::optional<Error> read_volumes(const batchai::args::Parsed& p, batchai::slurm::NodePlan& plan) {
  for (const char* flag : {"volume", "refused"}) {
    for (const auto& v : p.all(flag)) {
      auto pair = split_pair(v);
      if (!pair || pair->second.empty()) {
        return Error{std::string("--") + flag + ": expected RELATIVE=" + (flag[0] == 'v' ? "SOURCE" : "WHY") +
                     ", got '" + v + "'"};
      }
      // One spelling, as parse_node_plan gives; a path that escapes is kept
      // as written so the job fails with a MountError naming it.
      const auto normal = batchai::slurm::normal_relative(pair->first);
      batchai::slurm::NodeVolume volume{normal.value_or(pair->first), "", std::nullopt, ""};
      (flag[0] == 'v' ? volume.source : volume.refused) = pair->second;
      plan.volumes.push_back(std::move(volume));
    }
  }
  for (const auto& m : p.all("directory-mode")) {
    auto pair = split_pair(m);
    auto mode = pair ? batchai::slurm::parse_mode(pair->second) : std::nullopt;
    if (!mode) return Error{"--directory-mode: expected RELATIVE=MODE with an octal MODE, got '" + m + "'"};
    auto it = std::find_if(plan.volumes.begin(), plan.volumes.end(),
                           [&](const auto& v) {
                             return v.relative_path == batchai::slurm::normal_relative(pair->first).value_or(pair->first);
                           });
    if (it == plan.volumes.end()) return Error{"--directory-mode: no volume at '" + pair->first + "'"};
    it->directory_mode = mode;
  }
  return std::nullopt;
}

Result<Job> read_job(const batchai::args::Parsed& p) {
  Job job;
  job.dir = p.get("job-dir").value_or("");
  if (job.dir.empty() || job.dir.front() != '/') return Error{"--job-dir: expected the job's absolute directory"};
  job.node = env_or_empty("SLURMD_NODENAME");
  if (job.node.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    job.node = host;
  }
  if (auto e = read_volumes(p, job.plan)) return *e;
  job.stdouterr = env_or_empty("AZ_BATCHAI_STDOUTERR_DIR");
  job.setup.node = job.node;
  job.setup.mount_root = env_or_empty("AZ_BATCHAI_JOB_MOUNT_ROOT");
  for (const char* name : {"AZ_BATCHAI_STDOUTERR_DIR", "AZ_BATCHAI_JOB_MOUNT_ROOT", "AZ_BATCHAI_JOB_TEMP",
                           "AZ_BATCHAI_SHARED_JOB_TEMP"}) {
    const std::string v = env_or_empty(name);
    if (v.empty() || v.front() != '/') {
      return Error{std::string("$") + name + " is not an absolute path; run me from the batchai job script"};
    }
    if (std::string_view(name) != "AZ_BATCHAI_JOB_MOUNT_ROOT") job.setup.directories.push_back(v);
  }
  // The job's output directories, as the script expanded them.
  for (char** e = environ; *e; ++e) {
    const std::string_view kv = *e;
    if (kv.starts_with("AZ_BATCHAI_OUTPUT_")) {
      const auto eq = kv.find('=');
      if (eq != std::string_view::npos && eq + 1 < kv.size()) job.setup.directories.emplace_back(kv.substr(eq + 1));
    }
  }
  return job;
}

// The node's execution log, a timestamped line per step, as Batch AI kept.
// Lines wait in memory until setup is done: the log is in the stdouterr
// directory, which may be inside a volume that is not linked yet.
class NodeLog {
 public:
  void operator()(const std::string& line) { lines_.push_back(now_iso() + " batchai-prolog: " + line); }
  void write(const Job& job) {
    std::error_code ec;
    std::filesystem::create_directories(job.stdouterr, ec);
    std::ofstream out(job.stdouterr + "/execution-" + job.node + ".log", std::ios::app);
    for (const auto& l : lines_) out << l << "\n";
    lines_.clear();
  }

 private:
  std::vector<std::string> lines_;
};

// errors/<node>.json: the Batch AI error `job show` reports, with the node
// and its log named in the details.
void record_error(const Job& job, const batchai::prolog::NodeError& e) {
  const std::string text =
      batchai::prolog::error_json(e, job.node, {{"log", job.stdouterr + "/execution-" + job.node + ".log"}});
  std::error_code ec;
  std::filesystem::create_directories(job.dir + "/errors", ec);
  (void)batchai::write_file_atomic(job.dir + "/errors/" + job.node + ".json", text, 0644);
}

int setup(const Job& job) {
  NodeLog log;
  log("node " + job.node + ": setting up job directories and volumes");
  // The site's Prolog could not mount this node's volumes; it recorded why.
  if (std::filesystem::exists(job.dir + "/errors/" + job.node + ".json")) {
    log("the Prolog recorded an error: see errors/" + job.node + ".json in the job directory");
    log.write(job);
    batchai::diag::error("the Prolog on " + job.node + " failed; see " + job.dir + "/errors/" + job.node + ".json");
    return 1;
  }
  auto fail = [&](const batchai::prolog::NodeError& e) {
    log(e.code + ": " + e.message);
    log.write(job);
    record_error(job, e);
    batchai::diag::error(e.code + ": " + e.message);
    return 1;
  };
  if (auto e = batchai::prolog::set_up_node(job.plan, job.setup, std::ref(log))) return fail(*e);
  log("node " + job.node + ": ready");
  log.write(job);
  return 0;
}

// The node's scratch, if it is one: a real directory (not a link) named as
// the job script names it, so an edited environment removes nothing else.
int cleanup() {
  const std::string scratch = env_or_empty("AZ_BATCHAI_JOB_TEMP");
  const std::string job_id = env_or_empty("SLURM_JOB_ID");
  const std::string node = env_or_empty("SLURMD_NODENAME");
  const std::filesystem::path p(scratch);
  if (scratch.empty() || p.is_relative() || job_id.empty() || p.filename() != "batchai-job-" + job_id) {
    batchai::diag::error("$AZ_BATCHAI_JOB_TEMP is not this job's scratch; run me from the batchai job script");
    return 2;
  }
  // Another node may be removing the same directory (nodes that share a
  // host, as on a test cluster): what it removed first is not an error.
  std::error_code ec;
  for (int attempt = 0; attempt < 3; ++attempt) {
    ec.clear();
    const auto st = std::filesystem::symlink_status(p, ec);
    if (ec || st.type() != std::filesystem::file_type::directory) {
      ec.clear();
      break;
    }
    std::filesystem::remove_all(p, ec);
    if (ec != std::errc::no_such_file_or_directory) break;
  }
  const std::string log = env_or_empty("AZ_BATCHAI_STDOUTERR_DIR");
  if (!log.empty()) {
    std::ofstream(log + "/execution-" + node + ".log", std::ios::app)
        << now_iso() << " batchai-prolog: node " << node << ": "
        << (ec ? "cannot remove " + scratch + ": " + ec.message() : "removed " + scratch) << "\n";
  }
  if (ec) {
    batchai::diag::error("cannot remove " + scratch + ": " + ec.message());
    return 1;
  }
  return 0;
}

int preparation_failed(const batchai::args::Parsed& p) {
  batchai::prolog::NodeStep step;
  step.job_dir = p.get("job-dir").value_or("");
  step.image = p.get("image").value_or("");
  step.nodes = p.all("node");
  step.stdouterr = env_or_empty("AZ_BATCHAI_STDOUTERR_DIR");
  step.now = now_iso();
  if (step.job_dir.empty() || step.job_dir.front() != '/') {
    batchai::diag::error("--job-dir: expected the job's absolute directory");
    return 2;
  }
  for (const auto& node : step.nodes) {
    if (node.empty() || node.find('/') != std::string::npos || node.starts_with(".")) {
      batchai::diag::error("--node: '" + node + "' is not a node name");
      return 2;
    }
  }
  // jobPreparation's own output says why it failed; the job's log says
  // where to look.
  (void)batchai::prolog::record_preparation_failures(step);
  if (step.image.empty()) return 0;
  for (const auto& node : batchai::prolog::record_container_failures(step)) {
    batchai::diag::error("the job's container did not start on " + node);
  }
  return 0;
}

// Prolog mode. What Slurm gives a Prolog: the job's ids, and the
// submission's spank_job_env with a SPANK_ prefix. Every value is the
// user's choice but the ids, and each is checked against limits.h before
// root uses it.
Result<batchai::prolog::PrologJob> prolog_job(const std::string& dir) {
  namespace prolog = batchai::prolog;
  if (auto s = prolog::check_spank_value("SPANK_BATCHAI_JOB_DIR", dir); !s) return s.error();
  if (auto s = prolog::check_job_dir(dir); !s) return s.error();
  prolog::PrologJob job;
  job.job_dir = dir;
  job.node = env_or_empty("SLURMD_NODENAME");
  if (auto s = prolog::check_node_name(job.node); !s) return s.error();
  job.job_id = env_or_empty("SLURM_JOB_ID");
  auto uid = prolog::job_id_number("SLURM_JOB_UID", std::getenv("SLURM_JOB_UID"));
  if (!uid) return uid.error();
  auto gid = prolog::job_id_number("SLURM_JOB_GID", std::getenv("SLURM_JOB_GID"));
  if (!gid) return gid.error();
  job.uid = static_cast<uid_t>(*uid);
  job.gid = static_cast<gid_t>(*gid);
  return job;
}

// The site configuration as the job's user sees it: "~" is their home.
Result<batchai::site::SiteConfig> prolog_site(const batchai::args::Parsed& p, uid_t uid) {
  std::string home = "/";
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_dir) home = found->pw_dir;
  const std::string conf = p.get("conf").value_or(BATCHAI_SITE_CONF);
  return batchai::site::load_site_config(conf.c_str(), conf, home);
}

// The Prolog's work: the job's volumes mounted, or its MountError recorded.
void mount_job(batchai::prolog::PrologJob& job, const batchai::site::SiteConfig& site,
               const batchai::prolog::Log& log) {
  namespace prolog = batchai::prolog;
  auto failed = [&](const prolog::NodeError& e) {
    log(e.code + ": " + e.message);
    if (auto s = prolog::record_prolog_error(job, site, e); !s) log(s.error().message);
  };
  const std::string volumes = env_or_empty("SPANK_BATCHAI_VOLUMES");
  if (volumes.empty()) return;  // a job without volumes
  if (auto s = prolog::check_spank_value("SPANK_BATCHAI_VOLUMES", volumes); !s) {
    return failed({"MountError", "on " + job.node + ": " + s.error().message});
  }
  auto plan = batchai::slurm::parse_node_plan(volumes, "SPANK_BATCHAI_VOLUMES");
  if (!plan) return failed({"MountError", plan.error().message});
  job.plan = std::move(*plan);
  if (auto e = prolog::mount_volumes(job, site, log)) failed(*e);
}

int slurm_prolog(const batchai::args::Parsed& p, bool epilog) {
  namespace prolog = batchai::prolog;
  const std::string dir = env_or_empty("SPANK_BATCHAI_JOB_DIR");
  if (dir.empty()) return 0;  // not a batchai job
  // slurmd keeps a Prolog's standard error in its log; every value in a
  // line may be the user's, so no line holds a control character.
  const std::string who = "job " + env_or_empty("SLURM_JOB_ID") + " on " + env_or_empty("SLURMD_NODENAME") + ": ";
  const prolog::Log log = [&](const std::string& line) { batchai::diag::note(prolog::log_safe(who + line)); };
  auto job = prolog_job(dir);
  if (!job) {
    // Without a user to write as or a directory to write in, nothing can
    // be recorded; the job's first step finds no mount and no error.
    log("refused: " + job.error().message);
    return 0;
  }
  // The watchdog: the work runs in a child killed at the budget's end, so
  // a FIFO, a hung share or a huge tree fails the job, never the node.
  auto done = prolog::within(prolog::kPrologBudget, [&]() -> batchai::Status {
    auto site = prolog_site(p, job->uid);
    if (!site) {
      log(site.error().message);
      if (!epilog) {
        if (auto s = prolog::record_prolog_error(*job, batchai::site::SiteConfig{}, {"MountError", site.error().message});
            !s) {
          log(s.error().message);
        }
      }
      return {};
    }
    if (epilog) {
      prolog::unmount_volumes(*job, *site, log);
      prolog::remove_node_scratch(*job, *site, job->job_id, log, prolog::kScratchLimit);
    } else {
      mount_job(*job, *site, log);
    }
    return {};
  });
  if (done) return 0;
  const std::string why = std::string(epilog ? "the Epilog" : "the Prolog") + " on " + job->node + " " +
                          done.error().message;
  log(why);
  if (!epilog) {
    // Recorded from here, since the child may have died before it could;
    // the site configuration is read again, within the record's own limit.
    auto recorded = prolog::within(prolog::kRecordLimit, [&]() -> batchai::Status {
      auto site = prolog_site(p, job->uid);
      if (!site) return site.error();
      return prolog::record_prolog_error(*job, *site, {"MountError", why});
    });
    if (!recorded) log("cannot record the job's MountError: " + recorded.error().message);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  batchai::diag::set_program("batchai-prolog");
  std::vector<std::string> argv_list(argv + 1, argv + argc);
  auto parsed = batchai::args::parse(argv_list, kOptions, kPositionals);
  if (!parsed) {
    batchai::diag::error(parsed.error().message + " (try --help)");
    return 2;
  }
  if (parsed->has("help")) {
    std::fputs(batchai::args::help("batchai-prolog STEP [OPTIONS]", "Prepares a batchai job's nodes.", kOptions,
                                   kPositionals)
                   .c_str(),
               stdout);
    return 0;
  }
  if (parsed->has("man")) return std::fputs(manual().c_str(), stdout), 0;
  if (parsed->has("version")) {
    std::printf("batchai-prolog %s (%s)\n", batchai::build::kVersion, batchai::build::kGitRevision);
    return 0;
  }
  std::string step = parsed->positionals().empty() ? "" : parsed->positionals().front();
  if (step.empty()) {
    const std::string context = env_or_empty("SLURM_SCRIPT_CONTEXT");
    if (context == "prolog_slurmd") step = "prolog";
    if (context == "epilog_slurmd") step = "epilog";
  }
  if (step == "prolog" || step == "epilog") return slurm_prolog(*parsed, step == "epilog");
  if (step == "cleanup") return cleanup();
  if (step == "preparation-failed") return preparation_failed(*parsed);
  if (step != "setup") {
    batchai::diag::error("STEP: expected setup, cleanup, preparation-failed, prolog or epilog, got '" + step +
                         "' (try --help)");
    return 2;
  }
  auto job = read_job(*parsed);
  if (!job) {
    batchai::diag::error(job.error().message);
    return 2;
  }
  return setup(*job);
}
