#include "io/keras_h5.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "unit/temp_dir.h"

namespace batchai::keras {
namespace {

using testing::TempDir;

// Values chosen to catch any conversion on the way: negative zero, a
// denormal, infinities and ordinary fractions, all compared bit for bit.
Tensor tensor(std::string name, std::vector<std::size_t> shape, float seed) {
  Tensor t{std::move(name), std::move(shape), {}};
  std::size_t n = 1;
  for (std::size_t d : t.shape) n *= d;
  for (std::size_t i = 0; i < n; ++i) t.data.push_back(seed + static_cast<float>(i) / 7.0f);
  if (n > 3) {
    t.data[0] = -0.0f;
    t.data[1] = std::numeric_limits<float>::denorm_min();
    t.data[2] = -std::numeric_limits<float>::infinity();
  }
  return t;
}

const char* kModelConfig = R"({"class_name": "Sequential", "config": {"name": "sequential_1", "layers": []}})";
const char* kTrainingConfig = R"({"optimizer_config": {"class_name": "RMSprop"}, "loss": "categorical_crossentropy"})";

KerasModelFile small_model(std::size_t dense_in = 8) {
  KerasModelFile m;
  m.model_config_json = kModelConfig;
  m.training_config_json = kTrainingConfig;
  m.layers.push_back(
      {"conv2d_1", {tensor("conv2d_1/kernel:0", {3, 3, 3, 2}, 1.5f), tensor("conv2d_1/bias:0", {2}, -2)}});
  m.layers.push_back({"activation_1", {}});
  m.layers.push_back({"dense_1", {tensor("dense_1/kernel:0", {dense_in, 3}, 0.25f), tensor("dense_1/bias:0", {3}, 9)}});
  m.layers.push_back({"activation_2", {}});
  int i = 0;
  for (const LayerWeights& layer : m.layers) {
    for (const Tensor& w : layer.weights) {
      std::string suffix = i == 0 ? "" : "_" + std::to_string(i);
      m.optimizer_weights.push_back(tensor("training/RMSprop/Variable" + suffix + ":0", w.shape, 100.0f + i));
      ++i;
    }
  }
  return m;
}

void expect_same_tensors(const std::vector<Tensor>& got, const std::vector<Tensor>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].shape, want[i].shape) << want[i].name;
    ASSERT_EQ(got[i].data.size(), want[i].data.size()) << want[i].name;
    EXPECT_EQ(std::memcmp(got[i].data.data(), want[i].data.data(), want[i].data.size() * sizeof(float)), 0)
        << want[i].name << ": data differs";
  }
}

std::vector<std::string> leftovers(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) names.push_back(name);
  }
  return names;
}

// Edits a written file with the HDF5 API, to make the broken files the
// reader must refuse.
template <class Edit>
void edit(const std::string& path, Edit change) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  change(file);
  H5Fclose(file);
}

TEST(KerasH5, RoundTripIsExact) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("model.h5");
  KerasModelFile model = small_model();
  ASSERT_TRUE(write_keras_h5(path, model));
  EXPECT_TRUE(leftovers(dir.path()).empty());
  auto back = read_keras_h5(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->keras_version, "2.2.4");
  EXPECT_EQ(back->backend, "tensorflow");
  EXPECT_EQ(back->model_config_json, kModelConfig);
  EXPECT_EQ(back->training_config_json, kTrainingConfig);
  ASSERT_EQ(back->layers.size(), model.layers.size());
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    EXPECT_EQ(back->layers[i].layer_name, model.layers[i].layer_name);
    expect_same_tensors(back->layers[i].weights, model.layers[i].weights);
  }
  EXPECT_TRUE(back->layers[1].weights.empty());
  expect_same_tensors(back->optimizer_weights, model.optimizer_weights);
}

