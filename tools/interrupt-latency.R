# Hand-run measurement (not a test): the time from an interrupt (SIGINT, as Ctrl-C) to the
# return of a fit, in a callr subprocess, for the C++ linear and logistic cross-fits and an R
# learner (lrn_custom), 5 runs each; also the CPU time the process uses in the second after
# the return (threads left running would show here). Usage: Rscript tools/interrupt-latency.R
library(callr)

cpu_seconds <- function(pid) {
  fields <- strsplit(readLines(sprintf("/proc/%d/stat", pid)), " ")[[1]]
  sum(as.numeric(fields[14:15])) / 100
}

session <- r_session$new(options = r_session_options(libpath = .libPaths()))
session$run(function() {
  library(fastdml)
  set.seed(1)
  n <- 1e6
  X <- matrix(stats::rnorm(n * 20), n, 20, dimnames = list(NULL, paste0("x", 1:20)))
  d <- stats::rbinom(n, 1, stats::plogis(X[, 1]))
  df <- data.frame(X, d = d, y = d + X[, 2] + stats::rnorm(n))
  assign("spec", causal_data(df, "y", "d"), globalenv())
  assign("small", causal_data(df[1:50000, ], "y", "d"), globalenv())
  invisible()
})

fits <- list(
  "PLR, lrn_linear (C++)" = function() dml_plr(spec, n_rep = 100, seed = 1, num.threads = 2),
  "IRM, lrn_logistic (C++)" = function() dml_irm(spec, n_rep = 30, seed = 1, num.threads = 2),
  "PLR, lrn_custom (R lm.fit)" = function() {
    lm_learner <- lrn_custom(function(x, y) stats::lm.fit(cbind(1, x), y)$coefficients,
                             function(model, x) drop(cbind(1, x) %*% model))
    dml_plr(small, learner_outcome = lm_learner, learner_treatment = lm_learner, n_rep = 200,
            seed = 1)
  })

rows <- list()
for (name in names(fits)) {
  for (run in 1:5) {
    session$call(fits[[name]])
    Sys.sleep(1.5)
    start <- Sys.time()
    session$interrupt()
    while (session$poll_process(20) != "ready") NULL
    latency <- as.numeric(Sys.time() - start, units = "secs")
    result <- session$read()
    before <- cpu_seconds(session$get_pid())
    Sys.sleep(1)
    rows[[length(rows) + 1L]] <- data.frame(
      fit = name, run = run, latency = latency,
      interrupted = is.null(result$result) && grepl("interrupt", conditionMessage(result$error)),
      cpu_after = cpu_seconds(session$get_pid()) - before)
  }
}
session$close()
runs <- do.call(rbind, rows)
summary_table <- do.call(rbind, lapply(split(runs, runs$fit), function(r) {
  data.frame(fit = r$fit[1], median_latency_s = median(r$latency), max_latency_s = max(r$latency),
             all_interrupted = all(r$interrupted), max_cpu_after_s = max(r$cpu_after))
}))
print(summary_table, row.names = FALSE, digits = 3)
