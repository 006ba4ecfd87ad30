#include "trainer/comm.h"

#include <mpi.h>

#include <climits>

namespace batchai::trainer {

Comm::Comm() {
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

// MPI counts are int: a buffer beyond INT_MAX values goes in pieces.
template <typename T, typename F>
static void in_chunks(std::span<T> values, F f) {
  for (std::size_t at = 0; at < values.size(); at += INT_MAX) {
    f(values.data() + at, static_cast<int>(std::min<std::size_t>(INT_MAX, values.size() - at)));
  }
}

void Comm::sum(std::span<float> values) {
  if (size_ == 1) return;
  in_chunks(values, [](float* p, int n) { MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); });
}

void Comm::sum(std::span<double> values) {
  if (size_ == 1) return;
  in_chunks(values, [](double* p, int n) { MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); });
}

void Comm::broadcast(std::span<float> values) {
  if (size_ == 1) return;
  in_chunks(values, [](float* p, int n) { MPI_Bcast(p, n, MPI_FLOAT, 0, MPI_COMM_WORLD); });
}

void Comm::broadcast(std::span<std::int64_t> values) {
  if (size_ == 1) return;
  in_chunks(values, [](std::int64_t* p, int n) { MPI_Bcast(p, n, MPI_INT64_T, 0, MPI_COMM_WORLD); });
}

int Comm::max(int value) {
  if (size_ == 1) return value;
  int all = 0;
  MPI_Allreduce(&value, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return all;
}

bool Comm::all_ok(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

}  // namespace batchai::trainer
