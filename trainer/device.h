// What accelerators this process can use. The CUDA build asks the CUDA
// runtime; the CPU-only build says there is none. On a machine with the
// toolkit but no GPU or driver, the runtime returns an error (it does not
// crash), and that error is the report.
#pragma once

#include <string>
#include <vector>

namespace batchai::trainer {

struct GpuInfo {
  int ordinal = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
  std::size_t memory_bytes = 0;
};

struct DeviceReport {
  bool cuda_built = false;
  std::string cuda_runtime;  // "13.0", when built with CUDA
  std::string nccl;          // "2.28.3", when built with NCCL
  std::vector<GpuInfo> gpus;
  std::string unavailable_reason;  // why gpus is empty, when built with CUDA
};

DeviceReport probe_devices();

}  // namespace batchai::trainer
