// The Batch AI job.json (API 2018-05-01), as typed, immutable values.
//
// A file is `{"$schema": ..., "properties": {...}}`; every property of
// JobBaseProperties is here (docs/job-translation.md says what each becomes
// on Slurm). parse_job_spec() reads and validates a file in one pass and
// reports every problem at once, each naming its JSON path, the value found
// and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace batchai::jobspec {

struct KeyVaultSecretReference {
  std::string source_vault_id;
  std::string secret_url;
};

// A value given inline, or a reference to Azure Key Vault (which a site maps
// to its own secret store).
using SecretValue = std::variant<std::string, KeyVaultSecretReference>;

struct EnvironmentVariable {
  std::string name;
  std::string value;
};

struct Secret {
  std::string name;
  SecretValue value;
};

struct AzureFileShare {
  std::string account_name;  // may be derived from the URL's host
  std::string azure_file_url;
  std::optional<SecretValue> account_key;  // credentials.accountKey(SecretReference)
  std::string relative_mount_path;
  // Octal text as given; empty when absent (Batch AI mounted with 0777).
  std::string file_mode;
  std::string directory_mode;
};

struct AzureBlobFileSystem {
  std::string account_name;
  std::string container_name;
  std::optional<SecretValue> account_key;
  std::string relative_mount_path;
  std::string mount_options;
};

struct FileServerMount {
  std::string file_server_id;
  std::string source_directory;
  std::string relative_mount_path;
  std::string mount_options;
};

struct UnmanagedFileSystem {
  std::string mount_command;
  std::string relative_mount_path;
};

struct MountVolumes {
  std::vector<AzureFileShare> azure_file_shares;
  std::vector<AzureBlobFileSystem> azure_blob_file_systems;
  std::vector<FileServerMount> file_servers;
  std::vector<UnmanagedFileSystem> unmanaged_file_systems;
};

struct RegistryCredentials {
  std::string username;
  SecretValue password;
};

struct ContainerSettings {
  std::string server_url;  // empty: Docker Hub
  std::string image;
  std::optional<RegistryCredentials> credentials;
  std::string shm_size;  // Docker syntax, "16gb"
};

struct InputDirectory {
  std::string id;
  std::string path;
};

struct OutputDirectory {
  std::string id;
  std::string path_prefix;
  std::string path_suffix;
};

// The toolkits: io/toolkits.h says how job.json names and reads each one,
// slurm/toolkits.h how each is launched. Counts left unset are decided by
// the translator.
struct CntkSettings {
  std::string language_type;  // "BrainScript" or "Python"
  std::string config_file_path, python_script_file_path, python_interpreter_path, command_line_args;
  std::optional<std::int64_t> process_count;
};
struct CaffeSettings {
  std::string config_file_path, python_script_file_path, python_interpreter_path, command_line_args;
  std::optional<std::int64_t> process_count;
};
struct Caffe2Settings {
  std::string python_script_file_path, python_interpreter_path, command_line_args;
};
struct ChainerSettings {
  std::string python_script_file_path, python_interpreter_path, command_line_args;
  std::optional<std::int64_t> process_count;
};
struct TensorFlowSettings {
  std::string python_script_file_path, python_interpreter_path;
  std::string master_command_line_args, worker_command_line_args, parameter_server_command_line_args;
  std::optional<std::int64_t> worker_count, parameter_server_count;
};
struct PyTorchSettings {
  std::string python_script_file_path, python_interpreter_path, command_line_args;
  std::optional<std::int64_t> process_count;
  std::string communication_backend;
};
struct HorovodSettings {
  std::string python_script_file_path, python_interpreter_path, command_line_args;
  std::optional<std::int64_t> process_count;
};
struct CustomMpiSettings {
  std::string command_line;
  std::optional<std::int64_t> process_count;
};
struct CustomToolkitSettings {
  std::string command_line;
};

using Toolkit = std::variant<CntkSettings, CaffeSettings, Caffe2Settings, ChainerSettings, TensorFlowSettings,
                             PyTorchSettings, HorovodSettings, CustomMpiSettings, CustomToolkitSettings>;

enum class Priority { low, normal, high };

struct JobSpec {
  Priority scheduling_priority = Priority::normal;
  std::string cluster_id;  // properties.cluster.id; the CLI's --cluster wins
  std::int64_t node_count = 1;
  Toolkit toolkit;
  std::optional<MountVolumes> mount_volumes;
  std::optional<ContainerSettings> container_settings;
  std::optional<std::string> job_preparation_command_line;
  std::string std_out_err_path_prefix;
  std::vector<InputDirectory> input_directories;
  std::vector<OutputDirectory> output_directories;
  std::vector<EnvironmentVariable> environment_variables;
  std::vector<Secret> secrets;
  std::int64_t max_wall_clock_seconds = 7 * 24 * 3600;  // constraints.maxWallClockTime, default 1 week
  // Whether the file set it: a limit the user asked for is an error when
  // over the partition's; the default is quietly capped.
  bool max_wall_clock_given = false;

  // Batch AI's read-only toolType ("horovod"), as `job show` reports it.
  std::string_view tool_type() const;
};

struct ParseOptions {
  std::string file_name = "job.json";  // how messages name the file
  bool strict = false;                 // unknown keys are errors, not warnings
};

struct Parsed {
  JobSpec spec;
  std::vector<std::string> warnings;  // unknown keys, with did-you-mean
};

// Reads and validates job.json text. On failure the Error's message holds
// every problem, one per line, each "<file>: <json path>: <problem>".
Result<Parsed> parse_job_spec(std::string_view text, const ParseOptions& options = {});

// Durations as az and Batch AI accepted them, in whole seconds, rounded up
// (a limit is never cut short): ISO 8601 with designators, as az's SDK read
// it ("PT4H", "P7D", "P1DT2H30M", "P1W", "PT1.5H", "PT0,5S"; a fraction only
// on the last number; years and months only as zero, having no fixed
// length), or .NET TimeSpan, as the service showed it ("7.00:00:00",
// "04:00:00", "00:00:01.5"). docs/job-translation.md lists the forms.
Result<std::int64_t> parse_duration(std::string_view text);

// Batch AI resource names: ^[-\w_]+$, 1 to 64 characters. The error names
// `what` (e.g. "--name").
Status validate_resource_name(std::string_view name, std::string_view what);

// Azure resource group names: 1 to 90 letters, digits, '_', '-', '.', '('
// or ')', not ending in '.' (so never "." or ".." in a path).
Status validate_resource_group_name(std::string_view name, std::string_view what);

// The Azure CLI's storage placeholders. Batch AI samples ship job.json files
// with "<AZURE_BATCHAI_STORAGE_ACCOUNT>" in accountName or azureFileUrl and
// "<AZURE_BATCHAI_STORAGE_KEY>" in accountKey; `job create` filled them from
// --storage-account-name/--storage-account-key or the environment variables
// of the same names. A placeholder left without a value is an error naming
// its JSON path and both ways to give it.
struct StorageAccount {
  std::optional<std::string> name;
  std::optional<std::string> key;
};
inline constexpr std::string_view kStorageAccountPlaceholder = "<AZURE_BATCHAI_STORAGE_ACCOUNT>";
inline constexpr std::string_view kStorageKeyPlaceholder = "<AZURE_BATCHAI_STORAGE_KEY>";

Result<JobSpec> replace_storage_placeholders(JobSpec spec, const StorageAccount& account,
                                             std::string_view file = "job.json");

}  // namespace batchai::jobspec
