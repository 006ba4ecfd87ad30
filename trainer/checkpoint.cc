#include "trainer/checkpoint.h"

#include <boost/json.hpp>
#include <filesystem>
#include <regex>

#include "io/keras_h5.h"

namespace batchai::trainer {
namespace {

namespace json = boost::json;

std::string state_json(const TrainingState& s) {
  return json::serialize(json::object{{"version", 1},
                                      {"epoch", s.epoch},
                                      {"seed", s.seed},
                                      {"ranks", s.ranks},
                                      {"shard", s.shard},
                                      {"iterations", s.iterations}});
}

Result<TrainingState> parse_state(const std::string& text, const std::string& where) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o) return Error{where + ": batchai_training_state is not a JSON object"};
  TrainingState s;
  try {
    if (o->at("version").to_number<int>() != 1) return Error{where + ": batchai_training_state: unknown version"};
    s.epoch = o->at("epoch").to_number<int>();
    s.seed = o->at("seed").to_number<std::uint64_t>();
    s.ranks = o->at("ranks").to_number<int>();
    s.shard = o->at("shard").as_bool();
    s.iterations = o->at("iterations").to_number<std::int64_t>();
  } catch (const std::exception& e) {
    return Error{where + ": batchai_training_state: " + e.what()};
  }
  return s;
}

}  // namespace

Status save_checkpoint(const std::string& path, const Model& model, const RmspropConfig& optimizer,
                       const Checkpoint& c) {
  keras::KerasModelFile f;
  f.model_config_json = model.model_config_json();
  f.training_config_json = training_config_json(optimizer);
  f.batchai_state_json = state_json(c.state);
  int slot = 0;
  for (const Layer& l : model.layers) {
    keras::LayerWeights lw{l.name, {}};
    if (l.has_weights()) {
      const auto* p = c.parameters.data();
      lw.weights.push_back({l.name + "/kernel:0", l.kernel_shape,
                            std::vector<float>(p + l.kernel_offset, p + l.kernel_offset + l.kernel_size)});
      lw.weights.push_back({l.name + "/bias:0", {l.bias_size},
                            std::vector<float>(p + l.bias_offset, p + l.bias_offset + l.bias_size)});
      // Keras 2.2's RMSprop accumulators: unnamed variables, one per
      // weight, in the weights' order.
      const auto* a = c.accumulators.data();
      for (auto [offset, size, shape] : {std::tuple{l.kernel_offset, l.kernel_size, l.kernel_shape},
                                         std::tuple{l.bias_offset, l.bias_size, std::vector<std::size_t>{l.bias_size}}}) {
        f.optimizer_weights.push_back({"training/RMSprop/Variable" + (slot ? "_" + std::to_string(slot) : "") + ":0",
                                       shape, std::vector<float>(a + offset, a + offset + size)});
        ++slot;
      }
    }
    f.layers.push_back(std::move(lw));
  }
  return keras::write_keras_h5(path, f);
}

Result<Checkpoint> load_checkpoint(const std::string& path, const Model& model) {
  auto f = keras::read_keras_h5(path);
  if (!f) return f.error();
  if (f->model_config_json != model.model_config_json()) {
    return Error{path + ": its model_config is not this trainer's network"};
  }
  if (f->batchai_state_json.empty()) {
    return Error{path + ": no batchai_training_state (not written by batchai-train); cannot resume from it"};
  }
  auto state = parse_state(f->batchai_state_json, path);
  if (!state) return state.error();
  Checkpoint c;
  c.state = *state;
  c.parameters.resize(model.parameter_count);
  c.accumulators.resize(model.parameter_count);
  std::size_t slot = 0;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    if (i >= f->layers.size() || f->layers[i].layer_name != l.name) {
      return Error{path + ": /model_weights: expected layer " + l.name + " at position " + std::to_string(i + 1)};
    }
    const auto& weights = f->layers[i].weights;
    if (!l.has_weights()) continue;
    const std::vector<std::size_t> bias_shape{l.bias_size};
    if (weights.size() != 2 || weights[0].shape != l.kernel_shape || weights[1].shape != bias_shape) {
      return Error{path + ": /model_weights/" + l.name + ": expected a kernel and a bias of this network's shapes"};
    }
    std::copy(weights[0].data.begin(), weights[0].data.end(), c.parameters.begin() + l.kernel_offset);
    std::copy(weights[1].data.begin(), weights[1].data.end(), c.parameters.begin() + l.bias_offset);
    for (auto [offset, size] : {std::pair{l.kernel_offset, l.kernel_size}, std::pair{l.bias_offset, l.bias_size}}) {
      if (slot >= f->optimizer_weights.size() || f->optimizer_weights[slot].data.size() != size) {
        return Error{path + ": /optimizer_weights: expected 2 RMSprop accumulators per weighted layer, matching its "
                            "weights"};
      }
      std::copy(f->optimizer_weights[slot].data.begin(), f->optimizer_weights[slot].data.end(),
                c.accumulators.begin() + offset);
      ++slot;
    }
  }
  return c;
}

std::string newest_checkpoint(const std::string& dir) {
  namespace fs = std::filesystem;
  static const std::regex name(R"(checkpoint-([0-9]{1,9})\.h5)");
  std::error_code ec;
  int best = 0;
  std::string found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, name) && std::stoi(m[1]) > best) {
      best = std::stoi(m[1]);
      found = entry.path().string();
    }
  }
  return found;
}

}  // namespace batchai::trainer
