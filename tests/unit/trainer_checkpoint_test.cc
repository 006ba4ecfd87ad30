// A checkpoint read back is the state that was saved, bit for bit, and a
// file from another network or without the trainer's state is refused.
#include <gtest/gtest.h>

#include "io/keras_h5.h"
#include "trainer/checkpoint.h"
#include "trainer/model.h"
#include "trainer/training.h"
#include "unit/temp_dir.h"

namespace batchai::trainer {
namespace {

TEST(TrainerCheckpoint, ReadsBackExactlyWhatWasSaved) {
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto model = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(model);
  Checkpoint c;
  c.parameters = initial_parameters(*model, 42);
  c.accumulators.resize(c.parameters.size());
  for (std::size_t i = 0; i < c.accumulators.size(); ++i) c.accumulators[i] = 1e-3f * static_cast<float>(i % 97);
  c.state = {7, 42, 4, true, 7 * 1563};
  const std::string path = dir.file("checkpoint-7.h5");
  ASSERT_TRUE(save_checkpoint(path, *model, {4e-4f, 0.9f, 1e-6f, 1e-7}, c));
  auto back = load_checkpoint(path, *model);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->parameters, c.parameters);
  EXPECT_EQ(back->accumulators, c.accumulators);
  EXPECT_EQ(back->state.epoch, 7);
  EXPECT_EQ(back->state.seed, 42u);
  EXPECT_EQ(back->state.ranks, 4);
  EXPECT_TRUE(back->state.shard);
  EXPECT_EQ(back->state.iterations, 7 * 1563);
  EXPECT_EQ(newest_checkpoint(dir.path().string()), path);
}

TEST(TrainerCheckpoint, AnotherNetworksFileIsRefused) {
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto small = build_model({{LayerKind::flatten, 0, 0, false, Activation::linear, 0.0f},
                            {LayerKind::dense, 10, 0, false, Activation::linear, 0.0f},
                            {LayerKind::activation, 0, 0, false, Activation::softmax, 0.0f}},
                           {32, 32, 3});
  auto tutorial = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(small && tutorial);
  Checkpoint c;
  c.parameters.assign(small->parameter_count, 0.5f);
  c.accumulators.assign(small->parameter_count, 0.0f);
  const std::string path = dir.file("checkpoint-1.h5");
  ASSERT_TRUE(save_checkpoint(path, *small, {}, c));
  EXPECT_EQ(load_checkpoint(path, *tutorial).error().message, path + ": its model_config is not this trainer's network");
}

}  // namespace
}  // namespace batchai::trainer
