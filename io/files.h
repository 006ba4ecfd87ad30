// Reading whole input files (job.json, batch scripts) with errors that name
// what the file is for, e.g. "--config-file: cannot read 'x.json': No such
// file or directory".
#pragma once

#include <string>
#include <string_view>

#include "io/result.h"

namespace batchai {

Result<std::string> read_text_file(const std::string& path, std::string_view what);

}  // namespace batchai
