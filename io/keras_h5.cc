#include "io/keras_h5.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "io/hdf5.h"

namespace batchai::keras {

namespace {

// ---------------------------------------------------------------- shared --

// To be called right after a failing HDF5 call, while its error stack holds
// the reason.
Error failed(const std::string& what) {
  std::string reason = hdf5::last_error();
  return Error{what + " failed" + (reason.empty() ? "" : " (" + reason + ")")};
}

Error prefixed(const std::string& path, const Error& error) { return Error{path + ": " + error.message}; }

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::size_t element_count(const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

// ---------------------------------------------------------------- writer --

// The attributes are declared ASCII, and a NUL would cut a fixed-length
// string short when read back, so both are refused up front.
Status check_ascii(const std::string& what, const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0 || byte > 127) return Error{what + ": byte " + std::to_string(i) + " is not printable ASCII"};
  }
  return {};
}

Status check_tensor(const std::string& where, const Tensor& t) {
  if (t.name.empty()) return Error{where + ": empty weight name"};
  if (auto ascii = check_ascii(where + ": weight name '" + t.name + "'", t.name); !ascii) return ascii;
  if (t.name.front() == '/') return Error{where + ": weight name '" + t.name + "' must not start with '/'"};
  std::size_t want = element_count(t.shape);
  if (t.data.size() != want) {
    return Error{where + ": " + t.name + ": shape " + shape_text(t.shape) + " needs " + std::to_string(want) +
                 " values, got " + std::to_string(t.data.size())};
  }
  return {};
}

// Everything HDF5 would otherwise refuse halfway through a write.
Status check_model(const KerasModelFile& model) {
  const std::pair<const char*, const std::string*> strings[] = {{"keras_version", &model.keras_version},
                                                                {"backend", &model.backend},
                                                                {"model_config", &model.model_config_json},
                                                                {"training_config", &model.training_config_json},
                                                                {"batchai_training_state", &model.batchai_state_json}};
  for (const auto& [name, value] : strings) {
    if (auto ascii = check_ascii(name, *value); !ascii) return ascii;
  }
  if (model.keras_version.empty()) return Error{"keras_version is empty (Keras would treat the file as Keras 1)"};
  if (model.model_config_json.empty()) return Error{"model_config is empty (keras.models.load_model needs it)"};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const LayerWeights& layer = model.layers[i];
    std::string where = "layer " + std::to_string(i) + " (" + layer.layer_name + ")";
    if (layer.layer_name.empty()) return Error{"layer " + std::to_string(i) + ": empty layer name"};
    if (auto ascii = check_ascii(where + ": layer name", layer.layer_name); !ascii) return ascii;
    if (layer.layer_name.find('/') != std::string::npos) return Error{where + ": a layer name cannot contain '/'"};
    if (!seen.insert(layer.layer_name).second) return Error{where + ": duplicate layer name"};
    for (const Tensor& t : layer.weights) {
      if (auto ok = check_tensor(where, t); !ok) return ok;
    }
  }
  for (const Tensor& t : model.optimizer_weights) {
    if (auto ok = check_tensor("optimizer_weights", t); !ok) return ok;
  }
  return {};
}

