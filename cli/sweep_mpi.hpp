// gradscope sweep under mpirun: the points are shared out over the ranks, every rank runs its
// share on its own thread pool, and rank 0 gathers every record and writes the results file
// (docs/sweeps.md). MPI is touched only when the process was started by an MPI launcher, so a
// plain `gradscope sweep` (and every other command) never initialises it; a gradscope built
// without MPI says so (`gradscope --version`) and refuses to run under mpirun.
#pragma once

#include <string>
#include <vector>

#include "sweep_runner.hpp"

namespace gradscope::cli {

// True when an MPI launcher started this process (Open MPI's OMPI_COMM_WORLD_SIZE, PMI_SIZE or
// PMIX_RANK in the environment).
bool launched_by_mpi();

// "MPI: yes (Open MPI 4.1.4)" or "MPI: no", for --version.
std::string mpi_description();

// Threads per process when --jobs is not given: the cores, shared among the ranks of this node.
int default_sweep_jobs();

struct MpiSweepOutcome {
  int rank = 0;
  int ranks = 1;
  SweepOutcome outcome;              // rank 0 only
  std::vector<double> rank_seconds;  // rank 0 only: each rank's time running its share
  bool refused = false;              // ranks but 0, when rank 0 refused the sweep (bad input)
};

// How the pending points are shared out. Dynamic: rank 0 hands out one point per request (a
// finished point's record asks for the next), so ranks that draw cheap points take more of
// them. Static: point k of the pending list runs on rank k mod N, with no traffic but the
// records; a grid whose cost follows the point index with period N loads one rank.
enum class SweepSchedule { kDynamic, kStatic };

// The sweep over MPI_COMM_WORLD. Throws (rank 0) what a local sweep would; in a build without
// MPI, a bad-input Error.
MpiSweepOutcome run_mpi_sweep(const SweepJob& job, SweepSchedule schedule);

}  // namespace gradscope::cli
