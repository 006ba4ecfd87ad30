#include "trainer/model.h"

#include <boost/json.hpp>
#include <map>

namespace batchai::trainer {

const char* to_string(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::softmax: return "softmax";
  }
  return "?";
}

std::optional<Activation> parse_activation(std::string_view name) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::softmax}) {
    if (name == to_string(a)) return a;
  }
  return std::nullopt;
}

namespace {

namespace json = boost::json;

const char* keras_class(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "Conv2D";
    case LayerKind::activation: return "Activation";
    case LayerKind::max_pooling2d: return "MaxPooling2D";
    case LayerKind::dropout: return "Dropout";
    case LayerKind::flatten: return "Flatten";
    case LayerKind::dense: return "Dense";
  }
  return "?";
}

// Keras names a layer snake_case(class) + "_" + a per-class count from 1.
const char* keras_prefix(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "conv2d";
    case LayerKind::activation: return "activation";
    case LayerKind::max_pooling2d: return "max_pooling2d";
    case LayerKind::dropout: return "dropout";
    case LayerKind::flatten: return "flatten";
    case LayerKind::dense: return "dense";
  }
  return "?";
}

json::object glorot_uniform() {
  // Keras 2.2 serialises glorot_uniform as the VarianceScaling it is.
  return {{"class_name", "VarianceScaling"},
          {"config", {{"scale", 1.0}, {"mode", "fan_avg"}, {"distribution", "uniform"}, {"seed", nullptr}}}};
}

// The keys every weighted layer ends with, in Keras' order.
void weighted_tail(json::object& c) {
  c["use_bias"] = true;
  c["kernel_initializer"] = glorot_uniform();
  c["bias_initializer"] = json::object{{"class_name", "Zeros"}, {"config", json::object{}}};
  for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                        "bias_constraint"}) {
    c[k] = nullptr;
  }
}

json::object layer_config(const Layer& l, bool first, const Shape& input) {
  json::object c{{"name", l.name}, {"trainable", true}};
  const LayerSpec& s = l.spec;
  switch (s.kind) {
    case LayerKind::conv2d:
      if (first) {
        c["batch_input_shape"] = json::array{nullptr, input.h, input.w, input.c};
        c["dtype"] = "float32";
      }
      c["filters"] = s.units;
      c["kernel_size"] = json::array{s.kernel, s.kernel};
      c["strides"] = json::array{1, 1};
      c["padding"] = s.same ? "same" : "valid";
      c["data_format"] = "channels_last";
      c["dilation_rate"] = json::array{1, 1};
      c["activation"] = to_string(Activation::linear);
      weighted_tail(c);
      break;
    case LayerKind::activation:
      c["activation"] = to_string(s.activation);
      break;
    case LayerKind::max_pooling2d:
      c["pool_size"] = json::array{2, 2};
      c["padding"] = "valid";
      c["strides"] = json::array{2, 2};
      c["data_format"] = "channels_last";
      break;
    case LayerKind::dropout:
      // The rate as Python wrote the literal (0.25, 0.5), not widened float.
      c["rate"] = static_cast<double>(s.rate);
      c["noise_shape"] = nullptr;
      c["seed"] = nullptr;
      break;
    case LayerKind::flatten:
      c["data_format"] = "channels_last";
      break;
    case LayerKind::dense:
      if (first) {
        c["batch_input_shape"] = json::array{nullptr, static_cast<std::int64_t>(input.size())};
        c["dtype"] = "float32";
      }
      c["units"] = s.units;
      c["activation"] = to_string(Activation::linear);
      weighted_tail(c);
      break;
  }
  return c;
}

}  // namespace

