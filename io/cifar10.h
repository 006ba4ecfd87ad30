// The CIFAR-10 binary release ("cifar-10-batches-bin"), read into memory once.
//
// A batch file is a sequence of 3,073-byte records: one label byte (0-9, in
// the order of batches.meta.txt), then 3,072 pixel bytes stored as three
// 32x32 planes, red, green, blue, each row-major (CHW). Keras'
// cifar10.load_data() hands the tutorial's script NHWC images, and the trainer
// keeps that layout, so the reader transposes every record once on load
// instead of leaving each consumer to do it per epoch.
//
// Files are checked on entry (size, record count, every label) and every
// error names the file, the byte offset where there is one, what was
// expected and what was found, and ends with where to get the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace batchai {

namespace cifar10 {
inline constexpr std::size_t kHeight = 32;
inline constexpr std::size_t kWidth = 32;
inline constexpr std::size_t kChannels = 3;
inline constexpr std::size_t kImageBytes = kHeight * kWidth * kChannels;  // 3,072
inline constexpr std::size_t kRecordBytes = 1 + kImageBytes;              // 3,073: label, then pixels
inline constexpr std::size_t kClasses = 10;
inline constexpr std::size_t kRecordsPerBatch = 10'000;  // every official batch file
inline constexpr int kTrainBatches = 5;                  // data_batch_1.bin .. data_batch_5.bin
}  // namespace cifar10

struct Cifar10Set {
  std::vector<std::uint8_t> images;  // count x 32 x 32 x 3 (NHWC), channels R, G, B
  std::vector<std::uint8_t> labels;  // count, each < 10
  std::size_t count = 0;
};

// One batch file with any non-zero number of records; with
// `expected_records` non-zero, exactly that many. Errors (never throws):
// unreadable or missing file, size not a non-zero multiple of 3,073 bytes,
// a record count other than expected, a label >= 10 (with its offset).
Result<Cifar10Set> load_cifar10_batch(const std::string& path, std::size_t expected_records = 0);

// data_batch_1.bin .. data_batch_5.bin from `dir` (a cifar-10-batches-bin
// directory), 10,000 records each, concatenated in that order: 50,000 images.
Result<Cifar10Set> load_cifar10_train(const std::string& dir);

// test_batch.bin from `dir`: 10,000 images.
Result<Cifar10Set> load_cifar10_test(const std::string& dir);

}  // namespace batchai
