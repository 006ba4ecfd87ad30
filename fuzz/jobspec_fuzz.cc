// libFuzzer target: job.json text through everything `batchai job create
// --dry-run` does with it, with no I/O: parse and validate (lenient and
// --strict), fill the storage placeholders, plan against a fixed site, then
// render the script, the submission and the dry-run text.
//
// Crashes and sanitizer reports are findings by themselves; beyond them the
// target aborts when an output breaks a promise the headers make:
//   - every problem is reported as lines "job.json: <path>: <problem>", and
//     warnings are single such lines;
//   - --strict differs from the lenient parse only by turning the
//     unknown-key warnings into errors;
//   - the plan stays inside the site's jobs root and is self-consistent
//     (counts, placement, unique environment names, links that stay below
//     $AZ_BATCHAI_JOB_MOUNT_ROOT);
//   - secrets never reach the script, and --dry-run shows none of them;
//   - the script is a bash script (and, for a sample of inputs, `bash -n`
//     accepts it and the bodies it runs with `bash -c`).
//
// Which site the input is planned for (container runtime, GPU or CPU
// cluster, storage account given or not) comes from a hash of the input, so
// every branch of the translator is reachable and a crash file replays
// exactly.
//
// Environment: BATCHAI_FUZZ_BASH=all runs `bash -n` on every script (about
// 2.5x slower), =none on none; by default on one in 16, chosen by the hash.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "io/job_spec.h"
#include "io/site_config.h"
#include "slurm/job_plan.h"

extern "C" char** environ;

namespace {

using namespace batchai;

const std::string kFile = "job.json";
const std::string kAccount = "fuzzaccount";
const std::string kKey = "fuzzKey0123456789==";
// Values put in place of the job's secrets in the second, canary run. No
// output may contain it; inputs that carry it themselves skip that check.
constexpr std::string_view kCanary = "QzCANARY";
constexpr std::size_t kMaxRenderedProcesses = 2048;
// Linux's MAX_ARG_STRLEN: execve refuses a longer single argument.
constexpr std::size_t kMaxArgument = 128 * 1024;

[[noreturn]] void fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "\njobspec_fuzz: invariant violated: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "---\n%.*s\n---\n", static_cast<int>(std::min<std::size_t>(detail.size(), 4000)),
                 detail.data());
  }
  std::abort();
}

void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    const std::size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// "<file>: <path>: <problem>" per line (or "<file>:<line>:<col>: invalid
// JSON"): whatever prints the message relies on it being lines that each
// name the file.
void check_report(std::string_view what, std::string_view message) {
  check(!message.empty(), what, "empty message");
  for (std::string_view line : lines(message)) {
    check(line.starts_with(kFile + ":") && line.size() > kFile.size() + 2, what, message);
  }
}

void check_warnings(std::string_view what, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) {
    check(w.starts_with(kFile + ": ") && !contains(w, "\n"), what, w);
  }
}

std::uint32_t fnv1a(const std::uint8_t* data, std::size_t size) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}

// The site of the translator's golden tests: every share name the corpus
// uses, a QOS for "high", GPUs.
site::SiteConfig make_site(site::ContainerRuntime runtime, bool allow_host) {
  site::SiteConfig s;
  s.source = "fuzz-site.json";
  s.jobs_root = "/shared/jobs";
  s.mount_root = "/shared/mounts";
  s.node_temp_root = "/local/scratch";
  s.high.qos = "high";
  s.container_runtime = runtime;
  s.allow_host_without_container = allow_host;
  using K = site::Share::Kind;
  s.shares = {{K::azure_file_share, "myshare", "/shared/afs/myshare"},
              {K::azure_file_share, "scripts", "/shared/afs/scripts"},
              {K::azure_file_share, "logs", "/shared/afs/logs"},
              {K::azure_blob_file_system, "data", "/shared/blob/data"},
              {K::file_server, "nfs", "/nfs"},
              {K::unmanaged_file_system, "mount -t glusterfs 10.0.0.4:/gv0", "/gluster/gv0"}};
  return s;
}

struct Fixture {
  site::SiteConfig sites[4] = {make_site(site::ContainerRuntime::pyxis, false),
                               make_site(site::ContainerRuntime::apptainer, false),
                               make_site(site::ContainerRuntime::none, false),
                               make_site(site::ContainerRuntime::none, true)};
  slurm::ClusterBinding clusters[2];
  slurm::JobIdentity id{"rg", "ws", "exp", "job", "00000000-0000-4000-8000-000000000000"};
  // The submitter's environment, which the job inherits.
  std::vector<std::string> environment{"PATH=/usr/bin:/bin", "HOME=/home/ada"};
  bool bash_all = false, bash_none = false;