// A fixed-length ASCII string type of `size` bytes, NUL-padded. Fixed rather
// than variable length: h5py 3 returns variable-length strings as `str` and
// Keras 2.x's loader calls .decode() on them (docs/trainer.md, "The model file").
Result<hdf5::Handle> fixed_string_type(std::size_t size, const std::string& where) {
  auto type = hdf5::datatype(H5Tcopy(H5T_C_S1));
  if (!type || H5Tset_size(type.get(), size) < 0 || H5Tset_strpad(type.get(), H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(type.get(), H5T_CSET_ASCII) < 0) {
    return failed("making the string type for " + where);
  }
  return type;
}

// Scalar string attribute: SCALAR dataspace, size = byte length (HDF5 has no
// zero-size strings, so "" is one NUL byte, which reads back as "").
Status write_string(hid_t object, const std::string& object_path, const char* name, const std::string& value) {
  std::string where = object_path + ": attribute " + name;
  std::string buffer = value;
  buffer.resize(std::max<std::size_t>(value.size(), 1), '\0');
  auto type = fixed_string_type(buffer.size(), where);
  if (!type) return type.error();
  auto space = hdf5::dataspace(H5Screate(H5S_SCALAR));
  if (!space) return failed("making the dataspace for " + where);
  auto attr = hdf5::attribute(H5Acreate2(object, name, type->get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr) return failed("creating " + where);
  if (H5Awrite(attr.get(), type->get(), buffer.data()) < 0) return failed("writing " + where);
  return {};
}

// A list of names as Keras stores it: a 1-D fixed-length string array sized
// to the longest name; an empty list is what numpy makes of [], a 1-D float64
// array of 0 elements. Not a NULL dataspace: h5py reads that as an Empty
// object, which Keras' loader cannot iterate.
Status write_names(hid_t object, const std::string& object_path, const char* name,
                   const std::vector<std::string>& names) {
  std::string where = object_path + ": attribute " + name;
  std::size_t longest = 0;
  for (const std::string& n : names) longest = std::max(longest, n.size());
  hsize_t count = names.size();
  auto space = hdf5::dataspace(H5Screate_simple(1, &count, nullptr));
  if (!space) return failed("making the dataspace for " + where);
  if (names.empty()) {
    auto attr = hdf5::attribute(H5Acreate2(object, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!attr) return failed("creating " + where);
    return {};
  }
  auto type = fixed_string_type(longest, where);
  if (!type) return type.error();
  std::string buffer(names.size() * longest, '\0');
  for (std::size_t i = 0; i < names.size(); ++i) names[i].copy(buffer.data() + i * longest, longest);
  auto attr = hdf5::attribute(H5Acreate2(object, name, type->get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr) return failed("creating " + where);
  if (H5Awrite(attr.get(), type->get(), buffer.data()) < 0) return failed("writing " + where);
  return {};
}

std::vector<std::string> tensor_names(const std::vector<Tensor>& tensors) {
  std::vector<std::string> names;
  for (const Tensor& t : tensors) names.push_back(t.name);
  return names;
}

// Little-endian float32, contiguous (the default layout: no chunks, no
// filters), C order, as Keras' create_dataset(name, shape, dtype) makes it.
// `lcpl` creates the groups a "/" in the name implies.
Status write_tensor(hid_t parent, const std::string& parent_path, const Tensor& t, hid_t lcpl) {
  std::string where = "dataset " + parent_path + "/" + t.name;
  std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
  auto space = hdf5::dataspace(dims.empty() ? H5Screate(H5S_SCALAR)
                                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  if (!space) return failed("making the dataspace for " + where);
  auto ds = hdf5::dataset(
      H5Dcreate2(parent, t.name.c_str(), H5T_IEEE_F32LE, space.get(), lcpl, H5P_DEFAULT, H5P_DEFAULT));
  if (!ds) return failed("creating " + where);
  if (!t.data.empty() && H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()) < 0) {
    return failed("writing " + where);
  }
  return {};
}

Status write_group(hid_t parent, const std::string& path, const char* name,
                   const std::vector<Tensor>& tensors, hid_t lcpl, hdf5::Handle& group) {
  group = hdf5::group(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!group) return failed("creating group " + path);
  if (auto ok = write_names(group.get(), path, "weight_names", tensor_names(tensors)); !ok) return ok;
  for (const Tensor& t : tensors) {
    if (auto ok = write_tensor(group.get(), path, t, lcpl); !ok) return ok;
  }
  return {};
}

Status write_contents(hid_t file, const KerasModelFile& model) {
  if (auto ok = write_string(file, "/", "keras_version", model.keras_version); !ok) return ok;
  if (auto ok = write_string(file, "/", "backend", model.backend); !ok) return ok;
  if (auto ok = write_string(file, "/", "model_config", model.model_config_json); !ok) return ok;
  // Keras writes training_config only for a compiled model.
  if (!model.training_config_json.empty()) {
    if (auto ok = write_string(file, "/", "training_config", model.training_config_json); !ok) return ok;
  }
  if (!model.batchai_state_json.empty()) {
    if (auto ok = write_string(file, "/", "batchai_training_state", model.batchai_state_json); !ok) return ok;
  }

  auto lcpl = hdf5::plist(H5Pcreate(H5P_LINK_CREATE));
  if (!lcpl || H5Pset_create_intermediate_group(lcpl.get(), 1) < 0) return failed("making the link properties");

  auto weights = hdf5::group(H5Gcreate2(file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!weights) return failed("creating group /model_weights");
  std::vector<std::string> layer_names;
  for (const LayerWeights& layer : model.layers) layer_names.push_back(layer.layer_name);
  if (auto ok = write_names(weights.get(), "/model_weights", "layer_names", layer_names); !ok) return ok;
  if (auto ok = write_string(weights.get(), "/model_weights", "backend", model.backend); !ok) return ok;
  if (auto ok = write_string(weights.get(), "/model_weights", "keras_version", model.keras_version); !ok) return ok;
  for (const LayerWeights& layer : model.layers) {
    hdf5::Handle group;
    std::string path = "/model_weights/" + layer.layer_name;
    if (auto ok = write_group(weights.get(), path, layer.layer_name.c_str(), layer.weights, lcpl.get(), group); !ok) {
      return ok;
    }
  }

  // Keras skips the group when the optimizer has no weights.
  if (!model.optimizer_weights.empty()) {
    hdf5::Handle group;
    if (auto ok = write_group(file, "/optimizer_weights", "optimizer_weights", model.optimizer_weights, lcpl.get(),
                              group);
        !ok) {
      return ok;
    }
  }
  return {};
}

// The default file-creation and -access properties give the earliest file
// format, which every h5py and HDF5 1.8+ reads.
Status write_file(const std::string& tmp, const KerasModelFile& model) {
  auto file = hdf5::file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file) return failed("creating " + tmp);
  if (auto ok = write_contents(file.get(), model); !ok) return ok;
  if (!file.close()) return failed("closing (flushing) " + tmp);
  return {};
}

// ---------------------------------------------------------------- reader --

class Reader {
 public:
  Reader(std::string path, hid_t file, bool optimizer) : path_(std::move(path)), file_(file), optimizer_(optimizer) {}

  Result<KerasModelFile> read() {
    KerasModelFile model;
    for (auto [name, out] : {std::pair{"keras_version", &model.keras_version}, std::pair{"backend", &model.backend},
                             std::pair{"model_config", &model.model_config_json}}) {
      auto value = string_attr(file_, "/", name);
      if (!value) return value.error();
      *out = std::move(*value);
    }
    if (H5Aexists(file_, "training_config") > 0) {
      auto value = string_attr(file_, "/", "training_config");
      if (!value) return value.error();
      model.training_config_json = std::move(*value);
    }
    if (H5Aexists(file_, "batchai_training_state") > 0) {
      auto value = string_attr(file_, "/", "batchai_training_state");
      if (!value) return value.error();
      model.batchai_state_json = std::move(*value);
    }

    if (!link_exists(file_, "model_weights")) {
      return at("/model_weights",
                "missing group; expected a whole-model file from Keras model.save() or batchai-train "
                "(a save_weights() file keeps the layers at the root)");
    }
    auto weights = open_group(file_, "/model_weights", "model_weights");
    if (!weights) return weights.error();
    auto layer_names = strings_attr(weights->get(), "/model_weights", "layer_names");
    if (!layer_names) return layer_names.error();
    for (const std::string& name : *layer_names) {
      LayerWeights layer{name, {}};
      auto tensors = read_group(weights->get(), "/model_weights/" + name, name, "layer_names");
      if (!tensors) return tensors.error();
      layer.weights = std::move(*tensors);
      model.layers.push_back(std::move(layer));
    }

    // Keras saves no optimizer state for an uncompiled model.
    if (optimizer_ && link_exists(file_, "optimizer_weights")) {
      auto tensors = read_group(file_, "/optimizer_weights", "optimizer_weights", "");
      if (!tensors) return tensors.error();
      model.optimizer_weights = std::move(*tensors);
    }
    return model;
  }

 private:
  Error at(const std::string& object, const std::string& problem) const {
    return Error{path_ + ": " + object + ": " + problem};
  }
  Error failed_at(const std::string& object, const std::string& what) const {
    return prefixed(path_, failed(object + ": " + what));
  }

  // H5Lexists fails rather than answer "no" when a middle group is absent,
  // so each prefix of a "/"-separated name is asked in turn.
  static bool link_exists(hid_t loc, const std::string& name) {
    for (std::size_t end = name.find('/'); ; end = name.find('/', end + 1)) {
      std::string prefix = name.substr(0, end);
      if (!prefix.empty() && H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      if (end == std::string::npos) return true;
    }
  }

  Result<hdf5::Handle> open_group(hid_t loc, const std::string& path, const std::string& name) const {
    auto object = hdf5::object(H5Oopen(loc, name.c_str(), H5P_DEFAULT));
    if (!object) return failed_at(path, "opening");
    if (H5Iget_type(object.get()) != H5I_GROUP) return at(path, "expected a group, found a dataset");
    return object;
  }

  // Every element of a string attribute, fixed- or variable-length (Keras
  // 2.2 with h5py 2 wrote the scalars variable-length). A 0-element
  // attribute of any type is the empty list.
  Result<std::vector<std::string>> strings_attr(hid_t object, const std::string& path, const char* name) const {
    std::string what = std::string("attribute ") + name;
    if (H5Aexists(object, name) <= 0) return at(path, "missing " + what);
    auto attr = hdf5::attribute(H5Aopen(object, name, H5P_DEFAULT));
    if (!attr) return failed_at(path, "opening " + what);
    auto space = hdf5::dataspace(H5Aget_space(attr.get()));
    hssize_t count = space ? H5Sget_simple_extent_npoints(space.get()) : -1;
    if (count < 0) return failed_at(path, "reading the size of " + what);
    std::vector<std::string> out;
    if (count == 0) return out;
    auto type = hdf5::datatype(H5Aget_type(attr.get()));
    if (!type) return failed_at(path, "reading the type of " + what);
    if (H5Tget_class(type.get()) != H5T_STRING) return at(path, what + ": expected strings");
    auto n = static_cast<std::size_t>(count);
    if (H5Tis_variable_str(type.get()) > 0) {
      // The file's character set too: HDF5 will not convert between
      // ASCII and UTF-8, and h5py 3 (tf.keras 2.x) writes some as UTF-8.
      auto memtype = hdf5::datatype(H5Tcopy(H5T_C_S1));
      if (!memtype || H5Tset_size(memtype.get(), H5T_VARIABLE) < 0 ||
          H5Tset_cset(memtype.get(), H5Tget_cset(type.get())) < 0) {
        return failed_at(path, "reading " + what);
      }
      std::vector<char*> pointers(n, nullptr);
      if (H5Aread(attr.get(), memtype.get(), pointers.data()) < 0) return failed_at(path, "reading " + what);
      for (char* p : pointers) out.emplace_back(p ? p : "");
#if H5_VERSION_GE(1, 12, 0)
      H5Treclaim(memtype.get(), space.get(), H5P_DEFAULT, pointers.data());
#else
      H5Dvlen_reclaim(memtype.get(), space.get(), H5P_DEFAULT, pointers.data());
#endif
      return out;
    }
    std::size_t size = H5Tget_size(type.get());
    std::vector<char> buffer(n * size);
    if (size == 0 || H5Aread(attr.get(), type.get(), buffer.data()) < 0) return failed_at(path, "reading " + what);
    bool space_padded = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
    for (std::size_t i = 0; i < n; ++i) {
      const char* s = buffer.data() + i * size;
      std::string value(s, strnlen(s, size));
      if (space_padded) value.erase(value.find_last_not_of(' ') + 1);
      out.push_back(std::move(value));
    }
    return out;
  }

  Result<std::string> string_attr(hid_t object, const std::string& path, const char* name) const {
    auto values = strings_attr(object, path, name);
    if (!values) return values.error();
    if (values->size() != 1) {
      return at(path, std::string("attribute ") + name + ": expected one string, found " +
                          std::to_string(values->size()));
    }
    return std::move(values->front());
  }

  // A group with weight_names and the datasets they name, in that order.
  Result<std::vector<Tensor>> read_group(hid_t parent, const std::string& path, const std::string& name,
                                         const std::string& listed_in) const {
    if (!link_exists(parent, name)) return at(path, "missing group (named in " + listed_in + ")");
    auto group = open_group(parent, path, name);
    if (!group) return group.error();
    auto names = strings_attr(group->get(), path, "weight_names");
    if (!names) return names.error();
    std::vector<Tensor> tensors;
    for (const std::string& weight : *names) {
      auto t = read_tensor(group->get(), path + "/" + weight, weight);
      if (!t) return t.error();
      tensors.push_back(std::move(*t));
    }
    return tensors;
  }

  static std::string describe(hid_t type) {
    std::size_t bits = H5Tget_size(type) * 8;
    switch (H5Tget_class(type)) {
      case H5T_FLOAT: return "float" + std::to_string(bits);
      case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
      case H5T_STRING: return "string";
      default: return "a non-numeric type";
    }
  }

  Result<Tensor> read_tensor(hid_t group, const std::string& path, const std::string& name) const {
    if (!link_exists(group, name)) return at(path, "missing dataset (named in weight_names)");
    auto object = hdf5::object(H5Oopen(group, name.c_str(), H5P_DEFAULT));
    if (!object) return failed_at(path, "opening");
    if (H5Iget_type(object.get()) != H5I_DATASET) return at(path, "expected a float32 dataset, found a group");
    auto type = hdf5::datatype(H5Dget_type(object.get()));
    if (!type) return failed_at(path, "reading the type");
    if (H5Tget_class(type.get()) != H5T_FLOAT || H5Tget_size(type.get()) != 4) {
      return at(path, "expected a float32 dataset, found " + describe(type.get()));
    }
    auto space = hdf5::dataspace(H5Dget_space(object.get()));
    int rank = space ? H5Sget_simple_extent_ndims(space.get()) : -1;
    if (rank < 0) return failed_at(path, "reading the shape");
    if (H5Sget_simple_extent_type(space.get()) == H5S_NULL) {
      return at(path, "expected a float32 dataset, found one with a null dataspace");
    }
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) {
      return failed_at(path, "reading the shape");
    }
    Tensor t{name, std::vector<std::size_t>(dims.begin(), dims.end()), {}};
    t.data.resize(element_count(t.shape));
    if (!t.data.empty() &&
        H5Dread(object.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()) < 0) {
      return failed_at(path, "reading the data of shape " + shape_text(t.shape));
    }
    return t;
  }

  std::string path_;
  hid_t file_;
  bool optimizer_;
};

}  // namespace

Status write_keras_h5(const std::string& path, const KerasModelFile& model) {
  if (auto ok = check_model(model); !ok) return prefixed(path, ok.error());
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
    return Error{path + ": cannot write: directory '" + dir.string() + "' does not exist"};
  }

  hdf5::QuietErrors quiet;
  // Write aside and rename: a crash or a full disk mid-write must not leave
  // a truncated model where --resume will look for one.
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  Status written = write_file(tmp, model);
  if (written && std::rename(tmp.c_str(), path.c_str()) != 0) {
    written = Error{"renaming " + tmp + " into place failed: " + std::strerror(errno)};
  }
  if (!written) {
    std::remove(tmp.c_str());
    return prefixed(path, written.error());
  }
  return {};
}

Result<KerasModelFile> read_keras_h5(const std::string& path, KerasRead what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error{path + ": no such file"};
  hdf5::QuietErrors quiet;
  auto file = hdf5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file) {
    std::string reason = hdf5::last_error();
    return Error{path + ": cannot open as HDF5" + (reason.empty() ? "" : " (" + reason + ")") +
                 "; the file is truncated or not a Keras .h5 model"};
  }
  return Reader(path, file.get(), what == KerasRead::with_optimizer).read();
}

}  // namespace batchai::keras
