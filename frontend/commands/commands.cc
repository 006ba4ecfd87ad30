// The command table: one row per command. Help pages, dispatch and
// did-you-mean suggestions are all generated from these rows.
#include "frontend/cli.h"

namespace batchai::frontend {

extern const Command kJobCreate, kJobValidate;
extern const Command kSlurmSubmit, kSlurmShow, kSlurmCancel, kSlurmWait, kSlurmNodes, kSlurmPartitions;

namespace {
constexpr const Command* kCommands[] = {
    &kJobCreate, &kJobValidate,
    &kSlurmSubmit, &kSlurmShow, &kSlurmWait, &kSlurmCancel, &kSlurmNodes, &kSlurmPartitions,
};

constexpr Group kGroups[] = {
    {"job", "Batch AI jobs: job.json files checked, translated and run on Slurm."},
    {"slurm", "Talk to Slurm directly through libslurm: plumbing for checking a site's setup."},
};
}  // namespace

std::span<const Command* const> commands() { return kCommands; }
std::span<const Group> groups() { return kGroups; }

}  // namespace batchai::frontend
