#include "trainer/progress.h"

#include <cmath>

namespace batchai::trainer {

std::string format_duration(double seconds) {
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

void Progress::start_epoch(int epoch, int epochs, std::size_t steps, double seconds_before) {
  steps_ = steps;
  before_ = seconds_before;
  start_ = last_line_ = std::chrono::steady_clock::now();
  std::fprintf(out_, "Epoch %d/%d\n", epoch, epochs);
  std::fflush(out_);
}

double Progress::epoch_seconds() const {
  return before_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::bar(std::size_t done) const {
  constexpr int kWidth = 30;
  const int filled = steps_ ? static_cast<int>(kWidth * done / steps_) : kWidth;
  std::string b = "[" + std::string(filled, '=');
  if (filled < kWidth) b += ">" + std::string(kWidth - filled - 1, '.');
  const int digits = static_cast<int>(std::to_string(steps_).size());
  char head[64];
  std::snprintf(head, sizeof head, "%*zu/%zu ", digits, done, steps_);
  return head + b + "]";
}

bool Progress::due(std::size_t done) const {
  // A log gets a line every 30 s; a terminal a redraw every 0.1 s. The
  // last step's line is the epoch summary's.
  const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_line_).count();
  return done < steps_ && since >= (tty_ ? 0.1 : 30.0);
}

void Progress::step(std::size_t done, double loss, double acc) {
  if (!due(done)) return;
  last_line_ = std::chrono::steady_clock::now();
  const double elapsed = epoch_seconds();
  const double eta = done ? elapsed / done * (steps_ - done) : 0.0;
  std::fprintf(out_, "%s%s - ETA: %s - loss: %.4f - acc: %.4f%s", tty_ ? "\r" : "", bar(done).c_str(),
               format_duration(eta).c_str(), loss, acc, tty_ ? "" : "\n");
  std::fflush(out_);
}

void Progress::stop() {
  if (!tty_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
}

void Progress::end_epoch(double loss, double acc, double val_loss, double val_acc) {
  const double elapsed = epoch_seconds();
  const double per_step = steps_ ? elapsed / steps_ * 1000.0 : 0.0;
  std::fprintf(out_, "%s%s - %s %.0fms/step - loss: %.4f - acc: %.4f - val_loss: %.4f - val_acc: %.4f\n",
               tty_ ? "\r" : "", bar(steps_).c_str(), format_duration(elapsed).c_str(), per_step, loss, acc,
               val_loss, val_acc);
  std::fflush(out_);
}

}  // namespace batchai::trainer
