# Interrupts (Ctrl-C) during a threaded C++ cross-fit: the fit must stop promptly, leave no
# thread computing, and leave the session usable. Run in a subprocess (callr), which is sent
# SIGINT as a terminal's Ctrl-C would. The bound below is generous on purpose: it checks that
# the interrupt is honoured long before the fit would finish (about a minute), not how fast;
# the latency itself is measured by hand with tools/interrupt-latency.R.

cpu_ticks <- function(pid) {
  fields <- strsplit(readLines(sprintf("/proc/%d/stat", pid)), " ")[[1]]
  sum(as.numeric(fields[14:15]))   # utime + stime of every thread of the process
}

interrupt_fit <- function(session, fit_call) {
  session$call(fit_call)
  Sys.sleep(1.5)
  start <- Sys.time()
  session$interrupt()
  while (session$poll_process(100) != "ready") {
    if (as.numeric(Sys.time() - start, units = "secs") > 10) break
  }
  elapsed <- as.numeric(Sys.time() - start, units = "secs")
  list(result = session$read(), elapsed = elapsed)
}

test_that("an interrupted cross-fit returns promptly with no thread left running", {
  skip_if_not_installed("callr")
  skip_if_not(file.exists("/proc/self/stat"), "needs /proc to read CPU times")
  session <- callr::r_session$new(options = callr::r_session_options(libpath = .libPaths()))
  on.exit(session$close(), add = TRUE)
  session$run(function() {
    library(fastdml)
    set.seed(1)
    n <- 1e6
    X <- matrix(stats::rnorm(n * 20), n, 20, dimnames = list(NULL, paste0("x", 1:20)))
    d <- stats::rbinom(n, 1, stats::plogis(X[, 1]))
    df <- data.frame(X, d = d, y = d + X[, 2] + stats::rnorm(n))
    assign("spec", causal_data(df, "y", "d"), globalenv())
    invisible()
  })
  fits <- list(
    irm = function() dml_irm(spec, n_rep = 30, seed = 1, num.threads = 2),
    plr = function() dml_plr(spec, n_rep = 100, seed = 1, num.threads = 2))
  for (name in names(fits)) {
    run <- interrupt_fit(session, fits[[name]])
    expect_true(run$elapsed < 10, info = name)
    expect_null(run$result$result)
    expect_match(conditionMessage(run$result$error), "interrupt", info = name)
    before <- cpu_ticks(session$get_pid())
    Sys.sleep(1)
    busy <- (cpu_ticks(session$get_pid()) - before) / 100
    expect_lt(busy, 0.3)
  }
  small <- session$run(function() {
    coef(dml_plr(causal_data(sim_lesson(300, seed = 1), "outcome", "treatment",
                             c("age", "income", "browsing_time")), seed = 1))
  })
  expect_true(is.finite(small))
})
