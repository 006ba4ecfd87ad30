// Files made in a directory that someone else can write: the job's user
// may have left anything at the name, a FIFO (which would block an open
// for as long as they like) or a hard link to a file of root's (which an
// open with O_TRUNC would overwrite). So nothing found at the name is ever
// opened: it is unlinked, and the file is made anew with O_EXCL.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/result.h"
#include "slurm/prolog/fd.h"

namespace batchai::prolog {

// Opens `name` in `dir` for writing as a file made by this call: unlinkat
// whatever is there, then openat(O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK),
// then fstat: a regular file with one link, else refused. The error names
// the file.
Result<Fd> create_new_file(const Fd& dir, const std::string& name, mode_t mode);

// `text` as `name` in `dir`, whole or not at all: written to a new
// ".<name>.tmp" (as create_new_file makes it) and renamed over `name`,
// which replaces a FIFO, link or file there without opening it.
Status write_new_file(const Fd& dir, const std::string& name, std::string_view text, mode_t mode);

}  // namespace batchai::prolog
