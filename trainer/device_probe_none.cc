// probe_devices() for builds without CUDA.
#include "trainer/device.h"

namespace batchai::trainer {

DeviceReport probe_devices() {
  DeviceReport report;
  report.unavailable_reason = "built without CUDA (BATCHAI_CUDA=OFF or no nvcc)";
  return report;
}

}  // namespace batchai::trainer
