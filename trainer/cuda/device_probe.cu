// probe_devices() for CUDA builds.
#include <cuda_runtime.h>

#include "trainer/device.h"
#ifdef BATCHAI_HAVE_NCCL
#include <nccl.h>
#endif

namespace batchai::trainer {
namespace {
std::string version_string(int v) {
  // CUDA encodes 13.0 as 13000.
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
}  // namespace

DeviceReport probe_devices() {
  DeviceReport report;
  report.cuda_built = true;
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) report.cuda_runtime = version_string(runtime);
#ifdef BATCHAI_HAVE_NCCL
  int nccl = 0;
  if (ncclGetVersion(&nccl) == ncclSuccess) {
    // NCCL >= 2.9 encodes 2.28.3 as 22803.
    report.nccl = std::to_string(nccl / 10000) + "." + std::to_string((nccl % 10000) / 100) + "." +
                  std::to_string(nccl % 100);
  }
#endif
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    report.unavailable_reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so later calls are not blamed
    return report;
  }
  if (count == 0) report.unavailable_reason = "no CUDA device visible";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    report.gpus.push_back({i, prop.name, prop.major, prop.minor, prop.totalGlobalMem});
  }
  return report;
}

}  // namespace batchai::trainer
