# Benchmark: the full CX multi-arm fit (specs/cx-multitreatment.md): sim_cx() data (4 arms, 20
# covariates, binary outcome), dml_multi_irm() with 5 folds, at n = 1e5 and 1e6, with
# linear/logistic learners (lrn_logistic: multinomial propensity, logistic outcome models) and
# with the default boosting learners (softmax propensity, logistic outcome models).
# Run by hand from the package root (never in tests):
#   Rscript inst/benchmarks/bench_multi.R                 # n = 1e5, 1e6
#   BENCH_N=2e4 BENCH_REPS=1 Rscript inst/benchmarks/bench_multi.R   # quick smoke test
# Environment: BENCH_N sizes (comma separated), BENCH_REPS timed runs per configuration
# (median reported; default 3), BENCH_THREADS (default 2), BENCH_LEARNERS ("logistic,boost").
# Each configuration runs in a fresh R process (callr) that simulates the data, builds the
# causal_data() spec and drops the data frame; the kernel's peak-RSS mark is then reset
# (/proc/self/clear_refs) so that inc_MB is the peak memory the fits add over the loaded spec.
# Target (issue acceptance): n = 1e6 under 10 s on 2 cores with the linear/logistic learners.
# Results are printed and written to inst/benchmarks/results/bench_multi_<date>.txt.
suppressPackageStartupMessages(library(fastdml))
stopifnot(requireNamespace("callr", quietly = TRUE))
env_list <- function(name, default) {
  value <- Sys.getenv(name, "")
  if (nzchar(value)) trimws(strsplit(value, ",", fixed = TRUE)[[1]]) else default
}
sizes <- as.numeric(env_list("BENCH_N", c("1e5", "1e6")))
reps <- as.integer(env_list("BENCH_REPS", "3"))
threads <- as.integer(env_list("BENCH_THREADS", "2"))
learner_sets <- env_list("BENCH_LEARNERS", c("logistic", "boost"))

run_configuration <- function(n, learners, reps, threads) {
  status_mb <- function(field) {
    line <- grep(paste0("^", field, ":"), readLines("/proc/self/status"), value = TRUE)
    as.numeric(gsub("[^0-9]", "", line)) / 1024
  }
  suppressPackageStartupMessages(loadNamespace("fastdml"))
  options(fastdml.progress = FALSE)
  d <- fastdml::sim_cx(n = n, seed = 42)
  truth <- attr(d, "true_ate")
  covariates <- names(d)[1:20]
  spec <- fastdml::causal_data(d, outcome = "y", treatment = "arm", control = "control",
                               covariates = covariates)
  d <- NULL
  x_mb <- utils::object.size(spec$X) / 2^20
  learner <- switch(learners, logistic = fastdml::lrn_logistic(), boost = fastdml::lrn_boost())
  invisible(gc())
  reset <- tryCatch({
    writeLines("5", "/proc/self/clear_refs")
    TRUE
  }, error = function(e) FALSE, warning = function(w) FALSE)
  baseline <- status_mb("VmHWM")
  times <- numeric(reps)
  fit <- NULL
  for (r in seq_len(reps)) {
    fit <- NULL
    invisible(gc())
    times[r] <- system.time(fit <- suppressWarnings(fastdml::dml_multi_irm(
      spec, learner_outcome = learner, learner_treatment = learner, n_folds = 5, trim = 0.01,
      seed = 42, num.threads = threads)))[["elapsed"]]
  }
  list(times = times, peak = status_mb("VmHWM"), baseline = baseline, reset = reset,
       x_mb = as.numeric(x_mb), estimate = stats::coef(fit), se = fit$se,
       truth = truth[-1L])
}

rows <- list()
for (n in sizes) {
  for (learners in learner_sets) {
    message(sprintf("n = %g, %s learners ...", n, learners))
    res <- callr::r(run_configuration, args = list(n = n, learners = learners, reps = reps,
                                                   threads = threads))
    rows[[length(rows) + 1L]] <- data.frame(
      n = n, learners = learners, reps = reps, seconds = stats::median(res$times),
      min_s = min(res$times), peak_MB = round(res$peak, 1),
      inc_MB = if (res$reset) round(res$peak - res$baseline, 1) else NA,
      X_MB = round(res$x_mb, 1), max_abs_bias = max(abs(res$estimate - res$truth)),
      max_bias_se = max(abs(res$estimate - res$truth) / res$se))
  }
}
table <- do.call(rbind, rows)
header <- c(
  sprintf("bench_multi.R, %s: dml_multi_irm on sim_cx(n, seed = 42) (coupled DGP), 4 arms, p = 20, 5 folds, %d thread(s)",
          format(Sys.Date()), threads),
  sprintf("Machine: %s; %s cores; %s", sub("model name\\s*:\\s*", "", grep("model name", readLines("/proc/cpuinfo"), value = TRUE)[1]),
          parallel::detectCores(), R.version.string),
  "seconds: median elapsed time of the fit; inc_MB: peak memory added by the fits over the loaded spec;",
  "max_abs_bias / max_bias_se: largest |estimate - true ATE| over the 3 contrasts, in units and in SEs.",
  "Target: n = 1e6 with logistic learners under 10 s on 2 cores.")
out <- c(header, "", utils::capture.output(print(table, row.names = FALSE)))
cat(out, sep = "\n")
dir.create("inst/benchmarks/results", showWarnings = FALSE, recursive = TRUE)
writeLines(out, sprintf("inst/benchmarks/results/bench_multi_%s.txt", format(Sys.Date())))
