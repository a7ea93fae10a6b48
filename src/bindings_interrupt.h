// Rcpp glue shared by the bindings: the core's InterruptChecker backed by R's
// R_CheckUserInterrupt (called by the core on the main thread only), and
// with_interruptible_runner(), which gives core work a TaskRunner that polls it and turns the
// core's Interrupted exception into an R interrupt, so that Ctrl-C during any core call
// behaves as in R code.
#ifndef FASTDML_BINDINGS_INTERRUPT_H
#define FASTDML_BINDINGS_INTERRUPT_H

#include <Rcpp.h>
#include <R_ext/Utils.h>

#include <utility>

#include "core/util/task_runner.h"

namespace fastdml_bindings {

inline void check_interrupt_unsafe(void*) { R_CheckUserInterrupt(); }

class RInterruptChecker : public fastdml::InterruptChecker {
 public:
  bool interrupted() override { return R_ToplevelExec(check_interrupt_unsafe, nullptr) == FALSE; }
};

// Runs `core_work(runner)` on a TaskRunner of num_threads threads that polls for interrupts,
// and returns its value; an interrupt becomes an R interrupt condition.
template <typename Work>
auto with_interruptible_runner(int num_threads, Work core_work)
    -> decltype(core_work(std::declval<const fastdml::TaskRunner&>())) {
  RInterruptChecker checker;
  const fastdml::TaskRunner runner(num_threads, &checker);
  try {
    return core_work(runner);
  } catch (const fastdml::Interrupted&) {
    throw Rcpp::internal::InterruptedException();
  }
}

}  // namespace fastdml_bindings

#endif
