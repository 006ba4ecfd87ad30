// Rank 0's view of training, as Keras printed it: an "Epoch i/n" header, a
// progress bar with steps, ETA, loss and accuracy that redraws in place on
// a terminal (a line every few seconds in a log, where carriage returns
// would pile up), and the epoch's summary with val_loss and val_acc.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace batchai::trainer {

class Progress {
 public:
  Progress(std::FILE* out, bool tty) : out_(out), tty_(tty) {}
  // A run resumed inside the epoch starts it with the steps and seconds
  // already behind it.
  void start_epoch(int epoch, int epochs, std::size_t steps, double seconds_before = 0);
  // Whether step(done) would print now: callers whose figures cost
  // something to get ask first.
  bool due(std::size_t done) const;
  void step(std::size_t done, double mean_loss, double accuracy);
  void end_epoch(double mean_loss, double accuracy, double val_loss, double val_accuracy);
  // The epoch stops before its end: a terminal's bar gets its line ended.
  void stop();
  double epoch_seconds() const;

 private:
  std::string bar(std::size_t done) const;
  std::FILE* out_;
  bool tty_;
  std::size_t steps_ = 0;
  double before_ = 0;
  std::chrono::steady_clock::time_point start_, last_line_;
};

std::string format_duration(double seconds);  // "1:02:03", "4:05", "7s"

}  // namespace batchai::trainer
