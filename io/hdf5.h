// Thin helpers over the HDF5 C API for io/'s file formats (internal to io/):
// an owning handle so every hid_t is closed on every path, a guard that keeps
// HDF5 from printing its error stack, and the innermost HDF5 error text so
// our own one-line Error can say why a call failed.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>

namespace batchai::hdf5 {

// Owns one identifier and closes it with the matching H5?close. Move-only.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);

  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Closes now and reports whether the close worked; a file's close is where
  // HDF5 flushes, so writers must check it rather than leave it to ~Handle.
  bool close() {
    if (id_ < 0) return true;
    herr_t status = closer_(std::exchange(id_, H5I_INVALID_HID));
    return status >= 0;
  }

 private:
  void reset() {
    if (id_ >= 0) closer_(std::exchange(id_, H5I_INVALID_HID));
  }

  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

inline Handle file(hid_t id) { return {id, H5Fclose}; }
inline Handle group(hid_t id) { return {id, H5Gclose}; }
inline Handle dataset(hid_t id) { return {id, H5Dclose}; }
inline Handle attribute(hid_t id) { return {id, H5Aclose}; }
inline Handle dataspace(hid_t id) { return {id, H5Sclose}; }
inline Handle datatype(hid_t id) { return {id, H5Tclose}; }
inline Handle plist(hid_t id) { return {id, H5Pclose}; }
inline Handle object(hid_t id) { return {id, H5Oclose}; }

// While alive, HDF5 does not print its error stack to stderr (library code
// never prints: the caller gets one Error line instead). The previous
// setting is restored on destruction, since it is process-wide state.
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The description of the innermost entry of HDF5's current error stack (the
// root cause, e.g. "truncated file: eof = ..."), or "" when it is empty.
// Call it right after the failing call: the next HDF5 API call clears it.
std::string last_error();

}  // namespace batchai::hdf5
