#include "sweep_mpi.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "command.hpp"
#include "gradscope/core/error.hpp"
#include "progress.hpp"

#ifdef GRADSCOPE_HAVE_MPI
#include <mpi.h>
#endif

namespace gradscope::cli {

namespace {

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr) return fallback;
  const int parsed = std::atoi(value);
  return parsed > 0 ? parsed : fallback;
}

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

int default_sweep_jobs() {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int local_ranks = launched_by_mpi() ? env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1) : 1;
  return std::max(1, cores / local_ranks);
}

#ifndef GRADSCOPE_HAVE_MPI

std::string mpi_description() { return "MPI: no (gradscope sweep runs on local threads only)"; }

MpiSweepOutcome run_mpi_sweep(const SweepJob&, SweepSchedule) {
  throw_bad_input(
      "this gradscope was built without MPI (see gradscope --version): run gradscope sweep "
      "without mpirun, or install Open MPI (scripts/install-deps.sh) and rebuild");
}

#else

std::string mpi_description() {
#ifdef OMPI_MAJOR_VERSION
  return fmt::format("MPI: yes (Open MPI {}.{}.{})", OMPI_MAJOR_VERSION, OMPI_MINOR_VERSION,
                     OMPI_RELEASE_VERSION);
#else
  return fmt::format("MPI: yes (MPI {}.{})", MPI_VERSION, MPI_SUBVERSION);
#endif
}

namespace {

using ordered_json = nlohmann::ordered_json;

constexpr int kTagRecord = 1;   // a finished point's record (dynamic: also a request for more)
constexpr int kTagRequest = 2;  // dynamic: a worker thread asks for its first point
constexpr int kTagAssign = 3;   // dynamic: rank 0's answer, a point index or -1 (no more)

// MPI_Init on construction, MPI_Finalize on destruction. Only the main thread calls MPI
// (MPI_THREAD_FUNNELED); the pool's threads hand their records to it.
class MpiSession {
 public:
  MpiSession() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Records made by the pool's threads, waiting for the main thread.
class RecordQueue {
 public:
  void push(ordered_json record) {
    const std::lock_guard<std::mutex> lock(mutex_);
    records_.push_back(std::move(record));
  }
  std::deque<ordered_json> take() {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::deque<ordered_json> taken;
    taken.swap(records_);
    return taken;
  }

 private:
  std::mutex mutex_;
  std::deque<ordered_json> records_;
};

// Point indices that rank 0 assigned to this rank, waited for by the pool's threads; -1 ends
// one thread.
class AssignedPoints {
 public:
  void push(long index) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      indices_.push_back(index);
    }
    ready_.notify_one();
  }
  std::optional<long> next() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !indices_.empty(); });
    const long index = indices_.front();
    indices_.pop_front();
    if (index < 0) return std::nullopt;
    return index;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<long> indices_;
};

