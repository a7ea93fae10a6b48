// TaskRunner: see task_runner.h.
#include "core/util/task_runner.h"

#include <atomic>
#include <exception>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastdml {

TaskRunner::TaskRunner(int num_threads, InterruptChecker* checker)
    : num_threads_(num_threads < 1 ? 1 : num_threads), checker_(checker) {}

void TaskRunner::run(int n_tasks, const std::function<void(int)>& task) const {
  if (n_tasks <= 0) return;
  std::vector<std::exception_ptr> errors(n_tasks);
  std::atomic<bool> stop(false);
  std::atomic<bool> interrupted(false);
  int threads = num_threads_ < n_tasks ? num_threads_ : n_tasks;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
  for (int t = 0; t < n_tasks; ++t) {
    if (stop.load()) continue;
#ifdef _OPENMP
    const bool on_main_thread = omp_get_thread_num() == 0;
#else
    const bool on_main_thread = true;
#endif
    if (on_main_thread && checker_ != nullptr && checker_->interrupted()) {
      interrupted = true;
      stop = true;
      continue;
    }
    try {
      task(t);
    } catch (...) {
      errors[t] = std::current_exception();
      stop = true;
    }
  }
  (void)threads;
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  if (interrupted.load()) throw Interrupted();
}

}  // namespace fastdml