Result<Model> build_model(const std::vector<LayerSpec>& specs, Shape input) {
  Model m;
  m.input = input;
  std::map<LayerKind, int> counts;
  Shape at = input;
  bool flat = input.h == 1 && input.w == 1;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Layer l;
    l.spec = specs[i];
    l.name = std::string(keras_prefix(l.spec.kind)) + "_" + std::to_string(++counts[l.spec.kind]);
    l.in = at;
    auto bad = [&](const std::string& why) {
      return Error{"layer " + std::to_string(i + 1) + " (" + keras_class(l.spec.kind) + " " + l.name + "): " + why};
    };
    switch (l.spec.kind) {
      case LayerKind::conv2d: {
        const int k = l.spec.kernel;
        if (flat) return bad("needs an image input, got a flat vector");
        if (k < 1 || l.spec.units < 1) return bad("needs a kernel and filters of at least 1");
        const int shrink = l.spec.same ? 0 : k - 1;
        if (l.spec.same && k % 2 == 0) return bad("'same' padding needs an odd kernel");
        if (at.h - shrink < 1 || at.w - shrink < 1) return bad("a " + std::to_string(k) + "x" +
                                                                std::to_string(k) + " valid kernel is larger than its input");
        l.out = {at.h - shrink, at.w - shrink, l.spec.units};
        l.kernel_shape = {static_cast<std::size_t>(k), static_cast<std::size_t>(k), static_cast<std::size_t>(at.c),
                          static_cast<std::size_t>(l.spec.units)};
        l.kernel_size = static_cast<std::size_t>(k) * k * at.c * l.spec.units;
        l.bias_size = static_cast<std::size_t>(l.spec.units);
        break;
      }
      case LayerKind::activation:
        if (l.spec.activation == Activation::linear) {
          return bad(std::string("activation '") + to_string(l.spec.activation) + "' is not supported (relu, softmax)");
        }
        if (l.spec.activation == Activation::softmax && (i + 1 != specs.size() || !flat)) {
          return bad("softmax must be the last layer, on a flat vector");
        }
        l.out = at;
        break;
      case LayerKind::max_pooling2d:
        if (flat || at.h < 2 || at.w < 2) return bad("needs an image of at least 2x2");
        l.out = {at.h / 2, at.w / 2, at.c};  // floors: 13 -> 6 drops the last row and column
        break;
      case LayerKind::dropout:
        if (!(l.spec.rate >= 0.0f && l.spec.rate < 1.0f)) return bad("rate must be in [0, 1)");
        l.out = at;
        break;
      case LayerKind::flatten:
        l.out = {1, 1, static_cast<int>(at.size())};
        flat = true;
        break;
      case LayerKind::dense:
        if (!flat) return bad("needs a flat input (add a Flatten)");
        if (l.spec.units < 1) return bad("needs at least 1 unit");
        l.out = {1, 1, l.spec.units};
        l.kernel_shape = {at.size(), static_cast<std::size_t>(l.spec.units)};
        l.kernel_size = at.size() * l.spec.units;
        l.bias_size = static_cast<std::size_t>(l.spec.units);
        break;
    }
    if (l.has_weights()) {
      l.kernel_offset = m.parameter_count;
      l.bias_offset = l.kernel_offset + l.kernel_size;
      m.parameter_count = l.bias_offset + l.bias_size;
    }
    at = l.out;
    m.layers.push_back(std::move(l));
  }
  if (m.layers.empty() || m.layers.back().spec.kind != LayerKind::activation ||
      m.layers.back().spec.activation != Activation::softmax) {
    return Error{"the model must end with a softmax Activation (categorical cross-entropy needs probabilities)"};
  }
  m.classes = at.c;
  return m;
}

std::vector<LayerSpec> cifar10_cnn() {
  using K = LayerKind;
  using A = Activation;
  auto conv = [](int filters, bool same) { return LayerSpec{K::conv2d, filters, 3, same, A::linear, 0.0f}; };
  auto act = [](Activation f) { return LayerSpec{K::activation, 0, 0, false, f, 0.0f}; };
  auto pool = LayerSpec{K::max_pooling2d, 0, 0, false, A::linear, 0.0f};
  auto drop = [](float r) { return LayerSpec{K::dropout, 0, 0, false, A::linear, r}; };
  return {conv(32, true),  act(A::relu), conv(32, false), act(A::relu), pool, drop(0.25f),
          conv(64, true),  act(A::relu), conv(64, false), act(A::relu), pool, drop(0.25f),
          LayerSpec{K::flatten, 0, 0, false, A::linear, 0.0f},
          LayerSpec{K::dense, 512, 0, false, A::linear, 0.0f}, act(A::relu), drop(0.5f),
          LayerSpec{K::dense, 10, 0, false, A::linear, 0.0f}, act(A::softmax)};
}

std::string Model::model_config_json() const {
  json::array list;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    list.push_back(json::object{{"class_name", keras_class(layers[i].spec.kind)},
                                {"config", layer_config(layers[i], i == 0, input)}});
  }
  return json::serialize(json::object{
      {"class_name", "Sequential"}, {"config", json::object{{"name", "sequential_1"}, {"layers", std::move(list)}}}});
}

std::string training_config_json(const RmspropConfig& o) {
  // Keras reads lr, rho and decay back from float32 variables: widened,
  // not the decimal literal. epsilon stays a Python float.
  return json::serialize(json::object{
      {"optimizer_config",
       {{"class_name", "RMSprop"},
        {"config",
         {{"lr", static_cast<double>(o.lr)},
          {"rho", static_cast<double>(o.rho)},
          {"decay", static_cast<double>(o.decay)},
          {"epsilon", static_cast<double>(o.epsilon)}}}}},
      {"loss", "categorical_crossentropy"},
      {"metrics", json::array{"accuracy"}},
      {"weighted_metrics", nullptr},
      {"sample_weight_mode", nullptr},
      {"loss_weights", nullptr}});
}

}  // namespace batchai::trainer
