// What Prolog mode accepts from a job, and how long it may take. Root reads
// values the user chose (the SPANK environment, the job directory's name,
// the volumes), so each has a bound, and a value past one is refused with a
// line that names it; none is shortened and used. The time limits keep the
// whole Prolog well inside Slurm's PrologEpilogTimeout, past which Slurm
// drains the node (docs/admin-guide.md, "Prolog mode").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "slurm/prolog/mounts.h"
#include "slurm/prolog/setup.h"

namespace batchai::prolog {

inline constexpr std::size_t kMaxVolumes = 64;
inline constexpr std::size_t kMaxPath = 4095;  // PATH_MAX less its NUL: what the kernel takes
inline constexpr std::size_t kMaxName = 255;   // NAME_MAX: one component
inline constexpr std::size_t kMaxDepth = 32;   // components of a relativeMountPath
inline constexpr std::size_t kMaxSpankValue = 64 * 1024;
// A longer relativeMountPath fails the job in mount_volumes: the Epilog
// must be able to find the mount again by the path the kernel lists for it
// (within PATH_MAX), or it could not unmount it.
inline constexpr std::size_t kMaxMountPath = 1024;

// The Prolog's or Epilog's whole work; slurm-prolog.conf sets
// PrologEpilogTimeout=120, and the admin guide asks for at least 90.
inline constexpr std::chrono::seconds kPrologBudget{60};
// The Epilog's removal of a cancelled job's node scratch, within the budget.
inline constexpr std::chrono::seconds kScratchLimit{30};
// Recording a failure (errors/<node>.json), after the budget if need be.
inline constexpr std::chrono::seconds kRecordLimit{10};

// `text` for a log line: control characters and bytes outside printable
// ASCII as escapes (so a value cannot forge a line in slurmd's log or drive
// a terminal), and at most `max` bytes of it, saying how many were left out.
std::string log_safe(std::string_view text, std::size_t max = 1024);

// A SPANK_* value: at most kMaxSpankValue bytes.
Status check_spank_value(std::string_view name, std::string_view value);

// SLURM_JOB_UID or SLURM_JOB_GID: decimal digits only, and not 0, since
// root is never the user root acts for.
Result<unsigned> job_id_number(std::string_view name, const char* value);

// SLURMD_NODENAME, which names errors/<node>.json: one path component.
Status check_node_name(std::string_view node);

// SPANK_BATCHAI_JOB_DIR: absolute, at most kMaxPath bytes, no control
// character. Where it lies is checked where it is opened.
Status check_job_dir(std::string_view dir);

// The job's volumes: at most kMaxVolumes, each relativeMountPath within
// kMaxDepth components of at most kMaxName bytes, the whole mount path
// (<job dir>/mounts/<path>) within kMaxPath, and its source within kMaxPath.
// The error is the job's MountError, naming the volume.
std::optional<NodeError> check_volumes(const PrologJob& job);

}  // namespace batchai::prolog
