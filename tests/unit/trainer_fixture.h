// Small networks and batches for the trainer's backend tests: a few
// random uint8 images with labels, keys and sub-pixel shifts, and the
// layer specs written as Keras would list them.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "trainer/backend.h"
#include "trainer/model.h"

namespace batchai::trainer {
namespace {

using K = LayerKind;

inline LayerSpec conv(int filters, bool same) { return {K::conv2d, filters, 3, same, Activation::linear, 0.0f}; }
inline LayerSpec relu() { return {K::activation, 0, 0, false, Activation::relu, 0.0f}; }
inline LayerSpec softmax() { return {K::activation, 0, 0, false, Activation::softmax, 0.0f}; }
inline LayerSpec pool() { return {K::max_pooling2d, 0, 0, false, Activation::linear, 0.0f}; }
inline LayerSpec drop(float rate) { return {K::dropout, 0, 0, false, Activation::linear, rate}; }
inline LayerSpec flatten() { return {K::flatten, 0, 0, false, Activation::linear, 0.0f}; }
inline LayerSpec dense(int units) { return {K::dense, units, 0, false, Activation::linear, 0.0f}; }

struct Fixture {
  Model model;
  std::vector<std::uint8_t> images, labels;
  std::vector<std::uint32_t> index;
  std::vector<std::uint64_t> keys;
  std::vector<Augmentation> shifts;
  Batch batch;
};

inline Fixture make(const std::vector<LayerSpec>& specs, Shape input, std::size_t n, bool augment) {
  Fixture f;
  auto m = build_model(specs, input);
  EXPECT_TRUE(m) << m.error().message;
  f.model = *m;
  std::mt19937 gen(7);
  f.images.resize(n * input.size());
  for (auto& v : f.images) v = static_cast<std::uint8_t>(gen() % 256);
  for (std::size_t e = 0; e < n; ++e) {
    f.labels.push_back(static_cast<std::uint8_t>(gen() % f.model.classes));
    f.index.push_back(static_cast<std::uint32_t>(e));
    f.keys.push_back(1000 + e);
    f.shifts.push_back({0.37f * static_cast<float>(e) - 0.5f, 1.3f - 0.9f * static_cast<float>(e), e % 2 == 1});
  }
  f.batch = {f.images.data(), f.labels.data(), f.index.data(), augment ? f.shifts.data() : nullptr, f.keys.data(), n};
  return f;
}

}  // namespace
}  // namespace batchai::trainer
