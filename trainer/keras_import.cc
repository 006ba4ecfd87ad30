#include "trainer/keras_import.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "io/keras_h5.h"

namespace batchai::trainer {
namespace {

namespace json = boost::json;

// What makes two layers of one class compute the same function; names,
// initializers and regularizers do not.
const std::map<std::string, std::vector<std::string>, std::less<>>& significant_keys() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> keys{
      {"Conv2D", {"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                  "use_bias"}},
      {"Activation", {"activation"}},
      {"MaxPooling2D", {"pool_size", "strides", "padding", "data_format"}},
      {"Dropout", {"rate"}},
      {"Flatten", {"data_format"}},
      {"Dense", {"units", "activation", "use_bias"}},
  };
  return keys;
}

// JSON equality with numbers compared by value: Keras writes 2 where we
// write 2, but a reader may hold one as int64 and the other as uint64.
bool same(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  if (a.is_array() && b.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), same);
  }
  return a == b;
}

struct ConfigLayer {
  std::string class_name;
  const json::object* config = nullptr;
};

// The Sequential's layers in order, without the InputLayer tf.keras lists
// first, and the input shape as it was declared (on the InputLayer or, in
// Keras 2.2, on the first layer).
struct ConfigModel {
  std::vector<ConfigLayer> layers;
  const json::value* input_shape = nullptr;
};

Result<ConfigModel> sequential_layers(const json::value& root, const std::string& where) {
  const json::object* top = root.if_object();
  const json::value* cls = top ? top->if_contains("class_name") : nullptr;
  if (!cls || !cls->is_string()) return Error{where + ": not a Keras model description"};
  if (cls->get_string() != "Sequential") {
    return Error{where + ": a " + std::string(cls->get_string()) + " model; this network is a Sequential"};
  }
  const json::value* config = top->if_contains("config");
  const json::array* list = nullptr;
  if (config && config->is_array()) {
    list = &config->get_array();  // Keras up to 2.2.2
  } else if (config && config->is_object()) {
    const json::value* layers = config->get_object().if_contains("layers");
    if (layers) list = layers->if_array();
  }
  if (!list) return Error{where + ": config: no list of layers"};
  ConfigModel m;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json::object* entry = (*list)[i].if_object();
    const json::value* name = entry ? entry->if_contains("class_name") : nullptr;
    const json::value* c = entry ? entry->if_contains("config") : nullptr;
    if (!name || !name->is_string() || !c || !c->is_object()) {
      return Error{where + ": config.layers[" + std::to_string(i) + "]: expected class_name and config"};
    }
    const json::object& lc = c->get_object();
    if (!m.input_shape) m.input_shape = lc.if_contains("batch_input_shape");
    if (name->get_string() == "InputLayer") continue;
    m.layers.push_back({std::string(name->get_string()), &lc});
  }
  return m;
}

std::string layer_name(const ConfigLayer& l) {
  const json::value* n = l.config->if_contains("name");
  return n && n->is_string() ? std::string(n->get_string()) : "?";
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

Result<std::vector<float>> import_keras_weights(const std::string& path, const Model& model) {
  auto file = keras::read_keras_h5(path, keras::KerasRead::model_only);
  if (!file) return file.error();
  const std::string where = path + ": model_config";
  boost::system::error_code ec;
  const json::value theirs_json = json::parse(file->model_config_json, ec);
  if (ec) return Error{where + ": not JSON (" + ec.message() + ")"};
  auto theirs = sequential_layers(theirs_json, where);
  if (!theirs) return theirs.error();
  const json::value ours_json = json::parse(model.model_config_json());
  auto ours = sequential_layers(ours_json, "this network");
  if (!ours) return ours.error();

  if (theirs->input_shape && ours->input_shape && !same(*theirs->input_shape, *ours->input_shape)) {
    return Error{where + ": input shape " + json::serialize(*theirs->input_shape) + ", this network's is " +
                 json::serialize(*ours->input_shape)};
  }
  if (theirs->layers.size() != ours->layers.size()) {
    return Error{where + ": " + std::to_string(theirs->layers.size()) + " layers, this network has " +
                 std::to_string(ours->layers.size())};
  }
  for (std::size_t i = 0; i < ours->layers.size(); ++i) {
    const ConfigLayer& t = theirs->layers[i];
    const ConfigLayer& o = ours->layers[i];
    const std::string at = where + ": layer " + std::to_string(i + 1) + " (" + layer_name(t) + ")";
    if (t.class_name != o.class_name) {
      return Error{at + ": class " + t.class_name + ", this network's is " + o.class_name};
    }
    for (const std::string& key : significant_keys().at(o.class_name)) {
      const json::value* tv = t.config->if_contains(key);
      const json::value& ov = o.config->at(key);
      if (!tv) return Error{at + ": no " + key + ", this network's is " + json::serialize(ov)};
      if (!same(*tv, ov)) return Error{at + ": " + key + " is " + json::serialize(*tv) + ", this network's is " +
                                       json::serialize(ov)};
    }
  }

  std::vector<float> parameters(model.parameter_count, 0.0f);
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    const std::string name = layer_name(theirs->layers[i]);
    auto found = std::find_if(file->layers.begin(), file->layers.end(),
                              [&](const keras::LayerWeights& w) { return w.layer_name == name; });
    if (found == file->layers.end()) {
      return Error{path + ": /model_weights: no layer " + name + " (layer " + std::to_string(i + 1) +
                   " of model_config)"};
    }
    const auto& weights = found->weights;
    const std::string at = path + ": /model_weights/" + name;
    if (!l.has_weights()) {
      if (!weights.empty()) return Error{at + ": has weights, this network's layer " + std::to_string(i + 1) + " has none"};
      continue;
    }
    const std::vector<std::size_t> bias_shape{l.bias_size};
    if (weights.size() != 2) {
      return Error{at + ": " + std::to_string(weights.size()) + " weights, expected a kernel and a bias"};
    }
    for (auto [tensor, shape, what] : {std::tuple{&weights[0], &l.kernel_shape, "kernel"},
                                       std::tuple{&weights[1], &bias_shape, "bias"}}) {
      if (tensor->shape != *shape) {
        return Error{at + ": " + tensor->name + ": shape " + shape_text(tensor->shape) + ", this network's " + what +
                     " is " + shape_text(*shape)};
      }
    }
    std::copy(weights[0].data.begin(), weights[0].data.end(), parameters.begin() + l.kernel_offset);
    std::copy(weights[1].data.begin(), weights[1].data.end(), parameters.begin() + l.bias_offset);
  }
  return parameters;
}

}  // namespace batchai::trainer
