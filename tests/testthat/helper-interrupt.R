# Interrupting fits in a subprocess (test-interrupt.R; also sourced by tools/interrupt-latency.R).

# CPU seconds (user + system, all threads) used so far by process `pid` (Linux /proc).
cpu_seconds <- function(pid) {
  fields <- strsplit(readLines(sprintf("/proc/%d/stat", pid)), " ")[[1]]
  sum(as.numeric(fields[14:15])) / 100
}

# A callr session with fastdml loaded and a 10^6 x 20 binary-treatment spec `spec` (plus its
# first 50,000 rows as `small`), built inside the session from a seed, and fold plans with 20
# and 60 repetitions drawn beforehand (`folds_20`, `folds_60`), so that a timed fit enters the
# C++ cross-fit at once.
interrupt_session <- function() {
  session <- callr::r_session$new(options = callr::r_session_options(libpath = .libPaths()))
  session$run(function() {
    library(fastdml)
    set.seed(1)
    n <- 1e6
    X <- matrix(stats::rnorm(n * 20), n, 20, dimnames = list(NULL, paste0("x", 1:20)))
    d <- stats::rbinom(n, 1, stats::plogis(X[, 1]))
    df <- data.frame(X, d = d, y = d + X[, 2] + stats::rnorm(n))
    assign("spec", causal_data(df, "y", "d"), globalenv())
    assign("small", causal_data(df[1:50000, ], "y", "d"), globalenv())
    assign("folds_20", make_folds(spec, 5, 20, seed = 1), globalenv())
    assign("folds_60", make_folds(spec, 5, 60, seed = 1), globalenv())
    invisible()
  })
  session
}

# Starts `fit_call` in the session, sends SIGINT (as Ctrl-C) after 1.5 s and waits for the
# session to answer (at most `deadline` seconds). Returns the call's result (NULL when the
# session did not answer), the seconds from the interrupt to the answer, and the CPU seconds
# the session used in the second after it.
interrupt_fit <- function(session, fit_call, deadline = 10) {
  session$call(fit_call)
  Sys.sleep(1.5)
  start <- Sys.time()
  session$interrupt()
  answered <- FALSE
  while (!answered && as.numeric(Sys.time() - start, units = "secs") < deadline) {
    answered <- session$poll_process(20) == "ready"
  }
  latency <- as.numeric(Sys.time() - start, units = "secs")
  result <- if (answered) session$read() else NULL
  before <- cpu_seconds(session$get_pid())
  Sys.sleep(1)
  list(result = result, latency = latency, cpu_after = cpu_seconds(session$get_pid()) - before)
}

# Did the call end with an interrupt (and not with a fit)?
was_interrupted <- function(result) {
  !is.null(result) && is.null(result$result) && grepl("interrupt", conditionMessage(result$error))
}
