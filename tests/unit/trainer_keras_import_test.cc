// --evaluate's loader: a model file written by tf.keras (its own layer
// names, an InputLayer first, UTF-8 string attributes, an int64 step
// counter among the optimizer's weights) gives the weights in this
// network's order, and a file of another network is refused by name.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <map>

#include "io/keras_h5.h"
#include "trainer/keras_import.h"
#include "trainer/model.h"
#include "unit/temp_dir.h"

namespace batchai::trainer {
namespace {

namespace json = boost::json;
using batchai::testing::TempDir;

// tf.keras's names: the first layer of a class has none of Keras 2.2's
// "_1", so conv2d, conv2d_1, ... and every name differs from ours.
std::string tf_keras_name(const std::string& ours) {
  const auto cut = ours.rfind('_');
  const int n = std::stoi(ours.substr(cut + 1));
  return ours.substr(0, cut) + (n == 1 ? "" : "_" + std::to_string(n - 1));
}

// Our network as tf.keras 2.14 saves it, with every weight a known value
// (its index in the flat order), `edit` applied to the model_config's layer
// list first.
keras::KerasModelFile tf_keras_file(const Model& model, std::vector<float>& flat,
                                    void (*edit)(json::array&) = nullptr) {
  json::value config = json::parse(model.model_config_json());
  json::array& layers = config.at("config").at("layers").as_array();
  for (auto& l : layers) {
    auto& c = l.at("config").as_object();
    c["name"] = tf_keras_name(std::string(c["name"].as_string()));
  }
  layers.insert(layers.begin(), json::object{{"class_name", "InputLayer"},
                                             {"config", {{"batch_input_shape", {nullptr, 32, 32, 3}},
                                                         {"dtype", "float32"},
                                                         {"name", "conv2d_input"}}}});
  if (edit) edit(layers);
  keras::KerasModelFile f;
  f.keras_version = "2.14.0";
  f.model_config_json = json::serialize(config);
  flat.resize(model.parameter_count);
  for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = static_cast<float>(i % 1000) * 1e-3f;
  for (const Layer& l : model.layers) {
    const std::string name = tf_keras_name(l.name);
    keras::LayerWeights lw{name, {}};
    if (l.has_weights()) {
      lw.weights.push_back({name + "/kernel:0", l.kernel_shape,
                            {flat.begin() + l.kernel_offset, flat.begin() + l.kernel_offset + l.kernel_size}});
      lw.weights.push_back({name + "/bias:0", {l.bias_size},
                            {flat.begin() + l.bias_offset, flat.begin() + l.bias_offset + l.bias_size}});
    }
    f.layers.push_back(std::move(lw));
  }
  return f;
}

class KerasImport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir.ok());
    auto m = build_model(cifar10_cnn(), {32, 32, 3});
    ASSERT_TRUE(m) << m.error().message;
    model = std::move(*m);
  }
  TempDir dir;
  Model model;
};

TEST_F(KerasImport, TakesTfKerasNamesByTheConfigsOrder) {
  std::vector<float> flat;
  const std::string path = dir.file("tf.h5");
  ASSERT_TRUE(keras::write_keras_h5(path, tf_keras_file(model, flat)));
  auto got = import_keras_weights(path, model);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, flat);
}

