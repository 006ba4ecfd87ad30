// The CPU backend, and the reference the CUDA backend is checked against.
//
// Activations are NHWC with the batch folded into the rows, so a 3x3
// convolution is one GEMM per layer: the im2col matrix (rows: batch x
// output pixels; columns: ky, kx, input channel) times the Keras kernel
// (kh*kw*in, out), used as stored, gives the NHWC output directly. GEMMs go
// to OpenBLAS; the loops around them are OpenMP over the batch. Every
// buffer is sized for the largest batch when the backend is made, so a
// step allocates nothing.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "trainer/backend.h"
#include "trainer/narrow_gemm.h"
#include "trainer/schedule.h"
#include "trainer/vector_passes.h"
#include "trainer/winograd.h"

extern "C" {
// OpenBLAS' own; not in every cblas.h.
void openblas_set_num_threads(int);
char* openblas_get_config(void);
}

namespace batchai::trainer {
namespace {

using Floats = std::vector<float>;

// GEMMs split over the OpenMP threads by hand, each part a single-threaded
// OpenBLAS call: OpenBLAS' own threads spin between calls and fight the
// OpenMP threads of the loops around them for the same few cores.
std::pair<int, int> share(int total) {
  const int parts = omp_get_num_threads(), me = omp_get_thread_num();
  const int each = (total + parts - 1) / parts;
  return {std::min(total, me * each), std::min(total, (me + 1) * each)};
}

// C (M x N) = A (M x K) * B (K x N) + beta * C, rows split.
void gemm_rows(int m, int n, int k, const float* a, const float* b, float beta, float* c) {
#pragma omp parallel
  {
    const auto [lo, hi] = share(m);
    if (hi > lo) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, n, k, 1.0f, a + static_cast<std::size_t>(lo) * k,
                  k, b, n, beta, c + static_cast<std::size_t>(lo) * n, n);
    }
  }
}

// C (M x K) = A (M x N) * B^T, B being K x N: rows split.
void gemm_rows_bt(int m, int k, int n, const float* a, const float* b, float* c) {
#pragma omp parallel
  {
    const auto [lo, hi] = share(m);
    if (hi > lo) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hi - lo, k, n, 1.0f, a + static_cast<std::size_t>(lo) * n,
                  n, b, n, 0.0f, c + static_cast<std::size_t>(lo) * k, k);
    }
  }
}

// C (K x N) = A^T * B, A being M x K and B M x N: the rows of C (columns
// of A) split, so no thread's part needs adding to another's.
void gemm_at_b(int k, int n, int m, const float* a, const float* b, float* c) {
#pragma omp parallel
  {
    const auto [lo, hi] = share(k);
    if (hi > lo) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hi - lo, n, m, 1.0f, a + lo, k, b, n, 0.0f,
                  c + static_cast<std::size_t>(lo) * n, n);
    }
  }
}

// The same three products through the AVX-512 kernel, rows split over the
// threads.
void narrow(const NarrowGemm& g) {
#pragma omp parallel
  {
    const auto [lo, hi] = share(g.rows);
    if (hi > lo) narrow_gemm(g, lo, hi);
  }
}

// The loops around the GEMMs. (Compiled for AVX-512 as well, with
// target_clones, they ran no faster in an A/B run: memory, not arithmetic,
// bounds them.)

// One image's im2col rows: for each output pixel, the k x k x ci input
// patch, zeros where it hangs over the edge.

void im2col_image(const PatchGeometry& g, const float* image, float* col) {
  const std::size_t kk = static_cast<std::size_t>(g.k) * g.k * g.ci;
  for (int oy = 0; oy < g.ho; ++oy) {
    for (int ox = 0; ox < g.wo; ++ox) {
      float* row = col + (static_cast<std::size_t>(oy) * g.wo + ox) * kk;
      for (int ky = 0; ky < g.k; ++ky) {
        const int iy = oy + ky - g.pad;
        for (int kx = 0; kx < g.k; ++kx) {
          const int ix = ox + kx - g.pad;
          float* dst = row + (ky * g.k + kx) * g.ci;
          // std::fill and std::copy, not loops: at -O2 GCC leaves a loop
          // of unknown length scalar, and these were a tenth of a step.
          if (iy < 0 || iy >= g.hi || ix < 0 || ix >= g.wi) {
            std::fill(dst, dst + g.ci, 0.0f);
          } else {
            const float* src = image + (static_cast<std::size_t>(iy) * g.wi + ix) * g.ci;
            std::copy(src, src + g.ci, dst);
          }
        }
      }
    }
  }
}

