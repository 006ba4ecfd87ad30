// The toolkits of job.json, one row each: the key that names it under
// "properties", the toolType Batch AI reported for it, and how its settings
// object is read and checked (io/toolkits/<name>.cc). The parser finds a
// toolkit only through this table. The translator keeps the launch plans in
// a table of its own, keyed by the same alternative of jobspec::Toolkit
// (slurm/toolkits.h): io comes before slurm, so it cannot hold them, and a
// static_assert in each table makes it cover every toolkit, in order.
// CONTRIBUTING.md lists the steps that add a toolkit.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "io/job_spec.h"
#include "io/json_reader.h"

namespace batchai::jobspec {

// The position of settings type T in Toolkit.
template <class T, class V = Toolkit>
struct ToolkitIndex;
template <class T, class... Ts>
struct ToolkitIndex<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i) {
      if (same[i]) return i;
    }
    return sizeof...(Ts);
  }();
  static_assert(value < sizeof...(Ts), "not a toolkit settings type");
};
template <class T>
inline constexpr std::size_t kToolkitIndex = ToolkitIndex<T>::value;

// Whether a table keyed by `index` has one row for each toolkit, in
// Toolkit's order, so that rows[t.index()] is t's row: each table
// static_asserts it.
template <class Row, std::size_t N>
constexpr bool one_row_per_toolkit(const Row (&rows)[N]) {
  if (N != std::variant_size_v<Toolkit>) return false;
  for (std::size_t i = 0; i < N; ++i) {
    if (rows[i].index != i) return false;
  }
  return true;
}

struct ToolkitFormat {
  std::string_view key;        // "horovodSettings"
  std::string_view tool_type;  // "horovod", as `job show` reports it
  std::size_t index;           // the alternative of Toolkit it reads
  // Reads the settings object at `path` ("properties.<key>") and checks the
  // rules within it.
  Toolkit (*parse)(JsonReader& r, const boost::json::object& o, const std::string& path);
  // Rules that involve the rest of the job (nodeCount); null if none. Runs
  // right after parse, on a job whose toolkit is this one.
  void (*validate)(JsonReader& r, const JobSpec& job, const std::string& path);
};

// Every toolkit, in Toolkit's order: toolkit_formats()[i].index == i.
std::span<const ToolkitFormat> toolkit_formats();
const ToolkitFormat& toolkit_format(const Toolkit& toolkit);

// Each toolkit's rules, one file each in io/toolkits/.
CntkSettings parse_cntk(JsonReader& r, const boost::json::object& o, const std::string& path);
CaffeSettings parse_caffe(JsonReader& r, const boost::json::object& o, const std::string& path);
Caffe2Settings parse_caffe2(JsonReader& r, const boost::json::object& o, const std::string& path);
ChainerSettings parse_chainer(JsonReader& r, const boost::json::object& o, const std::string& path);
TensorFlowSettings parse_tensorflow(JsonReader& r, const boost::json::object& o, const std::string& path);
void validate_tensorflow(JsonReader& r, const TensorFlowSettings& tf, const JobSpec& job, const std::string& path);
PyTorchSettings parse_pytorch(JsonReader& r, const boost::json::object& o, const std::string& path);
HorovodSettings parse_horovod(JsonReader& r, const boost::json::object& o, const std::string& path);
CustomMpiSettings parse_custom_mpi(JsonReader& r, const boost::json::object& o, const std::string& path);
CustomToolkitSettings parse_custom_toolkit(JsonReader& r, const boost::json::object& o, const std::string& path);

}  // namespace batchai::jobspec
