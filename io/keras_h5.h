// The Keras 2.2.4 HDF5 model file (model.save() / keras.models.load_model),
// written and read with the HDF5 C API, independent of any network: the
// input is a list of layers with named float32 tensors plus the two JSON
// documents Keras stores as attributes.
//
// Layout (docs/trainer.md, "The model file"; Keras 2.2.4's
// keras/engine/saving.py is the public source):
//   /                      attrs keras_version, backend, model_config, training_config
//   /model_weights         attrs layer_names, backend, keras_version
//   /model_weights/<layer> attr weight_names (empty for weightless layers)
//   /model_weights/<layer>/<weight name>   float32 dataset; a "/" in the
//                          weight name makes an intermediate group, as h5py does
//   /optimizer_weights     attr weight_names; datasets at their names
//
// Every string attribute is written fixed-length ASCII: h5py 3 reads
// variable-length strings back as `str`, and the Keras 2.x loader then fails
// calling .decode() on them; fixed-length ones come back as numpy.bytes_,
// which every Keras and tf.keras loader accepts.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"

namespace batchai::keras {

struct Tensor {
  std::string name;                // e.g. "conv2d_1/kernel:0", "training/RMSprop/Variable:0"
  std::vector<std::size_t> shape;  // e.g. {3, 3, 3, 32}: Keras order (kh, kw, in, out) for conv kernels
  std::vector<float> data;         // product(shape) values, C (row-major) order
};

struct LayerWeights {
  std::string layer_name;       // e.g. "conv2d_1"
  std::vector<Tensor> weights;  // in the order Keras lists them; empty for weightless layers
};

struct KerasModelFile {
  std::string keras_version = "2.2.4";
  std::string backend = "tensorflow";  // "theano" would make Keras flip conv kernels on load
  std::string model_config_json;
  std::string training_config_json;      // "" when read from a file saved without one
  std::vector<LayerWeights> layers;      // every layer, in model order
  std::vector<Tensor> optimizer_weights;  // e.g. RMSprop accumulators, in the optimizer's order
  // batchai-train's own state for --resume (epoch, seed, ...), as the root
  // attribute "batchai_training_state"; Keras' loaders ignore attributes
  // they do not know. "" when absent.
  std::string batchai_state_json;
};

// Writes `model` to `path` atomically: into "<path>.tmp-<pid>" first, then
// renamed over `path`, so a reader never sees a half-written file. Checks
// the input first (non-empty ASCII names, data sizes matching shapes). On
// any failure the temporary file is removed and the Error names the path and
// the step that failed (plus HDF5's own reason where it gave one).
Status write_keras_h5(const std::string& path, const KerasModelFile& model);

// Reads a file written by write_keras_h5 or by Keras 2.x model.save(),
// checking the root attributes (keras_version, backend, model_config;
// training_config is optional), that layer_names and weight_names name
// existing groups and datasets, and that every dataset is float32. Errors
// name the file and the HDF5 object, e.g.
// "model.h5: /model_weights/dense_1/dense_1/kernel:0: expected a float32 dataset, found float64".
// Both fixed- and variable-length string attributes are accepted.
// model_only leaves /optimizer_weights unread (and optimizer_weights
// empty): tf.keras 2.x keeps its int64 step counter there, which a reader
// of the weights alone need not refuse.
enum class KerasRead { with_optimizer, model_only };
Result<KerasModelFile> read_keras_h5(const std::string& path, KerasRead what = KerasRead::with_optimizer);

}  // namespace batchai::keras
