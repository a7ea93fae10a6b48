// TaskRunner: see task_runner.h.
#include "core/util/task_runner.h"

#include <atomic>
#include <exception>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastdml {

namespace {

constexpr std::chrono::milliseconds kPollInterval(50);

}  // namespace

TaskRunner::TaskRunner(int num_threads, InterruptChecker* checker)
    : num_threads_(num_threads < 1 ? 1 : num_threads), shared_(std::make_shared<Shared>()) {
  shared_->checker = checker;
  shared_->main_thread = std::this_thread::get_id();
  shared_->last_poll = std::chrono::steady_clock::now();
}

TaskRunner TaskRunner::nested() const {
  TaskRunner inner(1, nullptr);
  inner.shared_ = shared_;
  return inner;
}

bool TaskRunner::check_on_main(bool rate_limited) const {
  Shared& state = *shared_;
  if (state.interrupted.load()) return true;
  if (state.checker == nullptr || std::this_thread::get_id() != state.main_thread) return false;
  const auto now = std::chrono::steady_clock::now();
  if (rate_limited && now - state.last_poll < kPollInterval) return false;
  state.last_poll = now;
  const int done = state.done.load();
  if (state.total > 0 && done != state.reported) {
    state.reported = done;
    state.checker->progress(done, state.total);
  }
  if (state.checker->interrupted()) state.interrupted = true;
  return state.interrupted.load();
}

void TaskRunner::poll() const {
  if (check_on_main(true)) throw Interrupted();
}

void TaskRunner::begin_progress(int total) const {
  shared_->total = total;
  shared_->done = 0;
  shared_->reported = -1;
}

void TaskRunner::task_done() const { ++shared_->done; }

void TaskRunner::run(int n_tasks, const std::function<void(int)>& task) const {
  if (n_tasks <= 0) return;
  std::vector<std::exception_ptr> errors(n_tasks);
  std::atomic<bool> stop(false);
  int threads = num_threads_ < n_tasks ? num_threads_ : n_tasks;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
  for (int t = 0; t < n_tasks; ++t) {
    if (stop.load()) continue;
    if (check_on_main(false)) {
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
  if (shared_->interrupted.load()) throw Interrupted();
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace fastdml
