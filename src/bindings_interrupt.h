// Rcpp glue shared by the bindings: the core's InterruptChecker backed by R's
// R_CheckUserInterrupt (called by the core on the main thread only), which also passes the
// core's progress to an optional R callback `progress(done, total)` (errors in it are
// ignored), and with_interruptible_runner(), which gives core work a TaskRunner that polls it
// and turns the core's Interrupted exception into an R interrupt, so that Ctrl-C during any
// core call behaves as in R code.
#ifndef FASTDML_BINDINGS_INTERRUPT_H
#define FASTDML_BINDINGS_INTERRUPT_H

#include <Rcpp.h>
#include <R_ext/Utils.h>

#include <utility>

#include "core/util/task_runner.h"

namespace fastdml_bindings {

inline void check_interrupt_unsafe(void*) { R_CheckUserInterrupt(); }

inline void eval_unsafe(void* call) { Rf_eval(static_cast<SEXP>(call), R_GlobalEnv); }

class RInterruptChecker : public fastdml::InterruptChecker {
 public:
  explicit RInterruptChecker(SEXP progress = R_NilValue) : progress_(progress) {}
  bool interrupted() override { return R_ToplevelExec(check_interrupt_unsafe, nullptr) == FALSE; }
  void progress(int done, int total) override {
    if (Rf_isNull(progress_)) return;
    SEXP call = PROTECT(Rf_lang3(progress_, Rf_ScalarInteger(done), Rf_ScalarInteger(total)));
    R_ToplevelExec(eval_unsafe, call);
    UNPROTECT(1);
  }

 private:
  SEXP progress_;
};

// Runs `core_work(runner)` on a TaskRunner of num_threads threads that polls for interrupts
// (and reports progress to `progress`, an R function or NULL), and returns its value; an
// interrupt becomes an R interrupt condition.
template <typename Work>
auto with_interruptible_runner(int num_threads, Work core_work, SEXP progress = R_NilValue)
    -> decltype(core_work(std::declval<const fastdml::TaskRunner&>())) {
  RInterruptChecker checker(progress);
  const fastdml::TaskRunner runner(num_threads, &checker);
  try {
    return core_work(runner);
  } catch (const fastdml::Interrupted&) {
    throw Rcpp::internal::InterruptedException();
  }
}

}  // namespace fastdml_bindings

#endif
