// The command table: one row per command. Help pages, dispatch and
// did-you-mean suggestions are all generated from these rows.
#include "frontend/cli.h"

namespace batchai::frontend {

extern const Command kConfigure;
extern const Command kExperimentCreate, kExperimentShow, kExperimentList, kExperimentDelete;
extern const Command kJobCreate, kJobValidate;
extern const Command kSlurmSubmit, kSlurmShow, kSlurmCancel, kSlurmWait, kSlurmNodes, kSlurmPartitions;
extern const Command kWorkspaceCreate, kWorkspaceShow, kWorkspaceList, kWorkspaceDelete;

namespace {
constexpr const Command* kCommands[] = {
    &kConfigure,
    &kWorkspaceCreate, &kWorkspaceShow, &kWorkspaceList, &kWorkspaceDelete,
    &kExperimentCreate, &kExperimentShow, &kExperimentList, &kExperimentDelete,
    &kJobCreate, &kJobValidate,
    &kSlurmSubmit, &kSlurmShow, &kSlurmWait, &kSlurmCancel, &kSlurmNodes, &kSlurmPartitions,
};

constexpr Group kGroups[] = {
    {"workspace", "Batch AI workspaces: named containers for experiments and clusters, kept in the state database."},
    {"experiment", "Batch AI experiments: named groups of jobs inside a workspace."},
    {"job", "Batch AI jobs: job.json files checked, translated and run on Slurm."},
    {"slurm", "Talk to Slurm directly through libslurm: plumbing for checking a site's setup."},
};
}  // namespace

std::span<const Command* const> commands() { return kCommands; }
std::span<const Group> groups() { return kGroups; }

}  // namespace batchai::frontend