TEST_F(KerasImport, RefusesAnotherNetworkSayingWhatDiffers) {
  struct Case {
    void (*edit)(json::array&);
    std::string message;
  };
  const std::vector<Case> cases{
      {[](json::array& l) { l[3].at("config").as_object()["padding"] = "same"; },
       "model_config: layer 3 (conv2d_1): padding is \"same\", this network's is \"valid\""},
      {[](json::array& l) { l[16].at("config").as_object()["rate"] = 0.3; },
       "model_config: layer 16 (dropout_2): rate is 3E-1, this network's is 5E-1"},
      {[](json::array& l) { l[2].at("config").as_object()["activation"] = "tanh"; },
       "model_config: layer 2 (activation): activation is \"tanh\", this network's is \"relu\""},
      {[](json::array& l) { l[0].at("config").as_object()["batch_input_shape"] = json::array{nullptr, 28, 28, 1}; },
       "model_config: input shape [null,28,28,1], this network's is [null,32,32,3]"},
      {[](json::array& l) { l.erase(l.begin() + 6); },
       "model_config: 17 layers, this network has 18"},
      {[](json::array& l) { l[5].as_object()["class_name"] = "AveragePooling2D"; },
       "model_config: layer 5 (max_pooling2d): class AveragePooling2D, this network's is MaxPooling2D"},
  };
  for (const auto& c : cases) {
    std::vector<float> flat;
    const std::string path = dir.file("other.h5");
    ASSERT_TRUE(keras::write_keras_h5(path, tf_keras_file(model, flat, c.edit)));
    auto got = import_keras_weights(path, model);
    ASSERT_FALSE(got) << c.message;
    EXPECT_EQ(got.error().message, path + ": " + c.message);
  }
}

TEST_F(KerasImport, RefusesWeightsOfAnotherShapeNamingTheDataset) {
  std::vector<float> flat;
  auto f = tf_keras_file(model, flat);
  f.layers[13].weights[1].shape = {256};  // dense: bias
  f.layers[13].weights[1].data.resize(256);
  const std::string path = dir.file("shape.h5");
  ASSERT_TRUE(keras::write_keras_h5(path, f));
  auto got = import_keras_weights(path, model);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().message,
            path + ": /model_weights/dense: dense/bias:0: shape (256,), this network's bias is (512,)");
}

std::pair<int, std::string> run(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 4096> chunk{};
  while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// What h5py 3 does that our writer does not: str attributes as
// variable-length UTF-8, and tf.keras's int64 step counter.
constexpr const char* kAsH5py3Writes = R"(
import sys, h5py, numpy
with h5py.File(sys.argv[1], 'r+') as f:
    for group in (f, f['model_weights']):
        for key in ('keras_version', 'backend'):
            value = group.attrs[key]
            del group.attrs[key]
            group.attrs[key] = value.decode() if isinstance(value, bytes) else str(value)
    o = f.create_group('optimizer_weights')
    o.create_dataset('RMSprop/iter:0', data=numpy.int64(7))
    o.create_dataset('RMSprop/conv2d/kernel/rms:0', data=numpy.zeros((3, 3, 3, 32), 'float32'))
    o.attrs['weight_names'] = [b'RMSprop/iter:0', b'RMSprop/conv2d/kernel/rms:0']
    assert h5py.check_string_dtype(f.attrs.get_id('keras_version').dtype).encoding == 'utf-8'
print('rewritten')
)";

TEST_F(KerasImport, ReadsH5py3sStringsAndSkipsTheOptimizer) {
  const char* python = "/usr/bin/python3";
  if (auto [rc, out] = run(std::string(python) + " -c 'import h5py, numpy'"); rc != 0) {
    GTEST_SKIP() << "h5py not importable by " << python << " (Debian: python3-h5py): " << out;
  }
  std::vector<float> flat;
  const std::string path = dir.file("h5py.h5");
  ASSERT_TRUE(keras::write_keras_h5(path, tf_keras_file(model, flat)));
  const std::string script = dir.file("rewrite.py");
  std::ofstream(script) << kAsH5py3Writes;
  auto [rc, out] = run(std::string(python) + " '" + script + "' '" + path + "'");
  ASSERT_EQ(rc, 0) << out;
  auto got = import_keras_weights(path, model);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, flat);
  // Checkpoints still need every optimizer weight as float32.
  auto whole = keras::read_keras_h5(path);
  ASSERT_FALSE(whole);
  EXPECT_NE(whole.error().message.find("/optimizer_weights/RMSprop/iter:0: expected a float32 dataset, found int64"),
            std::string::npos)
      << whole.error().message;
}

}  // namespace
}  // namespace batchai::trainer