// This rank's pool, run on a background thread while the main thread talks MPI.
class PoolRunner {
 public:
  PoolRunner(const SweepJob& job, NextPoint next, RecordQueue& queue)
      : thread_([this, &job, next = std::move(next), &queue] {
          const auto start = std::chrono::steady_clock::now();
          try {
            run_points(job, next, [&](const ordered_json& record) { queue.push(record); });
          } catch (...) {
            failure_ = std::current_exception();
          }
          seconds_ =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          finished_ = true;
        }) {}
  bool finished() const { return finished_; }
  double seconds() const { return seconds_; }
  void rethrow() const {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  std::atomic<bool> finished_{false};
  std::exception_ptr failure_;
  double seconds_ = 0.0;
  std::jthread thread_;  // last: joined before the members it writes go
};

void idle() { std::this_thread::sleep_for(std::chrono::milliseconds(1)); }

// Rank 0's pending list to every rank; -1 tells the others that rank 0 refused the sweep.
std::vector<long> broadcast_pending(std::vector<long> pending, bool refused) {
  long long count = refused ? -1 : static_cast<long long>(pending.size());
  MPI_Bcast(&count, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  if (count < 0) return {-1};
  pending.resize(static_cast<std::size_t>(count));
  if (count > 0) MPI_Bcast(pending.data(), static_cast<int>(count), MPI_LONG, 0, MPI_COMM_WORLD);
  return pending;
}

void send_record(const ordered_json& record) {
  const std::string line = record.dump();
  MPI_Send(line.data(), static_cast<int>(line.size()), MPI_CHAR, 0, kTagRecord, MPI_COMM_WORLD);
}

ordered_json receive_record(const MPI_Status& status) {
  int bytes = 0;
  MPI_Get_count(&status, MPI_CHAR, &bytes);
  std::string buffer(static_cast<std::size_t>(bytes), '\0');
  MPI_Recv(buffer.data(), bytes, MPI_CHAR, status.MPI_SOURCE, kTagRecord, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  return ordered_json::parse(buffer);
}

// Rank 0: runs its own points and gathers everyone's into the results file. Dynamic: it also
// hands out the pending points, one per request, to its own threads and to the other ranks'.
void gather_at_rank_0(const SweepJob& job, const MpiSession& mpi, SweepState& state,
                      const std::vector<long>& pending, SweepSchedule schedule,
                      MpiSweepOutcome& result, double& my_seconds) {
  const long total = static_cast<long>(pending.size());
  std::vector<ordered_json> records = state.existing.records;
  ResultAppender appender(job.out, state.existing.complete_bytes);
  Progress progress(fmt::format("sweep ({} ranks)", mpi.size()), total, total / 10 + 1);
  long received = 0;
  const auto keep = [&](ordered_json record) {
    appender.append(record);
    records.push_back(std::move(record));
    progress.update(++received);
  };

  // Dynamic: one queue of pending points for rank 0's threads and every other rank's.
  std::mutex queue_mutex;
  std::size_t next_pending = 0;
  const auto take_pending = [&]() -> std::optional<long> {
    const std::lock_guard<std::mutex> lock(queue_mutex);
    if (next_pending >= pending.size()) return std::nullopt;
    return pending[next_pending++];
  };
  // Threads of the other ranks that still wait for a -1 (dynamic).
  int remote_jobs = 0;
  int my_jobs = job.jobs;
  std::vector<int> jobs_per_rank(static_cast<std::size_t>(mpi.size()), 0);
  MPI_Gather(&my_jobs, 1, MPI_INT, jobs_per_rank.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  for (int r = 1; r < mpi.size(); ++r) remote_jobs += jobs_per_rank[static_cast<std::size_t>(r)];
  int open_remote_threads = schedule == SweepSchedule::kDynamic ? remote_jobs : 0;
  const auto assign = [&](int rank) {
    const std::optional<long> index = take_pending();
    const long value = index.value_or(-1);
    if (!index) --open_remote_threads;
    MPI_Send(&value, 1, MPI_LONG, rank, kTagAssign, MPI_COMM_WORLD);
  };

  NextPoint mine;
  if (schedule == SweepSchedule::kDynamic) {
    mine = take_pending;
  } else {
    std::vector<long> share;  // static: point k of the pending list to rank k mod N
    for (std::size_t k = 0; k < pending.size(); k += static_cast<std::size_t>(mpi.size())) {
      share.push_back(pending[k]);
    }
    mine = points_from(std::move(share));
  }
  RecordQueue queue;
  {
    PoolRunner runner(job, mine, queue);
    while (received < total || open_remote_threads > 0) {
      bool busy = false;
      for (ordered_json& record : queue.take()) {
        keep(std::move(record));
        busy = true;
      }
      int arrived = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &arrived, &status);
      if (arrived != 0) {
        busy = true;
        if (status.MPI_TAG == kTagRecord) {
          keep(receive_record(status));
        } else {
          MPI_Recv(nullptr, 0, MPI_CHAR, status.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD,
                   MPI_STATUS_IGNORE);
        }
        if (schedule == SweepSchedule::kDynamic) assign(status.MPI_SOURCE);
      }
      if (runner.finished()) runner.rethrow();
      if (!busy) idle();
    }
    while (!runner.finished()) idle();
    runner.rethrow();
    my_seconds = runner.seconds();
  }
  progress.finish();
  write_sorted_results(job.out, records);
  result.outcome = count_outcome(records, total, static_cast<long>(job.points.size()) - total);
}

// The other ranks: run the points (their static share, or what rank 0 assigns) and send each
// record to rank 0.
void work_for_rank_0(const SweepJob& job, const MpiSession& mpi, const std::vector<long>& pending,
                     SweepSchedule schedule, double& my_seconds) {
  int my_jobs = job.jobs;
  MPI_Gather(&my_jobs, 1, MPI_INT, nullptr, 0, MPI_INT, 0, MPI_COMM_WORLD);
  RecordQueue queue;
  AssignedPoints assigned;
  NextPoint mine;
  if (schedule == SweepSchedule::kDynamic) {
    mine = [&assigned] { return assigned.next(); };
    for (int t = 0; t < job.jobs; ++t) {
      MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagRequest, MPI_COMM_WORLD);
    }
  } else {
    std::vector<long> share;
    for (std::size_t k = static_cast<std::size_t>(mpi.rank()); k < pending.size();
         k += static_cast<std::size_t>(mpi.size())) {
      share.push_back(pending[k]);
    }
    mine = points_from(std::move(share));
  }
  PoolRunner runner(job, mine, queue);
  for (;;) {
    const bool finished = runner.finished();  // read before draining: nothing left behind
    bool busy = false;
    for (const ordered_json& record : queue.take()) {
      send_record(record);
      busy = true;
    }
    if (finished) break;
    if (schedule == SweepSchedule::kDynamic) {
      int arrived = 0;
      MPI_Iprobe(0, kTagAssign, MPI_COMM_WORLD, &arrived, MPI_STATUS_IGNORE);
      if (arrived != 0) {
        long index = -1;
        MPI_Recv(&index, 1, MPI_LONG, 0, kTagAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        assigned.push(index);
        busy = true;
      }
    }
    if (!busy) idle();
  }
  runner.rethrow();
  my_seconds = runner.seconds();
}

}  // namespace

MpiSweepOutcome run_mpi_sweep(const SweepJob& job, SweepSchedule schedule) {
  const MpiSession mpi;
  MpiSweepOutcome result;
  result.rank = mpi.rank();
  result.ranks = mpi.size();

  SweepState state;
  std::exception_ptr refusal;
  if (mpi.rank() == 0) {
    try {
      state = sweep_state(job);
    } catch (...) {
      refusal = std::current_exception();
    }
  }
  const std::vector<long> pending = broadcast_pending(state.pending, refusal != nullptr);
  if (pending.size() == 1 && pending.front() < 0) {
    if (refusal) std::rethrow_exception(refusal);  // rank 0 prints why
    result.refused = true;                         // the others exit quietly
    return result;
  }

  double my_seconds = 0.0;
  try {
    if (mpi.rank() == 0) {
      gather_at_rank_0(job, mpi, state, pending, schedule, result, my_seconds);
    } else {
      work_for_rank_0(job, mpi, pending, schedule, my_seconds);
    }
  } catch (const std::exception& e) {
    // The other ranks would wait for this one for ever.
    fmt::print(stderr, "gradscope: error: rank {}: {}\n", mpi.rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, kExitFailure);
  }

  result.rank_seconds.assign(static_cast<std::size_t>(mpi.size()), 0.0);
  MPI_Gather(&my_seconds, 1, MPI_DOUBLE, result.rank_seconds.data(), 1, MPI_DOUBLE, 0,
             MPI_COMM_WORLD);
  return result;
}

#endif

}  // namespace gradscope::cli
