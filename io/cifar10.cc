#include "io/cifar10.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace batchai {

namespace {

using namespace cifar10;

// Every refusal ends with how to get a good file: the usual cause is a
// missing or half-written conversion, not a corrupt download.
constexpr const char* kHint =
    "; hint: make the batches with share/batchai/get-cifar10 "
    "or download the official binary release (cifar-10-binary.tar.gz)";

Error refuse(const std::string& path, const std::string& problem) { return Error{path + ": " + problem + kHint}; }

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// The whole file: batch files are 30 MB, so one read beats streaming.
Result<std::vector<std::uint8_t>> read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return refuse(path, "no such file");
  if (!std::filesystem::is_regular_file(path, ec)) return refuse(path, "not a regular file");
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return refuse(path, std::string("cannot open: ") + std::strerror(errno));
  std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return refuse(path, "cannot read its size: " + ec.message());
  std::vector<std::uint8_t> bytes(size);
  if (size > 0 && std::fread(bytes.data(), 1, size, file.get()) != size) {
    return refuse(path, "read error after " + std::to_string(std::ftell(file.get())) + " of " +
                            std::to_string(size) + " bytes");
  }
  return bytes;
}

// CHW planes of one record to HWC: pixel (y, x) of plane c moves from
// c*1024 + y*32 + x to (y*32 + x)*3 + c.
void transpose_record(const std::uint8_t* chw, std::uint8_t* hwc) {
  constexpr std::size_t kPlane = kHeight * kWidth;
  for (std::size_t c = 0; c < kChannels; ++c) {
    for (std::size_t p = 0; p < kPlane; ++p) hwc[p * kChannels + c] = chw[c * kPlane + p];
  }
}

std::string batch_path(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

}  // namespace

Result<Cifar10Set> load_cifar10_batch(const std::string& path, std::size_t expected_records) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  const std::size_t size = bytes->size();
  if (size == 0) return refuse(path, "empty file, expected records of 3073 bytes");
  if (size % kRecordBytes != 0) {
    return refuse(path, "size " + std::to_string(size) + " bytes is not a multiple of the " +
                            std::to_string(kRecordBytes) + "-byte record (1 label + 3072 pixels): " +
                            std::to_string(size / kRecordBytes) + " records and " +
                            std::to_string(size % kRecordBytes) + " bytes left over");
  }
  const std::size_t count = size / kRecordBytes;
  if (expected_records != 0 && count != expected_records) {
    return refuse(path, "expected " + std::to_string(expected_records) + " records (" +
                            std::to_string(expected_records * kRecordBytes) + " bytes), found " +
                            std::to_string(count) + " (" + std::to_string(size) + " bytes)");
  }

  Cifar10Set set;
  set.count = count;
  set.labels.resize(count);
  set.images.resize(count * kImageBytes);
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint8_t* record = bytes->data() + r * kRecordBytes;
    if (record[0] >= kClasses) {
      return refuse(path, "offset " + std::to_string(r * kRecordBytes) + " (record " + std::to_string(r) +
                              "): label " + std::to_string(record[0]) + ", expected 0 to 9");
    }
    set.labels[r] = record[0];
    transpose_record(record + 1, set.images.data() + r * kImageBytes);
  }
  return set;
}

Result<Cifar10Set> load_cifar10_train(const std::string& dir) {
  Cifar10Set all;
  all.images.reserve(kTrainBatches * kRecordsPerBatch * kImageBytes);
  all.labels.reserve(kTrainBatches * kRecordsPerBatch);
  for (int i = 1; i <= kTrainBatches; ++i) {
    auto batch = load_cifar10_batch(batch_path(dir, "data_batch_" + std::to_string(i) + ".bin"), kRecordsPerBatch);
    if (!batch) return batch.error();
    all.images.insert(all.images.end(), batch->images.begin(), batch->images.end());
    all.labels.insert(all.labels.end(), batch->labels.begin(), batch->labels.end());
    all.count += batch->count;
  }
  return all;
}

Result<Cifar10Set> load_cifar10_test(const std::string& dir) {
  return load_cifar10_batch(batch_path(dir, "test_batch.bin"), kRecordsPerBatch);
}

}  // namespace batchai
