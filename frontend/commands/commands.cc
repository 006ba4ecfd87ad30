// The command table: one row per command. Help pages, dispatch and
// did-you-mean suggestions are all generated from these rows.
#include "frontend/cli.h"

namespace batchai::frontend {

extern const Command kCompletion, kConfigure;
extern const Command kExperimentCreate, kExperimentShow, kExperimentList, kExperimentDelete;
extern const Command kClusterCreate, kClusterShow, kClusterList, kClusterResize, kClusterAutoScale, kClusterDelete,
    kClusterNodeList, kClusterNodeExec, kClusterFileList;
extern const Command kJobCreate, kJobExport, kJobShow, kJobList, kJobTerminate, kJobDelete, kJobWait, kJobFileList,
    kJobFileStream, kJobNodeList, kJobNodeExec, kJobValidate;
extern const Command kSlurmSubmit, kSlurmShow, kSlurmCancel, kSlurmWait, kSlurmNodes, kSlurmPartitions;
extern const Command kWorkspaceCreate, kWorkspaceShow, kWorkspaceList, kWorkspaceDelete;
extern const Command kGroupCreate, kGroupDelete;
extern const Command kStateRebuild;
extern const Command kFileServerCreate, kFileServerShow, kFileServerList, kFileServerDelete;
extern const Command kListUsages;
extern const Command kStorageAccountCreate, kStorageShareCreate, kStorageShareList, kStorageShareDelete,
    kStorageDirectoryCreate, kStorageFileUpload, kStorageFileUploadBatch, kStorageFileDownload, kStorageFileList;

namespace {
constexpr const Command* kCommands[] = {
    &kConfigure, &kCompletion,
    &kGroupCreate, &kGroupDelete,
    &kWorkspaceCreate, &kWorkspaceShow, &kWorkspaceList, &kWorkspaceDelete,
    &kExperimentCreate, &kExperimentShow, &kExperimentList, &kExperimentDelete,
    &kClusterCreate, &kClusterShow, &kClusterList, &kClusterResize, &kClusterAutoScale, &kClusterDelete,
    &kClusterNodeList, &kClusterNodeExec, &kClusterFileList,
    &kJobCreate, &kJobExport, &kJobShow, &kJobList, &kJobTerminate, &kJobDelete, &kJobWait, &kJobFileList,
    &kJobFileStream, &kJobNodeList, &kJobNodeExec, &kJobValidate,
    &kStorageAccountCreate, &kStorageShareCreate, &kStorageShareList, &kStorageShareDelete, &kStorageDirectoryCreate,
    &kStorageFileUpload, &kStorageFileUploadBatch, &kStorageFileDownload, &kStorageFileList,
    &kSlurmSubmit, &kSlurmShow, &kSlurmWait, &kSlurmCancel, &kSlurmNodes, &kSlurmPartitions,
    &kStateRebuild,
    &kFileServerCreate, &kFileServerShow, &kFileServerList, &kFileServerDelete,
    &kListUsages,
};

constexpr Group kGroups[] = {
    {"group", "Resource groups: namespaces for workspaces, as in az."},
    {"workspace", "Batch AI workspaces: named containers for experiments and clusters, kept in the state database."},
    {"experiment", "Batch AI experiments: named groups of jobs inside a workspace."},
    {"cluster", "Clusters: named bindings to a Slurm partition with a node size."},
    {"cluster node", "A cluster's nodes: list them, run a command on one."},
    {"cluster file", "The output of a cluster's setup task."},
    {"job", "Batch AI jobs: job.json files checked, translated and run on Slurm."},
    {"job file", "A job's output files, on any shared filesystem."},
    {"job node", "The nodes of a running job: list them, run a command on one."},
    {"storage", "The site's storage root in place of an Azure storage account: file shares that jobs mount."},
    {"storage account", "The storage account: on a site, its storageRoot."},
    {"storage share", "File shares: directories under the storage root that jobs mount by name."},
    {"storage directory", "Directories in a file share."},
    {"storage file", "Files in a file share: upload, download, list."},
    {"slurm", "Talk to Slurm directly through libslurm: plumbing for checking a site's setup."},
    {"file-server", "File servers: directories on the shared filesystem that jobs mount by name (--nfs)."},
    {"state", "The state database: made again from the job directories when it is lost or damaged."},
};
}  // namespace

std::span<const Command* const> commands() { return kCommands; }
std::span<const Group> groups() { return kGroups; }

}  // namespace batchai::frontend
