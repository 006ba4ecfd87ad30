#include "io/hdf5.h"

namespace batchai::hdf5 {

namespace {

// Walking downward visits the API call first and the root cause last, so
// keeping the last description leaves the most specific one.
herr_t keep_description(unsigned /*n*/, const H5E_error2_t* entry, void* out) {
  if (entry->desc != nullptr) *static_cast<std::string*>(out) = entry->desc;
  return 0;
}

}  // namespace

std::string last_error() {
  std::string description;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_description, &description);
  return description;
}

}  // namespace batchai::hdf5
