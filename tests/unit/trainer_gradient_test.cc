// The CPU backend's gradients against finite differences, layer by layer:
// each kind of layer sits in a small network between a convolution (whose
// kernel gradient carries the layer's backward pass) and a dense softmax
// head, and every parameter's analytic gradient must match the central
// difference of the batch's mean loss. Dropout keeps its mask between the
// evaluations: it is a function of the example's key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "trainer/backend.h"
#include "trainer/model.h"
#include "trainer/narrow_gemm.h"
#include "trainer/training.h"
#include "unit/trainer_fixture.h"

namespace batchai::trainer {
namespace {

// Max over parameters of |analytic - numeric| / tolerance: below 1 passes.
double worst_gradient_error(Fixture& f, std::string* where, bool blas_only) {
  auto backend = make_cpu_backend(f.model, {f.batch.n, 1, blas_only});
  std::vector<float> params(f.model.parameter_count);
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  for (auto& p : params) p = u(gen);
  backend->set_parameters(params);
  backend->train_batch(f.batch);
  std::vector<float> analytic(params.size());
  backend->get_gradients(analytic);

  auto loss = [&](std::size_t i, float value) {
    const float saved = params[i];
    params[i] = value;
    backend->set_parameters(params);
    params[i] = saved;
    return backend->train_batch(f.batch).loss_sum / static_cast<double>(f.batch.n);
  };
  double worst = 0.0;
  std::size_t checked = 0, kinks = 0;
  for (const Layer& l : f.model.layers) {
    if (!l.has_weights()) continue;
    for (std::size_t i = l.kernel_offset; i < l.bias_offset + l.bias_size; ++i) {
      auto central = [&](float h) { return (loss(i, params[i] + h) - loss(i, params[i] - h)) / (2.0 * h); };
      // Small steps: a ReLU or a max crossing its kink within the step
      // makes the difference meaningless, and two step sizes that disagree
      // reveal it. float32 forward passes limit the steps' precision to
      // about 1e-3 here, hence the absolute part of the tolerance.
      auto tolerance = [](double v) { return 2e-3 + 0.02 * std::abs(v); };
      const double numeric = central(2e-4f);
      if (std::abs(numeric - central(1e-4f)) > tolerance(numeric)) {
        ++kinks;
        continue;
      }
      ++checked;
      const double err = std::abs(analytic[i] - numeric) / tolerance(numeric);
      if (err > worst) {
        worst = err;
        *where = l.name + " parameter " + std::to_string(i - l.kernel_offset) + ": analytic " +
                 std::to_string(analytic[i]) + ", numeric " + std::to_string(numeric);
      }
    }
  }
  EXPECT_LT(kinks * 10, checked) << kinks << " parameters near a kink, " << checked << " checked";
  return worst;
}

// Both GEMM paths: BLAS, and the AVX-512 kernel where this CPU has it.
void expect_gradients_match(const std::vector<LayerSpec>& specs, Shape input, bool augment = false) {
  Fixture f = make(specs, input, 3, augment);
  for (bool blas_only : {true, false}) {
    std::string where;
    EXPECT_LT(worst_gradient_error(f, &where, blas_only), 1.0) << (blas_only ? "BLAS: " : "default: ") << where;
  }
}

TEST(TrainerGradients, DenseAndSoftmaxCrossEntropy) {
  expect_gradients_match({flatten(), dense(5), relu(), dense(4), softmax()}, {2, 2, 3});
}

TEST(TrainerGradients, SameConvolution) {
  expect_gradients_match({conv(3, true), flatten(), dense(4), softmax()}, {5, 5, 2});
}

TEST(TrainerGradients, ValidConvolutionFeedingAnother) {
  // The second conv's input gradient reaches the first conv's kernel.
  expect_gradients_match({conv(3, true), conv(2, false), flatten(), dense(3), softmax()}, {6, 6, 2});
}

TEST(TrainerGradients, Relu) {
  expect_gradients_match({conv(3, true), relu(), conv(2, false), flatten(), dense(3), softmax()},
                         {5, 5, 2});
}

TEST(TrainerGradients, MaxPoolingWithAnOddInput) {
  // 7x7 pools to 3x3 and drops the last row and column, as Keras floors.
  expect_gradients_match({conv(3, true), pool(), flatten(), dense(3), softmax()}, {7, 7, 2});
}

TEST(TrainerGradients, Dropout) {
  expect_gradients_match({conv(4, true), drop(0.5f), flatten(), dense(3), softmax()}, {4, 4, 2});
}

TEST(TrainerGradients, TheTutorialsLayerSequenceOnASmallImage) {
  expect_gradients_match({conv(4, true), relu(), conv(4, false), relu(), pool(), drop(0.25f), flatten(),
                          dense(6), relu(), drop(0.5f), dense(3), softmax()},
                         {8, 8, 3}, true);
}

TEST(TrainerGradients, SixteenChannelConvolutionsTakeTheNarrowKernel) {
  // Widths that are multiples of 16, as the tutorial's 32 and 64 are.
  expect_gradients_match({conv(16, true), relu(), conv(16, false), flatten(), dense(3), softmax()},
                         {5, 5, 3});
}

TEST(TrainerGradients, SixteenChannelReluBeforeAPool) {
  // On the AVX-512 path each ReLU is folded into its neighbours: forward
  // into the convolution's store, backward into the pool after it. (A ReLU
  // before a convolution: SixteenChannelConvolutionsTakeTheNarrowKernel.)
  // The flatten is no pass. The first convolution's 9x9 output pools to
  // 4x4, so it computes only the 8x8 that the pool reads.
  expect_gradients_match({conv(16, true), relu(), pool(), conv(16, false), relu(), pool(), flatten(), dense(3),
                          softmax()},
                         {9, 9, 2});
}

TEST(TrainerBackends, TheAvx512PathComputesWhatBlasDoesOnTheTutorialNetwork) {
  if (!narrow_gemm_available()) GTEST_SKIP() << "this CPU has no AVX-512: only the BLAS path runs here";
  Fixture f = make(cifar10_cnn(), {32, 32, 3}, 8, true);
  std::vector<float> params = initial_parameters(f.model, 5);
  std::vector<std::vector<float>> grads;
  std::vector<double> losses;
  for (bool blas_only : {true, false}) {
    auto backend = make_cpu_backend(f.model, {8, 2, blas_only});
    backend->set_parameters(params);
    losses.push_back(backend->train_batch(f.batch).loss_sum);
    grads.emplace_back(params.size());
    backend->get_gradients(grads.back());
  }
  EXPECT_NEAR(losses[0], losses[1], 1e-4);
  // Each layer's gradient against BLAS's: |g - g_blas| / |g_blas| (2-norms).
  // Winograd rounds differently from a direct product (about 1e-6
  // relative), so a ReLU or a pool whose candidates lie that close can
  // decide the other way, and the layers before it then get a slightly
  // different gradient. Measured over initial-parameter seeds 1-8: six
  // gave 0.9-2.2e-6 in every layer; seeds 5 (this one) and 6 flipped a
  // decision after conv2d_2, moving conv2d_1's and conv2d_2's gradients by
  // 1.5-2.6e-3, and every other layer stayed at 1e-6. So one bound per
  // layer that a flip fits under, and a tight one on the median layer,
  // which an error of the path itself would break.
  std::vector<double> gaps;
  for (const Layer& l : f.model.layers) {
    if (!l.has_weights()) continue;
    double diff = 0, norm = 0;
    for (std::size_t i = l.kernel_offset; i < l.bias_offset + l.bias_size; ++i) {
      diff += std::pow(static_cast<double>(grads[1][i]) - grads[0][i], 2);
      norm += std::pow(static_cast<double>(grads[0][i]), 2);
    }
    gaps.push_back(std::sqrt(diff / norm));
    EXPECT_LT(gaps.back(), 1e-2) << l.name;
  }
  std::sort(gaps.begin(), gaps.end());
  EXPECT_LT(gaps[gaps.size() / 2], 1e-5) << "median layer";
}

TEST(TrainerOptimizer, RmspropIsKeras22sWithTheAveragingScaleFoldedIn) {
  Fixture f = make({flatten(), dense(3), softmax()}, {2, 2, 1}, 2, false);
  auto backend = make_cpu_backend(f.model, {2, 1});
  std::vector<float> p(f.model.parameter_count), a(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = 0.1f * static_cast<float>(i % 7) - 0.3f, a[i] = 0.01f * (i % 3);
  backend->set_parameters(p);
  backend->set_accumulators(a);
  backend->train_batch(f.batch);
  std::vector<float> g(p.size()), p2(p.size()), a2(p.size());
  backend->get_gradients(g);
  // A gradient summed over 2 ranks, averaged by the update's scale.
  backend->apply({0.01f, 0.9f, 1e-7f, 0.5f});
  backend->get_parameters(p2);
  backend->get_accumulators(a2);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double gi = 0.5 * g[i];
    const double ai = 0.9 * a[i] + 0.1 * gi * gi;  // rho * a + (1 - rho) * g^2
    EXPECT_NEAR(a2[i], ai, 1e-7) << i;
    EXPECT_NEAR(p2[i], p[i] - 0.01 * gi / (std::sqrt(ai) + 1e-7), 1e-6) << i;  // epsilon outside the root
  }
}

TEST(TrainerModel, TheTutorialNetworkHasKerasNamesShapesAndParameterCount) {
  auto m = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->parameter_count, 1'250'858u);
  ASSERT_EQ(m->layers.size(), 18u);
  EXPECT_EQ(m->layers[0].name, "conv2d_1");
  EXPECT_EQ(m->layers[10].name, "max_pooling2d_2");
  EXPECT_EQ(m->layers[15].name, "dropout_3");
  EXPECT_EQ(m->layers[17].name, "activation_6");
  EXPECT_EQ(m->layers[12].out.c, 2304);  // 6x6x64: the pool floors 13 to 6
  EXPECT_EQ(m->layers[13].kernel_shape, (std::vector<std::size_t>{2304, 512}));
  EXPECT_EQ(m->classes, 10);
}

TEST(TrainerModel, LayersThatCannotFollowTheirInputAreNamed) {
  auto m = build_model({conv(4, false), conv(4, false), flatten(), dense(2), softmax()}, {3, 3, 1});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "layer 2 (Conv2D conv2d_2): a 3x3 valid kernel is larger than its input");
  m = build_model({dense(2), softmax()}, {4, 4, 1});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "layer 1 (Dense dense_1): needs a flat input (add a Flatten)");
  m = build_model({flatten(), dense(2), {K::activation, 0, 0, false, Activation::linear, 0.0f}}, {2, 2, 1});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message,
            "layer 3 (Activation activation_1): activation 'linear' is not supported (relu, softmax)");
}

// The names are Keras' own: the model_config in a checkpoint carries them,
// and Keras looks each one up by name when it loads the file.
TEST(TrainerModel, ActivationsHaveKerasNamesBothWays) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::softmax}) {
    EXPECT_EQ(parse_activation(to_string(a)), a) << to_string(a);
  }
  EXPECT_STREQ(to_string(Activation::relu), "relu");
  EXPECT_STREQ(to_string(Activation::softmax), "softmax");
  EXPECT_EQ(parse_activation("tanh"), std::nullopt);
  EXPECT_EQ(parse_activation("Relu"), std::nullopt);
  auto m = build_model({flatten(), dense(2), softmax()}, {2, 2, 1});
  ASSERT_TRUE(m);
  const std::string config = m->model_config_json();
  EXPECT_NE(config.find(R"("activation":"softmax")"), std::string::npos) << config;
  EXPECT_NE(config.find(R"("activation":"linear")"), std::string::npos) << config;
}

}  // namespace
}  // namespace batchai::trainer
