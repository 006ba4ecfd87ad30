// The blocks job.json shares with the other Batch AI formats (cluster.json's
// nodeSetup), read the same way and reported at the same JSON paths.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "io/job_spec.h"
#include "io/json_reader.h"

namespace batchai::jobspec {

// A mountVolumes object at path `p`.
MountVolumes parse_mount_volumes_block(JsonReader& r, const boost::json::object& o, const std::string& p);

// An environment variable name as job.json takes one.
bool environment_name(std::string_view s);

}  // namespace batchai::jobspec
