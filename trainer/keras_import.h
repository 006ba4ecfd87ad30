// Weights for this trainer's network from a model file that Keras wrote:
// model.save('x.h5') in tf.keras 2.x (Keras 2.14 with Horovod, say), Keras
// 2.2, or batchai-train's own. Keras names layers by its own counters
// (conv2d, conv2d_1, ... in tf.keras; conv2d_1, ... in 2.2), so a file is
// matched by the layer list in its model_config, in order and by type and
// parameters, never by name; each layer's weights are then found under the
// name the file gives it.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "trainer/model.h"

namespace batchai::trainer {

// The parameters in the model's flat order. Refuses a file whose network is
// not `model`'s, naming the file and the first difference, e.g.
// "m.h5: model_config: layer 3 (conv2d_1): padding is \"same\", this network's is \"valid\"".
Result<std::vector<float>> import_keras_weights(const std::string& path, const Model& model);

}  // namespace batchai::trainer