  Fixture() {
    // The other site options: one rank per GPU by default, and a port base
    // near the top of the range, which bounds TensorFlow's processes.
    sites[1].default_process_count = site::DefaultProcessCount::gpus;
    sites[2].tensorflow_port_base = 65000;
    auto& gpu = clusters[0];
    gpu.cluster.name = gpu.cluster.partition = "gpu";
    gpu.cluster.gpus_per_node = 4;
    gpu.cluster.gpu_type = "h100";
    gpu.partition_max_seconds = 3 * 86400;
    // A CPU cluster whose cap comes from the site, with no partition limit.
    auto& cpu = clusters[1];
    cpu.cluster.name = "batch";
    cpu.cluster.partition = "batch-part";
    cpu.cluster.max_wall_clock_seconds = 86400;
    if (const char* b = std::getenv("BATCHAI_FUZZ_BASH")) {
      bash_all = std::strcmp(b, "all") == 0;
      bash_none = std::strcmp(b, "none") == 0;
    }
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

// ---- parse ----------------------------------------------------------------

void check_strict_matches_lenient(const Result<jobspec::Parsed>& lenient, const Result<jobspec::Parsed>& strict) {
  constexpr std::string_view kIgnored = "; ignored, as Batch AI did";
  if (lenient) {
    check_warnings("lenient parse: warning", lenient->warnings);
    if (lenient->warnings.empty()) {
      check(strict.ok(), "--strict refused a file with no unknown keys", strict ? "" : strict.error().message);
      check(strict->warnings.empty(), "--strict gave warnings");
      return;
    }
    check(!strict, "--strict accepted a file with unknown keys");
    std::string expected;
    for (const auto& w : lenient->warnings) {
      check(w.ends_with(kIgnored), "an unknown-key warning does not say it is ignored", w);
      expected += (expected.empty() ? "" : "\n") + w.substr(0, w.size() - kIgnored.size());
    }
    check(strict.error().message == expected, "--strict errors are not the lenient parse's warnings",
          strict.error().message + "\n--- expected ---\n" + expected);
    return;
  }
  check(!strict, "--strict accepted what the lenient parse refused", lenient.error().message);
  // The lenient errors, in order, among the strict ones.
  const auto all = lines(strict.error().message);
  std::size_t at = 0;
  for (std::string_view line : lines(lenient.error().message)) {
    while (at < all.size() && all[at] != line) ++at;
    check(at < all.size(), "a lenient error is missing from --strict's", std::string(line));
    ++at;
  }
}

void check_no_placeholders(const jobspec::JobSpec& spec) {
  if (!spec.mount_volumes) return;
  auto clean = [](const std::string& s) {
    check(!contains(s, jobspec::kStorageAccountPlaceholder), "a storage account placeholder survived", s);
  };
  auto clean_key = [](const std::optional<jobspec::SecretValue>& k) {
    if (const auto* s = k ? std::get_if<std::string>(&*k) : nullptr) {
      check(!contains(*s, jobspec::kStorageKeyPlaceholder), "a storage key placeholder survived", *s);
    }
  };
  for (const auto& s : spec.mount_volumes->azure_file_shares) {
    clean(s.account_name);
    clean(s.azure_file_url);
    clean_key(s.account_key);
  }
  for (const auto& b : spec.mount_volumes->azure_blob_file_systems) {
    clean(b.account_name);
    clean_key(b.account_key);
  }
}

// ---- plan -----------------------------------------------------------------

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool stays_below(std::string_view relative) {
  if (relative.empty() || relative.front() == '/' || contains(relative, "\n")) return false;
  for (std::size_t start = 0; start <= relative.size();) {
    std::size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    if (relative.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

void check_plan(const slurm::JobPlan& p, const jobspec::JobSpec& spec, const site::SiteConfig& site,
                const slurm::ClusterBinding& binding) {
  const Fixture& f = fixture();
  check(p.id.segment() == f.id.segment(), "the plan's identity changed");
  check(p.tool_type == spec.tool_type(), "tool type", p.tool_type);
  check(p.job_dir.starts_with(site.jobs_root + "/") && p.job_dir == site.jobs_root + "/" + f.id.segment(),
        "job_dir is not <jobs root>/<segment>", p.job_dir);
  check(p.slurm_output.starts_with(p.job_dir + "/"), "slurm output outside the job directory", p.slurm_output);
  check(p.partition == binding.cluster.partition, "partition", p.partition);

  check(p.nodes >= 1 && static_cast<std::int64_t>(p.nodes) == spec.node_count, "node count",
        std::to_string(p.nodes));
  check(p.time_limit_minutes >= 1, "a time limit of 0 minutes means none to Slurm");
  std::optional<std::int64_t> cap = binding.cluster.max_wall_clock_seconds;
  if (binding.partition_max_seconds && (!cap || *binding.partition_max_seconds < *cap)) {
    cap = binding.partition_max_seconds;
  }
  if (cap) check(p.time_limit_minutes <= (*cap + 59) / 60, "time limit over the cluster's cap");
  check(p.gpus_per_node == binding.cluster.gpus_per_node, "GPUs per node");

  check(p.process_count >= 1 && p.tasks_per_node >= 1, "process or task count below 1");
  if (p.launch == slurm::Launch::mpi) {
    check(p.processes.empty(), "MPI plan with per-process launchers");
    check(p.mpi_plugin == site.mpi, "MPI plugin", p.mpi_plugin);
    // srun --nodes=N --ntasks=P --ntasks-per-node=T needs P <= N * T.
    const std::int64_t nodes = std::min<std::int64_t>(p.nodes, p.process_count);
    check(p.process_count <= nodes * p.tasks_per_node, "more MPI ranks than --nodes x --ntasks-per-node",
          std::to_string(p.process_count) + " ranks, " + std::to_string(nodes) + " nodes, " +
              std::to_string(p.tasks_per_node) + " per node");
  } else {
    check(static_cast<std::size_t>(p.process_count) == p.processes.size(), "process count != processes");
    std::map<int, std::set<int>> local;
    std::set<int> ports;
    for (std::size_t i = 0; i < p.processes.size(); ++i) {
      const auto& proc = p.processes[i];
      // TensorFlow's: every process its own port, wherever the nodes'
      // addresses coincide (the local cluster's are all 127.0.0.1).
      if (!proc.role.empty()) {
        check(proc.port >= site.tensorflow_port_base && proc.port <= 65535, "a port outside the site's range",
              std::to_string(proc.port));
        check(ports.insert(proc.port).second, "two processes with one port", std::to_string(proc.port));
      }
      check(proc.rank == static_cast<int>(i), "ranks are not 0, 1, ... in order");
      check(proc.node >= 0 && static_cast<std::uint32_t>(proc.node) < p.nodes, "a process on a node past the job's");
      check(local[proc.node].insert(proc.local_rank).second, "two processes with one local rank on a node");
      check(!proc.out_name.empty() && !contains(proc.out_name, "/") && !proc.err_name.empty() &&
                !contains(proc.err_name, "/"),
            "an output file name that is not a plain name", proc.out_name + " " + proc.err_name);
    }
    std::size_t most = 1;
    for (const auto& [node, ranks] : local) {
      check(*ranks.begin() == 0 && *ranks.rbegin() == static_cast<int>(ranks.size()) - 1,
            "local ranks on a node are not 0..n-1");
      most = std::max(most, ranks.size());
    }
    check(p.tasks_per_node == std::min<std::size_t>(most, 65535), "tasks per node != most processes on a node");
  }

  std::set<std::string> names;
  for (const auto& v : p.environment) {
    check(is_env_name(v.name), "an environment name that is not one", v.name);
    check(names.insert(v.name).second, "an environment variable set twice", v.name);
  }
  for (const auto& o : p.output_variables) check(names.count(o) == 1, "an output variable not in the environment", o);

  std::set<std::string> linked;
  for (const auto& l : p.volumes) {
    check(stays_below(l.relative_path), "a link that leaves $AZ_BATCHAI_JOB_MOUNT_ROOT", l.relative_path);
    check(linked.insert(l.relative_path).second, "two volumes linked at one path", l.relative_path);
    if (!l.refused.empty()) {
      check(l.source.empty(), "a refused volume with a source", l.source);
      continue;
    }
    const bool under_share = std::any_of(site.shares.begin(), site.shares.end(), [&](const site::Share& s) {
      return l.source == s.path || l.source.starts_with(s.path + "/");
    });
    check(under_share, "a link target outside the site's shares", l.source);
  }

  const bool container_expected =
      spec.container_settings && site.container_runtime != site::ContainerRuntime::none;
  check(p.container.has_value() == container_expected, "container present or missing against the site");
  if (p.container) check(!p.container->image.empty(), "empty container image");

  if (!p.secrets_file.empty()) check(p.secrets_file == p.job_dir + "/secrets.env", "secrets file", p.secrets_file);
  for (const auto& file : p.private_files) {
    check(file.path.starts_with(p.job_dir + "/"), "a private file outside the job directory", file.path);
  }
}

// ---- the script -------------------------------------------------------------

// The value of `name='...'` at the start of a line of the script, as bash
// reads it: shell_quote writes only '...' pieces and \' between them.
std::optional<std::string> single_quoted_assignment(std::string_view script, std::string_view name) {
  const std::string start = "\n" + std::string(name) + "='";
  std::size_t at = script.find(start);
  if (at == std::string_view::npos) return std::nullopt;
  at += start.size() - 1;
  std::string value;
  while (at < script.size()) {
    const char c = script[at];
    if (c == '\'') {
      const std::size_t end = script.find('\'', at + 1);
      if (end == std::string_view::npos) fail("unterminated quote in the script", script.substr(at, 200));
      value.append(script.substr(at + 1, end - at - 1));
      at = end + 1;
    } else if (c == '\\' && at + 1 < script.size()) {
      value += script[at + 1];
      at += 2;
    } else {
      break;
    }
  }
  return value;
}

// `bash -n` on the text, fed through a pipe: posix_spawn, not fork, so the
// sanitizers' shadow memory is not copied.
bool bash_accepts(std::string_view text) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) fail("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  char bash[] = "bash", dash_n[] = "-n";
  char* argv[] = {bash, dash_n, nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "bash", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[0]);
  if (rc != 0) fail("cannot start bash");
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = write(fds[1], text.data() + done, text.size() - done);
    if (n <= 0) break;  // bash stopped reading: its status tells why
    done += static_cast<std::size_t>(n);
  }
  close(fds[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid");
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void check_script(const std::string& script, const slurm::JobPlan& p, bool run_bash) {
  check(script.starts_with("#!/bin/bash\n#SBATCH --"), "the script does not start with #!/bin/bash and #SBATCH",
        script.substr(0, 100));
  check(script.ends_with("\nbatchai_run\n"), "the script does not end by running the job");
  // libslurm takes the script as a C string: a NUL would cut it short.
  check(!contains(script, std::string_view("\0", 1)), "a NUL byte in the script");
  check(contains(script, "\nexport BATCHAI_JOB_DIR='"), "the script does not set BATCHAI_JOB_DIR");
  check(contains(script, "\n. \"$batchai_runtime\"\n"), "the script does not source the job runtime");
  // The runtime hands these to `bash -c` inside one argument each, with a
  // few KiB of its own functions (the launch table, which lists every
  // process, goes through a file instead).
  for (const char* value : {"batchai_job_preparation", "batchai_mpi_command"}) {
    if (auto text = single_quoted_assignment(script, value)) {
      check(text->size() < kMaxArgument - 16384, "a bash -c body over Linux's 128 KiB argument limit",
            std::string(value) + ": " + std::to_string(text->size()) + " bytes");
    } else {
      const bool expected = std::string_view(value) == "batchai_job_preparation" ? p.job_preparation.has_value()
                                                                                 : p.launch == slurm::Launch::mpi;
      check(!expected, "the script lacks a command line", value);
    }
  }
  // Only command lines run as shell text, as values the runtime hands to
  // `bash -c`: the script is valid bash whatever the job says.
  if (!run_bash) return;
  check(bash_accepts(script), "bash -n refuses the script", script);
}

// ---- secrets ----------------------------------------------------------------

// Every run of letters and digits becomes a unique canary token; every other
// byte (newline, quote, backslash, ...) stays, since those are what could
// break masking.
std::string canary(const std::string& value, int& n) {
  std::string out;
  bool in_run = false;
  for (char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (!in_run) out += std::string(kCanary) + std::to_string(n++) + "x";
      in_run = true;
    } else {
      out += c;
      in_run = false;
    }
  }
  return out;
}

// The job with every secret replaced by canaries: secrets, the registry
// password and the storage account keys. False when it has none.
bool with_canaries(jobspec::JobSpec& spec) {
  int n = 0;
  auto replace = [&](jobspec::SecretValue& v) {
    if (auto* s = std::get_if<std::string>(&v)) *s = canary(*s, n);
  };
  for (auto& s : spec.secrets) replace(s.value);
  if (spec.container_settings && spec.container_settings->credentials) {
    replace(spec.container_settings->credentials->password);
  }
  if (spec.mount_volumes) {
    for (auto& s : spec.mount_volumes->azure_file_shares) {
      if (s.account_key) replace(*s.account_key);
    }
    for (auto& b : spec.mount_volumes->azure_blob_file_systems) {
      if (b.account_key) replace(*b.account_key);
    }
  }
  return n > 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // bash -n may exit before reading all of a script it refuses.
  signal(SIGPIPE, SIG_IGN);
  fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::uint32_t h = fnv1a(data, size);

  jobspec::ParseOptions lenient_options, strict_options;
  lenient_options.file_name = strict_options.file_name = kFile;
  strict_options.strict = true;
  auto lenient = jobspec::parse_job_spec(text, lenient_options);
  auto strict = jobspec::parse_job_spec(text, strict_options);
  if (!lenient) check_report("parse error", lenient.error().message);
  if (!strict) check_report("--strict parse error", strict.error().message);
  check_strict_matches_lenient(lenient, strict);
  if (!lenient) return 0;

  // One input in eight has no storage account, as when neither the flags
  // nor the environment give one.
  jobspec::StorageAccount account{kAccount, kKey};
  if ((h & 7) == 0) account = {};
  auto spec = jobspec::replace_storage_placeholders(lenient->spec, account, kFile);
  if (!spec) {
    check_report("placeholder error", spec.error().message);
    check(!account.name || !account.key, "a placeholder error with both account name and key given",
          spec.error().message);
    return 0;
  }
  check_no_placeholders(*spec);

  const site::SiteConfig& site = f.sites[(h >> 3) & 3];
  const slurm::ClusterBinding& binding = f.clusters[(h >> 5) & 1];
  auto plan = slurm::plan_job(*spec, f.id, binding, site, kFile);
  // job validate's check: whatever it refuses, no site may plan.
  if (const auto anywhere = slurm::check_job_anywhere(*spec, kFile); !anywhere) {
    check_report("validate error", anywhere.error().message);
    check(!plan, "job validate refused a job that a site plans", anywhere.error().message);
  }
  if (!plan) {
    check_report("plan error", plan.error().message);
    return 0;
  }
  check_warnings("plan warning", plan->warnings);
  check_plan(*plan, *spec, site, binding);
  // The script lists every process, and masking secrets in the dry run is
  // quadratic in its size; beyond this the time goes to copying text.
  if (plan->processes.size() > kMaxRenderedProcesses) return 0;

  const std::string script = slurm::render_script(*plan);
  const bool run_bash = !f.bash_none && (f.bash_all || ((h >> 6) & 15) == 0);
  check_script(script, *plan, run_bash);
  const slurm::SubmitRequest request = slurm::submission(*plan, script, f.environment);
  check(request.script == script && request.work_dir == plan->job_dir && request.nodes == plan->nodes &&
            request.environment == f.environment,
        "the submission differs from the plan");
  const std::string dry_run = slurm::dry_run_text(*plan, request);
  // Masking writes '*', so a secret with a '*' may be rebuilt from the mask
  // and its neighbours; short ones occur by chance.
  for (const auto& secret : plan->secret_values) {
    if (secret.size() >= 6 && !contains(secret, "*")) {
      check(!contains(dry_run, secret), "a secret in the --dry-run text", secret);
    }
  }

  // The same job with canaries for secrets: the script must not change (no
  // secret is in it) and no output may show any part of a canary.
  jobspec::JobSpec canaries = *spec;
  if (!with_canaries(canaries) || contains(text, kCanary)) return 0;
  auto canary_plan = slurm::plan_job(canaries, f.id, binding, site, kFile);
  check(canary_plan.ok(), "other secret values made the plan fail",
        canary_plan ? "" : canary_plan.error().message);
  const std::string canary_script = slurm::render_script(*canary_plan);
  check(canary_script == script, "the script depends on secret values");
  const std::string canary_dry_run =
      slurm::dry_run_text(*canary_plan, slurm::submission(*canary_plan, canary_script, f.environment));
  const std::size_t leak = canary_dry_run.find(kCanary);
  if (leak != std::string::npos) {
    fail("a secret (or part of one) in the --dry-run text",
         canary_dry_run.substr(leak > 300 ? leak - 300 : 0, 600));
  }
  for (const auto& w : canary_plan->warnings) check(!contains(w, kCanary), "a secret in a warning", w);
  for (const auto& v : canary_plan->environment) {
    check(!contains(v.value, kCanary), "a secret in the job's environment", v.name);
  }
  return 0;
}