TEST(KerasH5, WeightlessModelWithoutOptimizerRoundTrips) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("m.h5");
  KerasModelFile model;
  model.model_config_json = "{}";
  model.layers = {{"flatten_1", {}}, {"dropout_1", {}}};
  ASSERT_TRUE(write_keras_h5(path, model));
  auto back = read_keras_h5(path);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->layers.size(), 2u);
  EXPECT_EQ(back->layers[0].layer_name, "flatten_1");
  EXPECT_TRUE(back->layers[0].weights.empty());
  EXPECT_TRUE(back->layers[1].weights.empty());
  EXPECT_EQ(back->training_config_json, "");
  EXPECT_TRUE(back->optimizer_weights.empty());
}

TEST(KerasH5, MissingDirectoryIsRefusedAndLeavesNoTempFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("no/such/model.h5");
  EXPECT_EQ(write_keras_h5(path, small_model()).error().message,
            path + ": cannot write: directory '" + dir.file("no/such") + "' does not exist");
  EXPECT_TRUE(leftovers(dir.path()).empty());
}

TEST(KerasH5, FailedRenameRemovesTheTempFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  // A non-empty directory where the file should go: HDF5 writes the
  // temporary file, then the rename fails.
  std::string path = dir.file("model.h5");
  std::filesystem::create_directory(path);
  std::ofstream(path + "/keep") << "x";
  auto status = write_keras_h5(path, small_model());
  ASSERT_FALSE(status);
  EXPECT_TRUE(status.error().message.starts_with(path + ": renaming " + path + ".tmp-")) << status.error().message;
  EXPECT_TRUE(status.error().message.ends_with(" into place failed: Is a directory")) << status.error().message;
  EXPECT_TRUE(leftovers(dir.path()).empty());
}

TEST(KerasH5, BadInputIsRefusedBeforeWriting) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("m.h5");
  KerasModelFile model = small_model();
  model.layers[2].weights[0].data.pop_back();
  EXPECT_EQ(write_keras_h5(path, model).error().message,
            path + ": layer 2 (dense_1): dense_1/kernel:0: shape (8, 3) needs 24 values, got 23");
  model = small_model();
  model.layers[3].layer_name = "conv2d_1";
  EXPECT_EQ(write_keras_h5(path, model).error().message, path + ": layer 3 (conv2d_1): duplicate layer name");
  model = small_model();
  model.model_config_json = "{\"name\": \"caf\xc3\xa9\"}";
  EXPECT_EQ(write_keras_h5(path, model).error().message, path + ": model_config: byte 13 is not printable ASCII");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(leftovers(dir.path()).empty());
}

TEST(KerasH5, TruncatedFileIsRefused) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("model.h5");
  ASSERT_TRUE(write_keras_h5(path, small_model(512)));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  auto back = read_keras_h5(path);
  ASSERT_FALSE(back);
  const std::string& message = back.error().message;
  EXPECT_TRUE(message.starts_with(path + ": cannot open as HDF5 (truncated file: ")) << message;
  EXPECT_TRUE(message.ends_with("); the file is truncated or not a Keras .h5 model")) << message;
}

TEST(KerasH5, NotAnHdf5FileAndMissingFileAreRefused) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("model.h5");
  std::ofstream(path) << "not hdf5\n";
  auto back = read_keras_h5(path);
  ASSERT_FALSE(back);
  EXPECT_TRUE(back.error().message.starts_with(path + ": cannot open as HDF5")) << back.error().message;
  std::string missing = dir.file("none.h5");
  EXPECT_EQ(read_keras_h5(missing).error().message, missing + ": no such file");
}

TEST(KerasH5, MissingModelWeightsIsRefused) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("model.h5");
  ASSERT_TRUE(write_keras_h5(path, small_model()));
  edit(path, [](hid_t file) { ASSERT_GE(H5Ldelete(file, "model_weights", H5P_DEFAULT), 0); });
  EXPECT_EQ(read_keras_h5(path).error().message,
            path + ": /model_weights: missing group; expected a whole-model file from Keras model.save() or "
                   "batchai-train (a save_weights() file keeps the layers at the root)");
}

