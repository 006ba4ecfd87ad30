// The MPI world a trainer runs in: who we are, where, and whether the ranks
// can talk. The world check is the first thing to run on a new cluster: it
// proves the launcher started one rank per slot, that ranks see each other
// (an allreduce) and which GPU each rank would use.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace batchai::trainer {

struct RankInfo {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // among the ranks on this host
  std::string host;    // SLURMD_NODENAME when set (emulated nodes share a hostname)
};

// Who this rank is. Requires MPI to be initialised.
RankInfo this_rank();

// Every rank's line, in rank order, on rank 0 (empty elsewhere); lines
// are cut at 255 characters. Every rank must call it.
std::vector<std::string> gather_lines(const std::string& line);
// Every rank's line, in rank order, on every rank.
std::vector<std::string> all_lines(const std::string& line);

// When srun started the ranks itself, the MPI world must hold as many as
// Slurm started (SLURM_NTASKS): else each rank came up as a singleton, a
// classic mismatch of the MPI library and srun's --mpi plugin.
Status check_world_size(int size);

// One line per rank, gathered on rank 0 in rank order: "rank 2/4 node3
// local 0 gpu: none (reason)". Also checks the world: an allreduce of the
// ranks must give size*(size-1)/2, and when Slurm launched us the world size
// must equal SLURM_NTASKS (else ranks started as singletons, a classic
// PMI mismatch). Every rank must call it; only rank 0's result holds lines.
Result<std::vector<std::string>> world_check();

}  // namespace batchai::trainer
