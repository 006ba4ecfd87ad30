#include "trainer/checkpoint.h"

#include <boost/json.hpp>
#include <filesystem>
#include <regex>
#include <utility>
#include <vector>

#include "io/keras_h5.h"

namespace batchai::trainer {
namespace {

namespace json = boost::json;

std::string state_json(const TrainingState& s) {
  return json::serialize(json::object{{"version", 2},
                                      {"epoch", s.epoch},
                                      {"seed", s.seed},
                                      {"ranks", s.ranks},
                                      {"shard", s.shard},
                                      {"iterations", s.iterations},
                                      {"step", s.step},
                                      {"steps_per_epoch", s.steps_per_epoch},
                                      {"batch", s.batch},
                                      {"threads", s.threads},
                                      {"slurm_job_id", s.slurm_job_id},
                                      {"loss_sum", s.loss_sum},
                                      {"correct", s.correct},
                                      {"examples", s.examples},
                                      {"seconds", s.seconds}});
}

Result<TrainingState> parse_state(const std::string& text, const std::string& where) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o) return Error{where + ": batchai_training_state is not a JSON object"};
  TrainingState s;
  try {
    const int version = o->at("version").to_number<int>();
    if (version != 1 && version != 2) return Error{where + ": batchai_training_state: unknown version"};
    s.epoch = o->at("epoch").to_number<int>();
    s.seed = o->at("seed").to_number<std::uint64_t>();
    s.ranks = o->at("ranks").to_number<int>();
    s.shard = o->at("shard").as_bool();
    s.iterations = o->at("iterations").to_number<std::int64_t>();
    if (version == 2) {
      s.step = o->at("step").to_number<std::int64_t>();
      s.steps_per_epoch = o->at("steps_per_epoch").to_number<std::int64_t>();
      s.batch = o->at("batch").to_number<std::int64_t>();
      s.threads = o->at("threads").to_number<int>();
      s.slurm_job_id = std::string(o->at("slurm_job_id").as_string());
      s.loss_sum = o->at("loss_sum").to_number<double>();
      s.correct = o->at("correct").to_number<std::int64_t>();
      s.examples = o->at("examples").to_number<std::int64_t>();
      s.seconds = o->at("seconds").to_number<double>();
    }
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

std::string checkpoint_name(int epoch) { return "checkpoint-" + std::to_string(epoch) + ".h5"; }

std::string checkpoint_name(int epoch, std::int64_t step) {
  return "checkpoint-" + std::to_string(epoch) + "-step-" + std::to_string(step) + ".h5";
}

std::string newest_checkpoint(const std::string& dir) {
  namespace fs = std::filesystem;
  static const std::regex name(R"(checkpoint-([0-9]{1,9})(-step-([0-9]{1,12}))?\.h5)");
  std::error_code ec;
  std::pair<long long, long long> best{0, 0};  // (epochs done, steps into the next)
  std::string found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    const long long epoch = std::stoll(m[1]);
    const long long step = m[3].matched ? std::stoll(m[3]) : 0;
    // A step file names the epoch in progress; step 0 of it would be the
    // previous epoch's file, which is never written so.
    if (m[3].matched && (step == 0 || epoch == 0)) continue;
    const std::pair<long long, long long> at = m[3].matched ? std::pair{epoch - 1, step} : std::pair{epoch, 0LL};
    if (at > best) {
      best = at;
      found = entry.path().string();
    }
  }
  return found;
}

void remove_step_checkpoints(const std::string& dir, int epoch) {
  namespace fs = std::filesystem;
  const std::string prefix = "checkpoint-" + std::to_string(epoch) + "-step-";
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) == 0 && file.size() > prefix.size() + 3 && file.ends_with(".h5")) {
      stale.push_back(entry.path());
    }
  }
  for (const auto& p : stale) fs::remove(p, ec);
}

}  // namespace batchai::trainer