TEST(KerasH5, MissingRootAttributeIsRefused) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("model.h5");
  ASSERT_TRUE(write_keras_h5(path, small_model()));
  edit(path, [](hid_t file) { ASSERT_GE(H5Adelete(file, "model_config"), 0); });
  EXPECT_EQ(read_keras_h5(path).error().message, path + ": /: missing attribute model_config");
}

TEST(KerasH5, WeightNamesMustNameFloat32Datasets) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("model.h5");
  ASSERT_TRUE(write_keras_h5(path, small_model()));
  const char* kernel = "model_weights/dense_1/dense_1/kernel:0";
  edit(path, [&](hid_t file) {
    ASSERT_GE(H5Ldelete(file, kernel, H5P_DEFAULT), 0);
    hsize_t dims[2] = {8, 3};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t ds = H5Dcreate2(file, kernel, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(ds, 0);
    H5Dclose(ds);
    H5Sclose(space);
  });
  EXPECT_EQ(read_keras_h5(path).error().message,
            path + ": /model_weights/dense_1/dense_1/kernel:0: expected a float32 dataset, found float64");
  edit(path, [&](hid_t file) { ASSERT_GE(H5Ldelete(file, kernel, H5P_DEFAULT), 0); });
  EXPECT_EQ(read_keras_h5(path).error().message,
            path + ": /model_weights/dense_1/dense_1/kernel:0: missing dataset (named in weight_names)");
}

// What Keras 2.x itself will see: h5py 3 must return the string attributes
// as numpy.bytes_ (fixed length), the weightless layer's weight_names as an
// iterable empty array, and the datasets as float32 with the right shapes.
constexpr const char* kH5pyCheck = R"(
import sys, numpy, h5py
f = h5py.File(sys.argv[1], 'r')
assert f.attrs['keras_version'].decode() == '2.2.4', f.attrs['keras_version']
assert f.attrs['backend'].decode() == 'tensorflow'
assert type(f.attrs['model_config']) is numpy.bytes_, type(f.attrs['model_config'])
assert f.attrs['model_config'].decode().startswith('{"class_name": "Sequential"')
assert type(f.attrs['training_config']) is numpy.bytes_
mw = f['model_weights']
names = [n.decode() for n in mw.attrs['layer_names']]
assert names == ['conv2d_1', 'activation_1', 'dense_1', 'activation_2'], names
assert mw.attrs['keras_version'].decode() == '2.2.4'
empty = mw['activation_1'].attrs['weight_names']
assert len(empty) == 0 and list(empty) == [], repr(empty)
wn = [n.decode() for n in mw['conv2d_1'].attrs['weight_names']]
assert wn == ['conv2d_1/kernel:0', 'conv2d_1/bias:0'], wn
k = f['model_weights/conv2d_1/conv2d_1/kernel:0']
assert k.shape == (3, 3, 3, 2) and k.dtype == numpy.float32, (k.shape, k.dtype)
assert k.chunks is None and k.compression is None
assert f['model_weights/dense_1/dense_1/bias:0'].shape == (3,)
ow = [n.decode() for n in f['optimizer_weights'].attrs['weight_names']]
assert ow[0] == 'training/RMSprop/Variable:0' and len(ow) == 4, ow
assert f['optimizer_weights/training/RMSprop/Variable_2:0'].shape == (8, 3)
print('h5py', h5py.__version__, 'ok')
)";

// Runs a shell command, returning its exit status and output.
std::pair<int, std::string> run(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 4096> chunk{};
  while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(KerasH5, H5pyReadsItTheWayKerasDoes) {
  const char* python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << python << " not found";
  if (auto [rc, out] = run(std::string(python) + " -c 'import h5py, numpy'"); rc != 0) {
    GTEST_SKIP() << "h5py not importable (Debian: python3-h5py): " << out;
  }
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("model.h5");
  ASSERT_TRUE(write_keras_h5(path, small_model()));
  std::string script = dir.file("check.py");
  std::ofstream(script) << kH5pyCheck;
  auto [rc, out] = run(std::string(python) + " '" + script + "' '" + path + "'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(" ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace batchai::keras
