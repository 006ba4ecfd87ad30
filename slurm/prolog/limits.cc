#include "slurm/prolog/limits.h"

#include <cstdio>

#include "slurm/prolog/fd.h"

namespace batchai::prolog {
namespace {

bool has_control(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// A value in a message: escaped, and cut where it is long.
std::string shown(std::string_view value) { return log_safe(value, 80); }

}  // namespace

std::string log_safe(std::string_view text, std::size_t max) {
  std::string out;
  const std::size_t n = text.size() < max ? text.size() : max;
  for (std::size_t i = 0; i < n; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7f) {
      out += text[i];
    } else if (u == '\n') {
      out += "\\n";
    } else if (u == '\t') {
      out += "\\t";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  if (n < text.size()) out += "... (" + std::to_string(text.size() - n) + " more bytes)";
  return out;
}

Status check_spank_value(std::string_view name, std::string_view value) {
  if (value.size() > kMaxSpankValue) {
    return Error{std::string(name) + " is " + std::to_string(value.size()) + " bytes long; at most " +
                 std::to_string(kMaxSpankValue) + " are accepted"};
  }
  return {};
}

Result<unsigned> job_id_number(std::string_view name, const char* value) {
  const std::string_view text = value ? value : "";
  unsigned long n = 0;
  bool digits = !text.empty() && text.size() <= 10;
  for (char c : text) {
    if (c < '0' || c > '9') digits = false;
    if (digits) n = n * 10 + static_cast<unsigned long>(c - '0');
  }
  if (!value || text.empty()) return Error{std::string(name) + " is not set; Slurm sets it for every job"};
  if (!digits || n > 0xfffffffeUL) {
    return Error{std::string(name) + ": expected a number, got '" + shown(text) + "'"};
  }
  if (n == 0) return Error{std::string(name) + " is 0: a job of root's is not prepared by batchai-prolog"};
  return static_cast<unsigned>(n);
}

Status check_node_name(std::string_view node) {
  if (node.empty() || node == "." || node == ".." || node.find('/') != std::string_view::npos ||
      node.size() > kMaxName - 5 || has_control(node)) {
    return Error{"SLURMD_NODENAME: '" + shown(node) + "' is not a node name"};
  }
  return {};
}

Status check_job_dir(std::string_view dir) {
  if (dir.size() > kMaxPath) {
    return Error{"SPANK_BATCHAI_JOB_DIR is " + std::to_string(dir.size()) + " bytes long; at most " +
                 std::to_string(kMaxPath) + " are accepted"};
  }
  if (has_control(dir)) return Error{"SPANK_BATCHAI_JOB_DIR '" + shown(dir) + "' holds a control character"};
  if (dir.front() != '/') return Error{"SPANK_BATCHAI_JOB_DIR '" + shown(dir) + "' is not an absolute path"};
  return {};
}

std::optional<NodeError> check_volumes(const PrologJob& job) {
  const auto& volumes = job.plan.volumes;
  if (volumes.size() > kMaxVolumes) {
    return NodeError{"MountError", "on " + job.node + ": the job has " + std::to_string(volumes.size()) +
                                       " volumes; at most " + std::to_string(kMaxVolumes) + " are accepted"};
  }
  for (const auto& v : volumes) {
    auto fail = [&](const std::string& why) {
      return NodeError{"MountError", "volume '" + shown(v.relative_path) + "' on " + job.node + ": " + why};
    };
    const auto parts = components(v.relative_path);
    if (parts.size() > kMaxDepth) {
      return fail("the path has " + std::to_string(parts.size()) + " components; at most " +
                  std::to_string(kMaxDepth) + " are accepted");
    }
    for (const auto& part : parts) {
      if (part.size() > kMaxName) {
        return fail("a component of the path is " + std::to_string(part.size()) + " bytes long; at most " +
                    std::to_string(kMaxName) + " are accepted");
      }
    }
    const std::size_t length = job.job_dir.size() + std::string_view("/mounts/").size() + v.relative_path.size();
    if (length > kMaxPath) {
      return fail("the mount path would be " + std::to_string(length) + " bytes long; at most " +
                  std::to_string(kMaxPath) + " are accepted");
    }
    if (has_control(v.relative_path)) return fail("the path holds a control character");
    if (v.source.size() > kMaxPath) {
      return fail("its source is " + std::to_string(v.source.size()) + " bytes long; at most " +
                  std::to_string(kMaxPath) + " are accepted");
    }
  }
  return std::nullopt;
}

}  // namespace batchai::prolog
