// TaskRunner: runs a list of independent tasks on a fixed number of OpenMP threads (serial
// fallback without OpenMP). Every task is deterministic on its own and writes disjoint output,
// so results do not depend on the thread count (DESIGN.md §2, "Reproducible"). Interrupts are
// polled through an injected InterruptChecker by the thread that created the runner (R's main
// thread) only: before each task it runs, and, every 50 ms at most, when a long task calls
// poll() between its steps; once an interrupt is seen every task's next poll() throws
// Interrupted. The same checker receives progress (tasks done of the total announced with
// begin_progress()). The first task error (lowest task index) is rethrown after the parallel
// region. nested() gives the one-thread runner for work inside a task, sharing the polling.
#ifndef FASTDML_UTIL_TASK_RUNNER_H
#define FASTDML_UTIL_TASK_RUNNER_H

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fastdml {

class InterruptChecker {
 public:
  virtual ~InterruptChecker() = default;
  virtual bool interrupted() = 0;
  // Called on the main thread with the number of tasks done so far (default: ignored).
  virtual void progress(int /*done*/, int /*total*/) {}
};

class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("computation interrupted by the user") {}
};

class TaskRunner {
 public:
  explicit TaskRunner(int num_threads, InterruptChecker* checker = nullptr);
  // Runs task(0), ..., task(n_tasks - 1); throws the first task error or Interrupted.
  void run(int n_tasks, const std::function<void(int)>& task) const;
  int num_threads() const { return num_threads_; }
  // A runner with one thread and no interrupt polling.
  static TaskRunner serial() { return TaskRunner(1, nullptr); }
  // A one-thread runner for work inside a task of this runner: its poll() and progress share
  // this runner's interrupt state.
  TaskRunner nested() const;
  // For long tasks, between steps (any thread): throws Interrupted once an interrupt was seen.
  void poll() const;
  // Progress reporting: `total` units of work to come; each task_done() counts one.
  void begin_progress(int total) const;
  void task_done() const;

 private:
  struct Shared {
    InterruptChecker* checker = nullptr;
    std::thread::id main_thread;
    std::atomic<bool> interrupted{false};
    std::atomic<int> done{0};
    int total = 0;
    int reported = -1;
    std::chrono::steady_clock::time_point last_poll;
  };
  // On the main thread: reports progress and asks the checker; true once interrupted.
  bool check_on_main(bool rate_limited) const;
  int num_threads_;
  std::shared_ptr<Shared> shared_;
};

// Rows per chunk of a chunked reduction: fixed, never derived from the thread count.
constexpr int kRowsPerChunk = 32768;

// Sums chunk(begin, end) over fixed-size chunks of [0, n_rows) computed on the runner's
// threads, adding the partial results in chunk order (so the sum does not depend on the
// thread count). Partial needs operator+=; zero rows give chunk(0, 0).
template <typename Partial, typename ChunkFunction>
Partial sum_over_chunks(size_t n_rows, const TaskRunner& runner, ChunkFunction chunk) {
  const int n_chunks = static_cast<int>((n_rows + kRowsPerChunk - 1) / kRowsPerChunk);
  if (n_chunks <= 1) return chunk(size_t{0}, n_rows);
  std::vector<Partial> partial(n_chunks);
  runner.run(n_chunks, [&](int c) {
    const size_t begin = static_cast<size_t>(c) * kRowsPerChunk;
    partial[c] = chunk(begin, std::min(n_rows, begin + kRowsPerChunk));
  });
  Partial total = std::move(partial[0]);
  for (int c = 1; c < n_chunks; ++c) total += partial[c];
  return total;
}

}  // namespace fastdml

#endif
