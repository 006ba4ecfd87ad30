#include "io/cifar10.h"

#include <gtest/gtest.h>

#include <fstream>

#include "unit/temp_dir.h"

namespace batchai {
namespace {

using testing::TempDir;

constexpr std::string_view kHint =
    "; hint: make the batches with share/batchai/get-cifar10 "
    "or download the official binary release (cifar-10-binary.tar.gz)";

// A distinct byte for every (record, plane, pixel), so a wrong index shows.
std::uint8_t pixel(std::size_t record, std::size_t plane, std::size_t p) {
  return static_cast<std::uint8_t>(record * 61 + plane * 17 + p * 5 + p / 256);
}

// Records in the file's own layout: label, then R, G, B planes of 1,024 bytes.
std::string records(const std::vector<int>& labels) {
  std::string bytes;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    bytes.push_back(static_cast<char>(labels[r]));
    for (std::size_t c = 0; c < 3; ++c) {
      for (std::size_t p = 0; p < 1024; ++p) bytes.push_back(static_cast<char>(pixel(r, c, p)));
    }
  }
  return bytes;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Cifar10, TransposesChwPlanesToHwcExactly) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  write(dir.file("b.bin"), records({3, 0, 9}));
  auto set = load_cifar10_batch(dir.file("b.bin"));
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->count, 3u);
  EXPECT_EQ(set->labels, (std::vector<std::uint8_t>{3, 0, 9}));
  ASSERT_EQ(set->images.size(), 3u * 32 * 32 * 3);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t y = 0; y < 32; ++y) {
      for (std::size_t x = 0; x < 32; ++x) {
        for (std::size_t c = 0; c < 3; ++c) {
          ASSERT_EQ(set->images[((r * 32 + y) * 32 + x) * 3 + c], pixel(r, c, y * 32 + x))
              << "record " << r << " y " << y << " x " << x << " c " << c;
        }
      }
    }
  }
  // One spot written out by hand: record 1, row 2, column 5, green is file
  // byte 3073 + 1 + 1024 + 2*32 + 5.
  std::string bytes = records({3, 0, 9});
  EXPECT_EQ(set->images[3072 + (2 * 32 + 5) * 3 + 1], static_cast<std::uint8_t>(bytes[3073 + 1 + 1024 + 69]));
}

TEST(Cifar10, TruncatedFileIsRefusedWithItsSize) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("data_batch_1.bin");
  write(path, records({1, 2}) + std::string(100, '\0'));
  EXPECT_EQ(load_cifar10_batch(path).error().message,
            path + ": size 6246 bytes is not a multiple of the 3073-byte record (1 label + 3072 pixels): "
                   "2 records and 100 bytes left over" + std::string(kHint));
}

TEST(Cifar10, BadLabelIsRefusedWithFileAndOffset) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("b.bin");
  write(path, records({4, 10, 1}));
  EXPECT_EQ(load_cifar10_batch(path).error().message,
            path + ": offset 3073 (record 1): label 10, expected 0 to 9" + std::string(kHint));
}

TEST(Cifar10, MissingAndEmptyFilesAreRefused) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string missing = dir.file("nope.bin");
  EXPECT_EQ(load_cifar10_batch(missing).error().message, missing + ": no such file" + std::string(kHint));
  EXPECT_EQ(load_cifar10_batch(dir.path().string()).error().message,
            dir.path().string() + ": not a regular file" + std::string(kHint));
  std::string empty = dir.file("empty.bin");
  write(empty, "");
  EXPECT_EQ(load_cifar10_batch(empty).error().message,
            empty + ": empty file, expected records of 3073 bytes" + std::string(kHint));
}

TEST(Cifar10, OfficialBatchesMustHoldTenThousandRecords) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.file("test_batch.bin");
  write(path, records({0, 1, 2}));
  EXPECT_EQ(load_cifar10_test(dir.path().string()).error().message,
            path + ": expected 10000 records (30730000 bytes), found 3 (9219 bytes)" + std::string(kHint));
}

TEST(Cifar10, TrainSetNamesTheMissingBatch) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(load_cifar10_train(dir.path().string()).error().message,
            dir.file("data_batch_1.bin") + ": no such file" + std::string(kHint));
}

TEST(Cifar10, FullTestBatchLoads) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string bytes(10'000 * 3073, '\0');
  for (std::size_t r = 0; r < 10'000; ++r) bytes[r * 3073] = static_cast<char>(r % 10);
  bytes[9'999 * 3073 + 1 + 2048] = 'b';  // the last image's first blue value
  write(dir.file("test_batch.bin"), bytes);
  auto set = load_cifar10_test(dir.path().string());
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->count, 10'000u);
  EXPECT_EQ(set->labels[9'999], 9);
  EXPECT_EQ(set->images[9'999 * 3072 + 2], 'b');
}

}  // namespace
}  // namespace batchai
