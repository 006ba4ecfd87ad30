// batchai(1), generated from the command table as --help and the bash
// completion are, so the manual lists exactly the commands and options the
// parser accepts.
#pragma once

#include <string>

namespace batchai::frontend {

std::string man_page();

}  // namespace batchai::frontend
