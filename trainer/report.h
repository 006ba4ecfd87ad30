// What a run leaves in --dir besides its checkpoints: metrics.jsonl, one
// JSON record per epoch, and training.svg, loss and accuracy per epoch,
// both rewritten whole (temp file, rename) after every epoch.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace batchai::trainer {

struct EpochMetrics {
  int epoch = 0;
  double loss = 0, acc = 0, val_loss = 0, val_acc = 0;
  double seconds = 0;           // the epoch's training loop on rank 0
  double images_per_second = 0;  // all ranks' training images / seconds
};

// One line of JSON per epoch; a figure that is not finite is null.
std::string metrics_jsonl(const std::vector<EpochMetrics>& epochs);
// The records metrics_jsonl wrote, back (null as NaN), so that a resumed
// run extends the file instead of starting it again. No file: none.
// Errors name `where` and the line.
Result<std::vector<EpochMetrics>> parse_metrics_jsonl(const std::string& text, const std::string& where);
Result<std::vector<EpochMetrics>> read_metrics_jsonl(const std::string& dir);
std::string training_svg(const std::vector<EpochMetrics>& epochs);
Status write_report(const std::string& dir, const std::vector<EpochMetrics>& epochs);

}  // namespace batchai::trainer