// The reverse: each row's patch gradient added back where it came from.
void col2im_image(const PatchGeometry& g, const float* dcol, float* image) {
  const std::size_t kk = static_cast<std::size_t>(g.k) * g.k * g.ci;
  std::fill(image, image + static_cast<std::size_t>(g.hi) * g.wi * g.ci, 0.0f);
  for (int oy = 0; oy < g.ho; ++oy) {
    for (int ox = 0; ox < g.wo; ++ox) {
      const float* row = dcol + (static_cast<std::size_t>(oy) * g.wo + ox) * kk;
      for (int ky = 0; ky < g.k; ++ky) {
        const int iy = oy + ky - g.pad;
        if (iy < 0 || iy >= g.hi) continue;
        for (int kx = 0; kx < g.k; ++kx) {
          const int ix = ox + kx - g.pad;
          if (ix < 0 || ix >= g.wi) continue;
          float* to = image + (static_cast<std::size_t>(iy) * g.wi + ix) * g.ci;
          const float* from = row + (ky * g.k + kx) * g.ci;
          for (int c = 0; c < g.ci; ++c) to[c] += from[c];
        }
      }
    }
  }
}

void column_sums(const float* dy, std::size_t rows, std::size_t m, float* sums) {
  std::fill(sums, sums + m, 0.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = dy + r * m;
    for (std::size_t j = 0; j < m; ++j) sums[j] += row[j];
  }
}

// Column sums split over the threads by rows, the partial sums added in
// thread order: the same bits for the same thread count, as the rest of a
// step. Called inside a parallel region; `partial` holds a row of m per
// thread.
void column_sums_parallel(const float* dy, std::size_t rows, std::size_t m, float* partial, float* sums) {
  const auto [lo, hi] = share(static_cast<int>(rows));
  const int me = omp_get_thread_num(), parts = omp_get_num_threads();
  float* mine = partial + static_cast<std::size_t>(me) * m;
  std::fill(mine, mine + m, 0.0f);
  for (std::size_t r = static_cast<std::size_t>(lo); r < static_cast<std::size_t>(hi); ++r) {
    const float* row = dy + r * m;
    for (std::size_t j = 0; j < m; ++j) mine[j] += row[j];
  }
#pragma omp barrier
#pragma omp single
  {
    std::copy(partial, partial + m, sums);
    for (int t = 1; t < parts; ++t) {
      for (std::size_t j = 0; j < m; ++j) sums[j] += partial[static_cast<std::size_t>(t) * m + j];
    }
  }
}

// Per layer, what backward needs from forward.
struct LayerState {
  Floats out;                        // the layer's output, batch x out.size(), unless it is another's
  float* y = nullptr;                // where the output is: out, or a convolution's that did this ReLU
  bool relu_in_store = false;        // conv2d: its GEMM's store adds the bias and applies the next ReLU
  bool relu_done_forward = false;    // activation: the convolution before it applied it
  bool relu_done_backward = false;   // activation: the layer after it applied ReLU' to its input gradient
  bool flatten_aliased = false;      // flatten: its output is its input, and so are their gradients
  int h = 0, w = 0;                  // the output's rows and columns as stored (see plan_fusions)
  bool winograd = false;             // conv2d: Winograd F(4,3), not im2col and a GEMM
  int crop_h = 0, crop_w = 0;        // conv2d on Winograd: the outputs computed, as h and w above
  Floats col;                        // conv2d: the im2col matrix
  std::vector<std::uint8_t> argmax;  // max_pooling2d: which of the 4 inputs won
  Floats mask;                       // dropout: 0 or 1/(1-rate) per element
};

class CpuBackend final : public Backend {
 public:
  CpuBackend(const Model& model, const BackendOptions& options)
      : model_(model),
        max_batch_(options.max_batch),
        threads_(options.threads > 0 ? options.threads : omp_get_max_threads()),
        narrow_(!options.blas_only && narrow_gemm_available()) {
    omp_set_num_threads(threads_);
    openblas_set_num_threads(1);
    params_.assign(model_.parameter_count, 0.0f);
    grads_.assign(model_.parameter_count, 0.0f);
    accum_.assign(model_.parameter_count, 0.0f);
    input_.assign(max_batch_ * model_.input.size(), 0.0f);
    state_.resize(model_.layers.size());
    if (narrow_) plan_fusions();
    std::size_t largest = model_.input.size(), largest_col = 0, largest_workspace = 0;
    const int per_thread = static_cast<int>((max_batch_ + threads_ - 1) / threads_);
    for (std::size_t i = 0; i < model_.layers.size(); ++i) {
      const Layer& l = model_.layers[i];
      if (state_[i].h == 0) state_[i].h = l.out.h, state_[i].w = l.out.w;
      if (!state_[i].relu_done_forward && !state_[i].flatten_aliased) {
        state_[i].out.assign(max_batch_ * l.out.size(), 0.0f);
        state_[i].y = state_[i].out.data();
      } else {
        state_[i].y = state_[i - 1].y;  // an alias: the layers before come first
      }
      largest = std::max(largest, l.out.size());
      if (l.spec.kind == LayerKind::conv2d && state_[i].winograd) {
        const WinogradConv c = winograd_conv(l, state_[i], per_thread);
        largest_workspace = std::max(largest_workspace, winograd_workspace_floats(c));
      } else if (l.spec.kind == LayerKind::conv2d) {
        const std::size_t col = max_batch_ * l.out.h * l.out.w * l.kernel_shape[0] * l.kernel_shape[1] * l.in.c;
        state_[i].col.assign(col, 0.0f);
        largest_col = std::max(largest_col, col);
      }
      if (l.spec.kind == LayerKind::max_pooling2d) state_[i].argmax.assign(max_batch_ * l.out.size(), 0);
      if (l.spec.kind == LayerKind::dropout) state_[i].mask.assign(max_batch_ * l.out.size(), 1.0f);
    }
    for (auto& g : delta_) g.assign(max_batch_ * largest, 0.0f);
    std::size_t largest_kernel = 0;
    for (const Layer& l : model_.layers) {
      if (l.spec.kind == LayerKind::conv2d) largest_kernel = std::max(largest_kernel, l.kernel_size);
    }
    transposed_.assign(largest_kernel, 0.0f);
    dcol_.assign(largest_col, 0.0f);
    partial_sums_.assign(static_cast<std::size_t>(threads_) * std::max(largest, largest_kernel), 0.0f);
    workspaces_.assign(threads_, Floats(largest_workspace));
  }

