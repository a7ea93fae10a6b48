// Rcpp glue shared by the bindings: the core's InterruptChecker backed by R's
// R_CheckUserInterrupt (called by the core on the main thread only), and a wrapper that turns
// the core's Interrupted exception into an R interrupt, so that Ctrl-C during any core call
// behaves as in R code.
#ifndef FASTDML_BINDINGS_INTERRUPT_H
#define FASTDML_BINDINGS_INTERRUPT_H

#include <Rcpp.h>
#include <R_ext/Utils.h>

#include "core/util/task_runner.h"

namespace fastdml_bindings {

inline void check_interrupt_unsafe(void*) { R_CheckUserInterrupt(); }

class RInterruptChecker : public fastdml::InterruptChecker {
 public:
  bool interrupted() override { return R_ToplevelExec(check_interrupt_unsafe, nullptr) == FALSE; }
};

// Runs `core_work()` (which may throw fastdml::Interrupted) and returns its value; an interrupt
// becomes an R interrupt condition.
template <typename Work>
auto interruptible(Work core_work) -> decltype(core_work()) {
  try {
    return core_work();
  } catch (const fastdml::Interrupted&) {
    throw Rcpp::internal::InterruptedException();
  }
}

}  // namespace fastdml_bindings

#endif
