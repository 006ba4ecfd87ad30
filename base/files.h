// Reading and writing whole files. Reading: input files (job.json, batch scripts) with errors that name
// what the file is for, e.g. "--config-file: cannot read 'x.json': No such
// file or directory". Writing: atomically, with the mode set at creation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace batchai {

Result<std::string> read_text_file(const std::string& path, std::string_view what);

// Writes `content` to a temporary file beside `path` with `mode`, then
// renames it over `path`: a reader sees the old file or the new one, never
// half of one, and a failure leaves nothing behind. The mode is set when
// the file is created, so a secret is never readable by others, not even
// for a moment.
// `durable` also fsyncs before the rename, so the file survives a crash of
// the machine; without it the file is still never seen half written.
Status write_file_atomic(const std::string& path, std::string_view content, unsigned mode, bool durable = true);

// Copies the regular file `from` to `to` the same way: streamed into a
// temporary file beside `to`, then renamed over it, so a reader never sees
// a partial copy and a failed copy leaves `to` as it was. The copy keeps
// `from`'s permission bits (an uploaded script stays executable). Returns
// the bytes copied.
Result<std::uint64_t> copy_file_atomic(const std::string& from, const std::string& to);

// Whether a file name is one of the temporary files beside their target that
// the two functions above write ("<name>.tmp.<pid>"): a write still under
// way, or one a crash left, and not a file of its own.
bool is_temporary_name(std::string_view name);

}  // namespace batchai