  // A Winograd layer's shape for `n` images.
  static WinogradConv winograd_conv(const Layer& l, const LayerState& st, int n) {
    WinogradConv c;
    c.n = n;
    c.h = l.in.h, c.w = l.in.w, c.ci = l.in.c, c.co = l.out.c;
    c.kh = static_cast<int>(l.kernel_shape[0]), c.kw = static_cast<int>(l.kernel_shape[1]);
    c.pad = l.spec.same ? c.kh / 2 : 0;
    c.rows = st.crop_h, c.cols = st.crop_w;
    c.tile = WinogradTile::f4x3;
    return c;
  }

  // The AVX-512 path folds element-wise passes into their neighbours,
  // where each would otherwise read and write a whole activation again: a
  // ReLU into the store of the convolution before it; its derivative into
  // the backward pass of the layer after it (a pool routes the gradient to
  // its maximum, where the ReLU's output is the pool's; a convolution's
  // input is the ReLU's output); a flatten becomes no pass at all. Each
  // gives the same bits as the separate pass. The BLAS path keeps one pass
  // per layer: it is the reference.
  void plan_fusions() {
    const auto& layers = model_.layers;
    auto is_relu = [&](std::size_t i) {
      return i < layers.size() && layers[i].spec.kind == LayerKind::activation &&
             layers[i].spec.activation == Activation::relu;
    };
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const Layer& l = layers[i];
      if (l.spec.kind == LayerKind::conv2d && l.out.c % 16 == 0 && is_relu(i + 1)) {
        state_[i].relu_in_store = true;
        state_[i + 1].relu_done_forward = true;
      }
      if (is_relu(i) && i + 1 < layers.size()) {
        const Layer& next = layers[i + 1];
        state_[i].relu_done_backward = next.spec.kind == LayerKind::max_pooling2d ||
                                       (next.spec.kind == LayerKind::conv2d && into_image(next));
      }
      // A 2x2 pool floors an odd side: the convolution's last row or
      // column (conv2d_4's 13th) is never read, and its gradient is zero.
      // With the ReLU between them folded away, nothing else sees that
      // output, so the convolution computes and stores only the even part
      // (12 x 12 of 13 x 13: 15% of the layer's work), which the pool reads.
      if (state_[i].relu_in_store && i + 2 < layers.size() &&
          layers[i + 2].spec.kind == LayerKind::max_pooling2d) {
        const int h = l.out.h & ~1, w = l.out.w & ~1;
        state_[i].h = state_[i + 1].h = h;
        state_[i].w = state_[i + 1].w = w;
      }
      // Winograd F(4,3) where the channels fill AVX-512 vectors (all but
      // conv2d_1, whose 3 input channels would make its GEMMs too shallow):
      // 36 multiplies per 16 outputs where the direct product takes 144,
      // for transforms that cost far less. Its error is within float32
      // training's (trainer_winograd_test). It keeps the stored layout
      // whole and computes only the crop.
      if (l.spec.kind == LayerKind::conv2d && l.in.c % 16 == 0 && l.out.c % 16 == 0) {
        LayerState& st = state_[i];
        st.crop_h = st.h, st.crop_w = st.w;
        WinogradConv c = winograd_conv(l, st, 1);
        if (winograd_check(c)) {
          st.winograd = true;
          if (st.relu_in_store) state_[i + 1].h = 0, state_[i + 1].w = 0;
          st.h = st.w = 0;  // filled in whole by the constructor
        } else {
          st.crop_h = st.crop_w = 0;
        }
      }
      if (l.spec.kind == LayerKind::flatten && i > 0) state_[i].flatten_aliased = true;
    }
  }

  // Whether a convolution's input gradient goes straight into the image
  // (else through the im2col-shaped dcol_ and col2im).
  bool into_image(const Layer& l) const { return narrow_ && l.in.c % 16 == 0; }

  std::string describe() const override {
    return "cpu (" + std::to_string(threads_) + " thread" + (threads_ == 1 ? "" : "s") + ", " +
           (narrow_ ? "AVX-512 convolution GEMMs, " : "") + openblas_get_config() + ")";
  }
  std::size_t max_batch() const override { return max_batch_; }

  void set_parameters(std::span<const float> v) override { std::copy(v.begin(), v.end(), params_.begin()); }
  void get_parameters(std::span<float> out) const override { std::copy(params_.begin(), params_.end(), out.begin()); }
  void set_accumulators(std::span<const float> v) override { std::copy(v.begin(), v.end(), accum_.begin()); }
  void get_accumulators(std::span<float> out) const override {
    std::copy(accum_.begin(), accum_.end(), out.begin());
  }
  void get_gradients(std::span<float> out) const override { std::copy(grads_.begin(), grads_.end(), out.begin()); }

  BatchStats train_batch(const Batch& batch) override {
    load_input(batch);
    forward(batch, true);
    const BatchStats stats = loss_and_logit_gradient(batch);
    backward(batch.n);
    return stats;
  }

  void reduce_gradients(Reducer& reducer) override { reducer.sum(grads_); }

  void apply(const RmspropStep& s) override {
#pragma omp parallel
    {
      const auto [lo, hi] = share(static_cast<int>(params_.size()));
      auto update = narrow_ ? rmsprop_avx512 : rmsprop_scalar;
      if (hi > lo) update(params_.data() + lo, accum_.data() + lo, grads_.data() + lo, hi - lo, s);
    }
  }

  BatchStats evaluate(const Batch& batch) override {
    Batch plain = batch;
    plain.augment = nullptr;
    load_input(plain);
    forward(plain, false);
    return score(batch);
  }

 private:
  // uint8 images to float [0, 1], with the shift and flip when given.
  void load_input(const Batch& b) {
    const Shape s = model_.input;
    const std::size_t size = s.size();
#pragma omp parallel for schedule(static)
    for (std::size_t e = 0; e < b.n; ++e) {
      const std::uint8_t* src = b.images + static_cast<std::size_t>(b.index[e]) * size;
      float* dst = input_.data() + e * size;
      if (!b.augment) {
        for (std::size_t i = 0; i < size; ++i) dst[i] = src[i] * (1.0f / 255.0f);
        continue;
      }
      augment(src, dst, s, b.augment[e]);
    }
  }

  // Bilinear sampling of a translated image, coordinates clamped to the
  // edge (scipy's mode='nearest'). A pure shift has the same weights on
  // every row and every column, so they are worked out once per image.
  static void augment(const std::uint8_t* src, float* dst, const Shape& s, const Augmentation& a) {
    constexpr int kMax = 256;
    int r0[kMax], r1[kMax], c0[kMax], c1[kMax];
    float fr[kMax], fc[kMax];
    auto weights = [](int n, float shift, int* i0, int* i1, float* f) {
      for (int i = 0; i < n; ++i) {
        const float x = static_cast<float>(i) + shift;
        const float fl = std::floor(x);
        f[i] = x - fl;
        const int lo = static_cast<int>(fl);
        i0[i] = std::clamp(lo, 0, n - 1);
        i1[i] = std::clamp(lo + 1, 0, n - 1);
      }
    };
    weights(s.h, a.dy, r0, r1, fr);
    weights(s.w, a.dx, c0, c1, fc);
    const int c = s.c;
    for (int r = 0; r < s.h; ++r) {
      const std::uint8_t* top0 = src + static_cast<std::size_t>(r0[r]) * s.w * c;
      const std::uint8_t* top1 = src + static_cast<std::size_t>(r1[r]) * s.w * c;
      for (int col = 0; col < s.w; ++col) {
        const int from = a.flip ? s.w - 1 - col : col;  // flipped after the shift
        float* out = dst + (static_cast<std::size_t>(r) * s.w + col) * c;
        for (int ch = 0; ch < c; ++ch) {
          const float p00 = top0[c0[from] * c + ch], p01 = top0[c1[from] * c + ch];
          const float p10 = top1[c0[from] * c + ch], p11 = top1[c1[from] * c + ch];
          const float upper = p00 + (p01 - p00) * fc[from];
          const float lower = p10 + (p11 - p10) * fc[from];
          out[ch] = (upper + (lower - upper) * fr[r]) * (1.0f / 255.0f);
        }
      }
    }
  }

  const float* input_of(std::size_t i) const { return i == 0 ? input_.data() : state_[i - 1].y; }
  // The rows and columns of layer i's input as stored.
  std::pair<int, int> stored_input(std::size_t i) const {
    return i == 0 ? std::pair{model_.input.h, model_.input.w} : std::pair{state_[i - 1].h, state_[i - 1].w};
  }

  void forward(const Batch& b, bool training) {
    const std::size_t n = b.n;
    for (std::size_t i = 0; i < model_.layers.size(); ++i) {
      const Layer& l = model_.layers[i];
      LayerState& st = state_[i];
      const float* in = input_of(i);
      float* out = st.y;
      const std::size_t in_size = l.in.size(), out_size = l.out.size();
      switch (l.spec.kind) {
        case LayerKind::conv2d: conv_forward(l, st, in, n); break;
        case LayerKind::dense: {
          const int k = static_cast<int>(in_size), m = static_cast<int>(out_size);
          const float* bias = params_.data() + l.bias_offset;
          for (std::size_t e = 0; e < n; ++e) std::copy(bias, bias + m, out + e * m);
          gemm_rows(static_cast<int>(n), m, k, in, params_.data() + l.kernel_offset, 1.0f, out);
          break;
        }
        case LayerKind::activation:
          if (st.relu_done_forward) break;
          if (l.spec.activation == Activation::relu) {
            const std::size_t total = n * out_size;
#pragma omp parallel for simd schedule(static)
            // Negatives to 0; NaN passes, as in PyTorch and TensorFlow, so
            // that weights gone to infinity reach the loss, where training
            // stops (Winograd's transforms make inf - inf = NaN of them).
            for (std::size_t j = 0; j < total; ++j) out[j] = in[j] < 0.0f ? 0.0f : in[j];
          } else {
            softmax(in, out, n, out_size);
          }
          break;
        case LayerKind::max_pooling2d: pool_forward(l, st, stored_input(i), in, n); break;
        case LayerKind::dropout: {
          if (!training || l.spec.rate == 0.0f) {
            std::copy(in, in + n * out_size, out);
            std::fill(st.mask.begin(), st.mask.begin() + n * out_size, 1.0f);
            break;
          }
          // Inverted dropout: kept units scaled by 1/(1-rate), as TF does.
          const float keep_scale = 1.0f / (1.0f - l.spec.rate);
          const float rate = l.spec.rate;
#pragma omp parallel for schedule(static)
          for (std::size_t e = 0; e < n; ++e) {
            const std::uint64_t base = dropout_base(b.example_key[e], i);
            float* mask = st.mask.data() + e * out_size;
            for (std::size_t j = 0; j < out_size; ++j) {
              mask[j] = dropout_factor(base, j, rate, keep_scale);
              out[e * out_size + j] = in[e * out_size + j] * mask[j];
            }
          }
          break;
        }
        case LayerKind::flatten:
          if (!st.flatten_aliased) std::copy(in, in + n * in_size, out);
          break;
      }
    }
  }

  static void softmax(const float* in, float* out, std::size_t n, std::size_t k) {
    for (std::size_t e = 0; e < n; ++e) {
      const float* x = in + e * k;
      float* p = out + e * k;
      const float top = *std::max_element(x, x + k);
      float sum = 0.0f;
      for (std::size_t j = 0; j < k; ++j) sum += p[j] = std::exp(x[j] - top);
      for (std::size_t j = 0; j < k; ++j) p[j] /= sum;
    }
  }

  void conv_forward(const Layer& l, LayerState& st, const float* in, std::size_t n) {
    if (st.winograd) return winograd_forward_pass(l, st, in, n);
    const int k = static_cast<int>(l.kernel_shape[0]);
    const int pad = l.spec.same ? k / 2 : 0;
    const int ci = l.in.c, co = l.out.c, hi = l.in.h, wi = l.in.w, ho = st.h, wo = st.w;
    const std::size_t kk = static_cast<std::size_t>(k) * k * ci;
    float* col = st.col.data();
    const PatchGeometry geometry{k, pad, ci, hi, wi, ho, wo};
#pragma omp parallel for schedule(static)
    for (std::size_t e = 0; e < n; ++e) {
      im2col_image(geometry, in + e * l.in.size(), col + e * ho * wo * kk);
    }
    const int rows = static_cast<int>(n) * ho * wo;
    float* out = st.y;
    const float* bias = params_.data() + l.bias_offset;
    if (!(narrow_ && co % 16 == 0)) {
#pragma omp parallel for schedule(static)
      for (int r = 0; r < rows; ++r) std::copy(bias, bias + co, out + static_cast<std::size_t>(r) * co);
    }
    if (narrow_ && co % 16 == 0) {
      // The bias (and the ReLU after it) in the GEMM's store: the sum is
      // the same, rounded the same, as a pass of its own would give.
      NarrowGemm g{rows, co, static_cast<int>(kk), col, static_cast<std::ptrdiff_t>(kk), 1,
                   params_.data() + l.kernel_offset, co, out, co};
      g.bias = bias;
      g.relu = st.relu_in_store;
      narrow(g);
    } else {
      gemm_rows(rows, co, static_cast<int>(kk), col, params_.data() + l.kernel_offset, 1.0f, out);
    }
  }

  // The input is stored `in_hw` high and wide (a convolution may have left
  // out the row and column this pool floors away).
  void pool_forward(const Layer& l, LayerState& st, std::pair<int, int> in_hw, const float* in, std::size_t n) {
    const int c = l.in.c, wi = in_hw.second, ho = l.out.h, wo = l.out.w;
    const std::size_t in_image = static_cast<std::size_t>(in_hw.first) * in_hw.second * c;
    float* out = st.y;
#pragma omp parallel for schedule(static)
    for (std::size_t e = 0; e < n; ++e) {
      for (int oy = 0; oy < ho; ++oy) {
        for (int ox = 0; ox < wo; ++ox) {
          const std::size_t o = ((e * ho + oy) * wo + ox) * c;
          const float* p00 = in + e * in_image + ((2 * oy) * static_cast<std::size_t>(wi) + 2 * ox) * c;
          const float* corners[4] = {p00, p00 + c, p00 + static_cast<std::size_t>(wi) * c,
                                     p00 + static_cast<std::size_t>(wi) * c + c};
          for (int ch = 0; ch < c; ++ch) {
            // The first maximum wins a tie, in row-major order.
            std::uint8_t best = 0;
            float v = corners[0][ch];
            for (std::uint8_t q = 1; q < 4; ++q) {
              if (corners[q][ch] > v) v = corners[q][ch], best = q;
            }
            out[o + ch] = v;
            st.argmax[o + ch] = best;
          }
        }
      }
    }
  }

  BatchStats score(const Batch& b) const {
    BatchStats s;
    const float* p = state_.back().y;
    const std::size_t k = static_cast<std::size_t>(model_.classes);
    for (std::size_t e = 0; e < b.n; ++e) {
      const float* pe = p + e * k;
      const std::uint8_t y = b.labels[b.index[e]];
      // Keras clips probabilities to [1e-7, 1 - 1e-7] before the log.
      s.loss_sum -= std::log(std::clamp(static_cast<double>(pe[y]), 1e-7, 1.0 - 1e-7));
      if (static_cast<std::size_t>(std::max_element(pe, pe + k) - pe) == y) ++s.correct;
    }
    return s;
  }

  // Softmax and cross-entropy together: d(mean loss)/d(logits) = (p - y)/n.
  BatchStats loss_and_logit_gradient(const Batch& b) {
    const BatchStats s = score(b);
    const std::size_t k = static_cast<std::size_t>(model_.classes);
    const float* p = state_.back().y;
    float* d = delta_[0].data();
    const float inv = 1.0f / static_cast<float>(b.n);
    for (std::size_t e = 0; e < b.n; ++e) {
      const std::uint8_t y = b.labels[b.index[e]];
      for (std::size_t j = 0; j < k; ++j) d[e * k + j] = (p[e * k + j] - (j == y ? 1.0f : 0.0f)) * inv;
    }
    return s;
  }

  // From the logits' gradient back to the first layer's weights; delta_
  // ping-pongs between the gradient of a layer's output and its input's.
  void backward(std::size_t n) {
    int cur = 0;
    const std::size_t last = model_.layers.size() - 1;  // the softmax, already folded in
    for (std::size_t i = last; i-- > 0;) {
      const Layer& l = model_.layers[i];
      LayerState& st = state_[i];
      // Done by the layer after it (plan_fusions): the gradient stays where it is.
      if (st.relu_done_backward || st.flatten_aliased) continue;
      const bool relu_before = i > 0 && state_[i - 1].relu_done_backward;
      const float* dy = delta_[cur].data();
      float* dx = delta_[1 - cur].data();
      const float* in = input_of(i);
      const std::size_t in_size = l.in.size(), out_size = l.out.size();
      const bool need_dx = i > 0;
      switch (l.spec.kind) {
        case LayerKind::conv2d: conv_backward(l, st, in, dy, need_dx ? dx : nullptr, n, relu_before); break;
        case LayerKind::dense: {
          const int k = static_cast<int>(in_size), m = static_cast<int>(out_size), rows = static_cast<int>(n);
          if (narrow_ && m % 16 == 0) {
            // in^T (k x batch) times dY: the batch is the short depth.
            narrow({k, m, rows, in, 1, k, dy, m, grads_.data() + l.kernel_offset, m});
          } else {
            gemm_at_b(k, m, rows, in, dy, grads_.data() + l.kernel_offset);
          }
          bias_gradient(dy, n, static_cast<std::size_t>(m), grads_.data() + l.bias_offset);
          if (need_dx) {
            gemm_rows_bt(rows, k, m, dy, params_.data() + l.kernel_offset, dx);
          }
          break;
        }
        case LayerKind::activation: {  // relu; the softmax is never reached here
          const float* y = st.y;
          const std::size_t total = n * out_size;
#pragma omp parallel for simd schedule(static)
          for (std::size_t j = 0; j < total; ++j) dx[j] = y[j] > 0.0f ? dy[j] : 0.0f;
          break;
        }
        case LayerKind::max_pooling2d: pool_backward(l, st, stored_input(i), dy, dx, n, relu_before); break;
        case LayerKind::dropout: {
          const float* mask = st.mask.data();
          const std::size_t total = n * out_size;
#pragma omp parallel for simd schedule(static)
          for (std::size_t j = 0; j < total; ++j) dx[j] = dy[j] * mask[j];
          break;
        }
        case LayerKind::flatten: std::copy(dy, dy + n * in_size, dx); break;
      }
      cur = 1 - cur;
    }
  }

  static void bias_gradient(const float* dy, std::size_t rows, std::size_t m, float* db) {
    column_sums(dy, rows, m, db);
  }

  // With `relu_before`, the ReLU whose output `in` is gets its derivative
  // applied here, to each image's gradient while it is still in cache.
  void conv_backward(const Layer& l, LayerState& st, const float* in, const float* dy, float* dx, std::size_t n,
                     bool relu_before) {
    const int k = static_cast<int>(l.kernel_shape[0]);
    const int pad = l.spec.same ? k / 2 : 0;
    const int ci = l.in.c, co = l.out.c, hi = l.in.h, wi = l.in.w, ho = st.h, wo = st.w;
    const int kk = k * k * ci;
    const int rows = static_cast<int>(n) * ho * wo;
    const float* w = params_.data() + l.kernel_offset;
    if (st.winograd) return winograd_backward_pass(l, st, in, dy, dx, n, relu_before);
    if (narrow_ && co % 16 == 0) {
      narrow({kk, co, rows, st.col.data(), 1, kk, dy, co, grads_.data() + l.kernel_offset, co});
    } else {
      gemm_at_b(kk, co, rows, st.col.data(), dy, grads_.data() + l.kernel_offset);
    }
    if (narrow_) {
#pragma omp parallel
      column_sums_parallel(dy, static_cast<std::size_t>(rows), static_cast<std::size_t>(co), partial_sums_.data(),
                           grads_.data() + l.bias_offset);
    } else {
      bias_gradient(dy, static_cast<std::size_t>(rows), static_cast<std::size_t>(co), grads_.data() + l.bias_offset);
    }
    if (!dx) return;
    if (into_image(l)) {
      // dY (rows x co) times the kernel transposed (made once per step),
      // each row's patch gradient added straight into the image gradient:
      // no im2col-shaped intermediate to write and read back. Threads take
      // whole images, whose rows add into the same pixels.
      const float* wt = transpose_kernel(w, kk, co);
      const NarrowGemm g{rows, kk, co, dy, co, 1, wt, kk, nullptr, 0};
      const PatchGeometry patch{k, pad, ci, hi, wi, ho, wo};
#pragma omp parallel
      {
        const auto [e0, e1] = share(static_cast<int>(n));
        const std::size_t size = l.in.size();
        for (int e = e0; e < e1; ++e) {
          float* image = dx + e * size;
          std::fill(image, image + size, 0.0f);
          narrow_gemm_into_image(g, patch, dx, e * ho * wo, (e + 1) * ho * wo);
          if (relu_before) {
            relu_backward_in_place_avx512(image, in + e * size, size);
          }
        }
      }
      return;
    }
    float* dcol = dcol_.data();
    if (narrow_ && kk % 16 == 0) {
      const float* wt = transpose_kernel(w, kk, co);
      narrow({rows, kk, co, dy, co, 1, wt, kk, dcol, kk});
    } else {
      gemm_rows_bt(rows, kk, co, dy, w, dcol);
    }
    // col2im: each image's rows add into that image only, so images run in parallel.
    const PatchGeometry geometry{k, pad, ci, hi, wi, ho, wo};
#pragma omp parallel for schedule(static)
    for (std::size_t e = 0; e < n; ++e) {
      col2im_image(geometry, dcol + e * ho * wo * static_cast<std::size_t>(kk), dx + e * l.in.size());
    }
  }

  // Threads take whole images, each with its own workspace. The shapes and
  // buffer sizes were checked when the backend was made, so the calls
  // cannot fail here.
  void winograd_forward_pass(const Layer& l, LayerState& st, const float* in, std::size_t n) {
    const std::size_t in_image = l.in.size(), out_image = static_cast<std::size_t>(st.h) * st.w * l.out.c;
    const float* w = params_.data() + l.kernel_offset;
    const float* bias = params_.data() + l.bias_offset;
#pragma omp parallel
    {
      const auto [e0, e1] = share(static_cast<int>(n));
      if (e1 > e0) {
        const std::size_t images = static_cast<std::size_t>(e1 - e0);
        const WinogradConv c = winograd_conv(l, st, e1 - e0);
        const Status done =
            winograd_forward(c, {in + e0 * in_image, images * in_image}, {w, l.kernel_size},
                             {st.y + e0 * out_image, images * out_image}, workspaces_[omp_get_thread_num()]);
        (void)done;
        bias_relu_rows_avx512(st.y + e0 * out_image, bias, images * st.h * st.w, l.out.c, st.relu_in_store);
      }
    }
  }

  // The kernel gradient as per-thread partial sums over their images,
  // added in thread order (the same bits for the same threads); the input
  // gradient per image, with the ReLU before it as conv_backward does.
  void winograd_backward_pass(const Layer& l, const LayerState& st, const float* in, const float* dy, float* dx,
                              std::size_t n, bool relu_before) {
    const std::size_t in_image = l.in.size(), out_image = static_cast<std::size_t>(st.h) * st.w * l.out.c;
    const float* w = params_.data() + l.kernel_offset;
    float* dw = grads_.data() + l.kernel_offset;
    const std::size_t kernel = l.kernel_size;
#pragma omp parallel
    {
      const auto [e0, e1] = share(static_cast<int>(n));
      const int me = omp_get_thread_num(), parts = omp_get_num_threads();
      float* mine = partial_sums_.data() + static_cast<std::size_t>(me) * kernel;
      const std::size_t images = static_cast<std::size_t>(std::max(e1 - e0, 0));
      const WinogradConv c = winograd_conv(l, st, e1 - e0);
      if (e1 > e0) {
        const Status done = winograd_backward_filter(c, {in + e0 * in_image, images * in_image},
                                                     {dy + e0 * out_image, images * out_image}, {mine, kernel},
                                                     workspaces_[me]);
        (void)done;
      } else {
        std::fill(mine, mine + kernel, 0.0f);
      }
#pragma omp barrier
#pragma omp single
      {
        std::copy(partial_sums_.data(), partial_sums_.data() + kernel, dw);
        for (int t = 1; t < parts; ++t) {
          const float* theirs = partial_sums_.data() + static_cast<std::size_t>(t) * kernel;
          for (std::size_t j = 0; j < kernel; ++j) dw[j] += theirs[j];
        }
      }  // the barrier at its end: the partial sums are free again
      column_sums_parallel(dy, n * st.h * st.w, static_cast<std::size_t>(l.out.c), partial_sums_.data(),
                           grads_.data() + l.bias_offset);
      if (dx && e1 > e0) {
        const Status done = winograd_backward_data(c, {w, kernel}, {dy + e0 * out_image, images * out_image},
                                                   {dx + e0 * in_image, images * in_image}, workspaces_[me]);
        (void)done;
        if (relu_before) relu_backward_in_place_avx512(dx + e0 * in_image, in + e0 * in_image, images * in_image);
      }
    }
  }

  // The kernel (kk x co) as co x kk, for the input gradient's product;
  // made once per step and layer.
  const float* transpose_kernel(const float* w, int kk, int co) {
    float* wt = transposed_.data();
    for (int i = 0; i < kk; ++i) {
      for (int j = 0; j < co; ++j) wt[static_cast<std::size_t>(j) * kk + i] = w[static_cast<std::size_t>(i) * co + j];
    }
    return wt;
  }

  // With `relu_before`, the gradient reaching the maximum also passes the
  // ReLU that made it: zero where the maximum (the ReLU's output there) is.
  void pool_backward(const Layer& l, const LayerState& st, std::pair<int, int> in_hw, const float* dy, float* dx,
                     std::size_t n, bool relu_before) {
    const int c = l.in.c, wi = in_hw.second, ho = l.out.h, wo = l.out.w;
    const std::size_t in_image = static_cast<std::size_t>(in_hw.first) * in_hw.second * c;
#pragma omp parallel for schedule(static)
    for (std::size_t e = 0; e < n; ++e) {
      float* image = dx + e * in_image;
      std::fill(image, image + in_image, 0.0f);  // a floored last row and column (if stored) get nothing
      for (int oy = 0; oy < ho; ++oy) {
        for (int ox = 0; ox < wo; ++ox) {
          const std::size_t o = ((e * ho + oy) * wo + ox) * c;
          for (int ch = 0; ch < c; ++ch) {
            const int q = st.argmax[o + ch];
            const std::size_t y = 2 * oy + (q >> 1), x = 2 * ox + (q & 1);
            image[(y * wi + x) * c + ch] = relu_before && !(st.y[o + ch] > 0.0f) ? 0.0f : dy[o + ch];
          }
        }
      }
    }
  }

  const Model model_;
  const std::size_t max_batch_;
  const int threads_;
  const bool narrow_;  // the AVX-512 kernel for the convolutions' GEMMs
  Floats params_, grads_, accum_;
  Floats transposed_;  // a conv kernel transposed, for its input gradient
  Floats input_;
  std::vector<LayerState> state_;
  Floats delta_[2];
  Floats dcol_;
  Floats partial_sums_;  // a row of column sums, or a kernel gradient, per thread
  std::vector<Floats> workspaces_;  // Winograd's, per thread
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Model& model, const BackendOptions& options) {
  return std::make_unique<CpuBackend>(model, options);
}

}  // namespace batchai::trainer
