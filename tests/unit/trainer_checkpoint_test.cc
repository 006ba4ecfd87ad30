// A checkpoint read back is the state that was saved, bit for bit, and a
// file from another network or without the trainer's state is refused.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

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
  c.state.epoch = 7;
  c.state.seed = 42;
  c.state.ranks = 4;
  c.state.shard = true;
  c.state.iterations = 7 * 1563;
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

// A checkpoint taken inside an epoch: the place, the settings that must
// match to continue there, and rank 0's running sums, all bit for bit.
TEST(TrainerCheckpoint, Version2RoundTripsStepAndSums) {
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto model = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(model);
  Checkpoint c;
  c.parameters = initial_parameters(*model, 3);
  c.accumulators.assign(c.parameters.size(), 0.25f);
  c.state.epoch = 2;
  c.state.seed = 3;
  c.state.ranks = 2;
  c.state.iterations = 2 * 32 + 17;
  c.state.step = 17;
  c.state.steps_per_epoch = 32;
  c.state.batch = 16;
  c.state.threads = 3;
  c.state.slurm_job_id = "4711";
  c.state.loss_sum = 0.1 + 0.2 + 1.0 / 3.0;  // no short decimal form
  c.state.correct = 123;
  c.state.examples = 17 * 16;
  c.state.seconds = 12.125;
  const std::string path = dir.file(checkpoint_name(3, 17));
  EXPECT_EQ(std::filesystem::path(path).filename(), "checkpoint-3-step-17.h5");
  ASSERT_TRUE(save_checkpoint(path, *model, {}, c));
  auto back = load_checkpoint(path, *model);
  ASSERT_TRUE(back) << back.error().message;
  const TrainingState& s = back->state;
  EXPECT_EQ(s.epoch, 2);
  EXPECT_EQ(s.iterations, 2 * 32 + 17);
  EXPECT_EQ(s.step, 17);
  EXPECT_EQ(s.steps_per_epoch, 32);
  EXPECT_EQ(s.batch, 16);
  EXPECT_EQ(s.threads, 3);
  EXPECT_EQ(s.slurm_job_id, "4711");
  EXPECT_EQ(s.loss_sum, c.state.loss_sum);
  EXPECT_EQ(s.correct, 123);
  EXPECT_EQ(s.examples, 17 * 16);
  EXPECT_EQ(s.seconds, 12.125);
  EXPECT_EQ(back->parameters, c.parameters);
  EXPECT_EQ(keras::read_keras_h5(path)->batchai_state_json.find("\"version\":2"), 1u);
}

// Files from before in-epoch checkpoints: an epoch's end, step 0.
TEST(TrainerCheckpoint, Version1LoadsAsStepZero) {
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto model = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(model);
  Checkpoint c;
  c.parameters = initial_parameters(*model, 1);
  c.accumulators.assign(c.parameters.size(), 0.0f);
  const std::string path = dir.file("checkpoint-4.h5");
  ASSERT_TRUE(save_checkpoint(path, *model, {}, c));
  // The same file as the version-1 trainer wrote it.
  auto f = keras::read_keras_h5(path);
  ASSERT_TRUE(f);
  f->batchai_state_json = R"({"version":1,"epoch":4,"seed":9,"ranks":2,"shard":false,"iterations":128})";
  ASSERT_TRUE(keras::write_keras_h5(path, *f));
  auto back = load_checkpoint(path, *model);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->state.epoch, 4);
  EXPECT_EQ(back->state.seed, 9u);
  EXPECT_EQ(back->state.iterations, 128);
  EXPECT_EQ(back->state.step, 0);
  EXPECT_EQ(back->state.slurm_job_id, "");
  EXPECT_EQ(back->state.loss_sum, 0.0);
}

TEST(TrainerCheckpoint, NewestOrdersMidEpochBetweenEpochs) {
  batchai::testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto touch = [&](const std::string& name) { std::ofstream(dir.file(name)) << "x"; };
  EXPECT_EQ(newest_checkpoint(dir.path().string()), "");
  touch("checkpoint-1-step-7.h5");
  EXPECT_EQ(newest_checkpoint(dir.path().string()), dir.file("checkpoint-1-step-7.h5"));
  touch("checkpoint-2.h5");
  touch("checkpoint-10.h5.tmp-99");  // a write a kill cut short
  touch("checkpoint-3-step-0.h5");   // not a name the trainer writes
  EXPECT_EQ(newest_checkpoint(dir.path().string()), dir.file("checkpoint-2.h5"));
  touch("checkpoint-3-step-40.h5");
  touch("checkpoint-3-step-9.h5");
  EXPECT_EQ(newest_checkpoint(dir.path().string()), dir.file("checkpoint-3-step-40.h5"));
  touch("checkpoint-3.h5");
  EXPECT_EQ(newest_checkpoint(dir.path().string()), dir.file("checkpoint-3.h5"));
  // Once the epoch's file is there, its step files go; the others stay.
  touch("checkpoint-33-step-1.h5");
  remove_step_checkpoints(dir.path().string(), 3);
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoint-3-step-40.h5")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoint-3-step-9.h5")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint-33-step-1.h5")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint-1-step-7.h5")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint-3.h5")));
}

}  // namespace
}  // namespace batchai::trainer
