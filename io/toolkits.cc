#include "io/toolkits.h"

namespace batchai::jobspec {
namespace {

namespace json = boost::json;

// A row whose functions take T, erased to Toolkit for the table.
template <class T, T (*Parse)(JsonReader&, const json::object&, const std::string&)>
constexpr ToolkitFormat row(std::string_view key, std::string_view tool_type) {
  return {key, tool_type, kToolkitIndex<T>,
          [](JsonReader& r, const json::object& o, const std::string& path) -> Toolkit { return Parse(r, o, path); },
          nullptr};
}

template <class T, T (*Parse)(JsonReader&, const json::object&, const std::string&),
          void (*Validate)(JsonReader&, const T&, const JobSpec&, const std::string&)>
constexpr ToolkitFormat row(std::string_view key, std::string_view tool_type) {
  ToolkitFormat f = row<T, Parse>(key, tool_type);
  f.validate = [](JsonReader& r, const JobSpec& job, const std::string& path) {
    Validate(r, std::get<T>(job.toolkit), job, path);
  };
  return f;
}

constexpr ToolkitFormat kToolkits[] = {
    row<CntkSettings, parse_cntk>("cntkSettings", "cntk"),
    row<CaffeSettings, parse_caffe>("caffeSettings", "caffe"),
    row<Caffe2Settings, parse_caffe2>("caffe2Settings", "caffe2"),
    row<ChainerSettings, parse_chainer>("chainerSettings", "chainer"),
    row<TensorFlowSettings, parse_tensorflow, validate_tensorflow>("tensorFlowSettings", "tensorflow"),
    row<PyTorchSettings, parse_pytorch>("pyTorchSettings", "pytorch"),
    row<HorovodSettings, parse_horovod>("horovodSettings", "horovod"),
    row<CustomMpiSettings, parse_custom_mpi>("customMpiSettings", "custommpi"),
    row<CustomToolkitSettings, parse_custom_toolkit>("customToolkitSettings", "custom"),
};

static_assert(one_row_per_toolkit(kToolkits), "kToolkits needs one row for each alternative of Toolkit, in order");

}  // namespace

std::span<const ToolkitFormat> toolkit_formats() { return kToolkits; }

const ToolkitFormat& toolkit_format(const Toolkit& toolkit) { return kToolkits[toolkit.index()]; }

std::string_view JobSpec::tool_type() const { return toolkit_format(toolkit).tool_type; }

}  // namespace batchai::jobspec
