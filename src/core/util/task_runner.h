// TaskRunner: runs a list of independent tasks on a fixed number of OpenMP threads (serial
// fallback without OpenMP). Every task is deterministic on its own and writes disjoint output,
// so results do not depend on the thread count (DESIGN.md §2, "Reproducible"). Interrupts are
// polled through an injected InterruptChecker by the calling (main) thread only; the first
// task error (lowest task index) is rethrown after the parallel region.
#ifndef FASTDML_UTIL_TASK_RUNNER_H
#define FASTDML_UTIL_TASK_RUNNER_H

#include <functional>
#include <stdexcept>

namespace fastdml {

class InterruptChecker {
 public:
  virtual ~InterruptChecker() = default;
  virtual bool interrupted() = 0;
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
  // A runner with one thread and no interrupt polling, for work nested inside a task.
  static TaskRunner serial() { return TaskRunner(1, nullptr); }

 private:
  int num_threads_;
  InterruptChecker* checker_;
};

}  // namespace fastdml

#endif
