// The network as a list of layers that mirrors a Keras Sequential model.
// Everything else derives from this one description: the shapes, where
// each weight sits in the flat parameter buffer, the order the backends run
// the layers in, and the model_config JSON the checkpoints carry. So the
// file Keras loads describes exactly the network that was trained.
//
// Layout: activations are NHWC (Keras' channels_last); a conv kernel is
// (kh, kw, in, out) and a dense kernel (in, out), as Keras stores them, so
// the weights are GEMM operands as they are, and the saved file needs no
// permutation.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace batchai::trainer {

enum class LayerKind { conv2d, activation, max_pooling2d, dropout, flatten, dense };

// What an Activation layer applies. linear is the identity: Keras writes it
// for the activation built into Conv2D and Dense, and every other layer's
// spec carries it; an Activation layer itself is relu or softmax.
enum class Activation { linear, relu, softmax };

// Keras' names, as the model_config in a checkpoint spells them ("relu").
const char* to_string(Activation a);
// The inverse of to_string; nullopt for a name Keras has but this trainer
// does not ("tanh").
std::optional<Activation> parse_activation(std::string_view name);

// One entry of the Sequential list, with Keras' own parameters.
struct LayerSpec {
  LayerKind kind;
  int units = 0;           // conv2d: filters; dense: units
  int kernel = 3;          // conv2d: square kernel side
  bool same = false;       // conv2d: padding "same" (else "valid")
  Activation activation = Activation::linear;  // activation: relu or softmax
  float rate = 0.0f;       // dropout
};

// Per example; a flat vector is {1, 1, n}.
struct Shape {
  int h = 1, w = 1, c = 1;
  std::size_t size() const { return static_cast<std::size_t>(h) * w * c; }
};

struct Layer {
  LayerSpec spec;
  std::string name;  // Keras' default: conv2d_1, activation_3, ...
  Shape in, out;
  // Into the flat parameter buffer, in Keras' weight order (kernel, bias).
  std::size_t kernel_offset = 0, kernel_size = 0;
  std::size_t bias_offset = 0, bias_size = 0;
  std::vector<std::size_t> kernel_shape;  // (kh, kw, in, out) or (in, out)

  bool has_weights() const { return kernel_size > 0; }
};

struct Model {
  Shape input;
  std::vector<Layer> layers;
  std::size_t parameter_count = 0;
  int classes = 0;

  // Keras 2.2.4's {"class_name": "Sequential", "config": {"name": ...,
  // "layers": [...]}} for this model.
  std::string model_config_json() const;
};

// Shapes, names and offsets for `specs` applied to `input`. Errors name the
// layer (index and kind) that cannot follow its input, e.g. a valid conv
// larger than the image, or a dense layer on an unflattened tensor.
Result<Model> build_model(const std::vector<LayerSpec>& specs, Shape input);

// The tutorial's network (Keras' examples/cifar10_cnn.py) for 32x32x3 input.
std::vector<LayerSpec> cifar10_cnn();

// The optimizer and loss as Keras records them in training_config, with
// the float32-rounded values Keras reads back from its variables.
struct RmspropConfig {
  float lr = 1e-4f;
  float rho = 0.9f;
  float decay = 1e-6f;
  double epsilon = 1e-7;  // a Python float in Keras, outside the sqrt
};
std::string training_config_json(const RmspropConfig& optimizer);

}  // namespace batchai::trainer
