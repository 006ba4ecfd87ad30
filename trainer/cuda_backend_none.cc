// The CUDA backend's entry points in a build without CUDA: it is never
// available, and asking for it says why.
#include "trainer/backend.h"

namespace batchai::trainer {

bool cuda_backend_available(std::string* why_not) {
  if (why_not) *why_not = "this batchai-train was built without CUDA";
  return false;
}

std::unique_ptr<Backend> make_cuda_backend(const Model&, const CudaOptions&) {
  throw DeviceError("cuda: this batchai-train was built without CUDA");
}

}  // namespace batchai::trainer
