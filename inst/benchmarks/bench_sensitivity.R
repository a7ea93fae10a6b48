# Benchmark: the sensitivity analysis (DESIGN §4, "the contour grid ... O(1) per point") at
# n = 1e6, p = 20: an IRM fit with lrn_linear() / lrn_logistic() (5 folds, 2 threads), then
#   (a) one pass over the data for scale: crossprod(X, y) (a read of the n x p matrix X) and
#       mean(y) (a read of one column);
#   (b) sensitivity(fit, cf_y = 0.03, cf_d = 0.03) itself (the per-repetition sufficient
#       statistics: passes over the cross-fitted nuisances);
#   (c) sensitivity_grid() on a 100 x 100 grid of (cf_d, cf_y), for the bound on the estimate
#       and for the bias-aware CI bound (no pass over n: O(1) per point from sens$stats);
#   (d) autoplot(sens) (the 100 x 100 contour plot) built with ggplot2::ggplot_build().
# The grid of a fit with repeated cross-fitting (BENCH_NREP repetitions, default 3; 0 skips it)
# aggregates every point over the repetitions by the median: timed as (c') and (d').
# Run by hand from the package root (never in tests):
#   Rscript inst/benchmarks/bench_sensitivity.R
#   BENCH_N=1e5 Rscript inst/benchmarks/bench_sensitivity.R     # quick smoke test
# Environment: BENCH_N (default 1e6), BENCH_RUNS timed runs per operation (median reported;
# default 5), BENCH_THREADS (default 2). Times are elapsed wall-clock seconds from Sys.time()
# (microsecond resolution), each operation warmed up once before its timed runs.
# Target (issue acceptance): the 100 x 100 grid costs less than one pass over the data.
# Results are printed and written to inst/benchmarks/results/bench_sensitivity_<date>.txt.
suppressPackageStartupMessages(library(fastdml))
n <- as.numeric(Sys.getenv("BENCH_N", "1e6"))
runs <- as.integer(Sys.getenv("BENCH_RUNS", "5"))
threads <- as.integer(Sys.getenv("BENCH_THREADS", "2"))
n_rep <- as.integer(Sys.getenv("BENCH_NREP", "3"))
p <- 20L
grid <- 100L
options(fastdml.progress = FALSE)

set.seed(1)
X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
beta <- seq(1, -1, length.out = p) / sqrt(p)
d <- rbinom(n, 1, stats::plogis(drop(X %*% beta)))
y <- 0.5 * d + drop(X %*% rev(beta)) + rnorm(n)
df <- data.frame(X, d = d, y = y)
rm(X, d, y)
spec <- causal_data(df, outcome = "y", treatment = "d", covariates = paste0("x", seq_len(p)))
rm(df)
invisible(gc())
fit_time <- system.time(fit <- dml_irm(spec, learner_outcome = lrn_linear(),
                                       learner_treatment = lrn_logistic(), n_folds = 5,
                                       seed = 1, num.threads = threads))[["elapsed"]]
fit_rep <- if (n_rep > 1L) {
  dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), n_folds = 5,
          n_rep = n_rep, seed = 1, num.threads = threads)
}
sens_rep <- if (n_rep > 1L) sensitivity(fit_rep, cf_y = 0.03, cf_d = 0.03)

# Median elapsed seconds of `runs` calls of f() after one warm-up call; the last value.
time_median <- function(f, runs) {
  value <- f()
  times <- numeric(runs)
  for (r in seq_len(runs)) {
    start <- Sys.time()
    value <- f()
    times[r] <- as.numeric(difftime(Sys.time(), start, units = "secs"))
  }
  list(median = stats::median(times), min = min(times), value = value)
}

sens <- NULL
term <- NULL
cf_d <- seq(0, 0.5, length.out = grid)
cf_y <- seq(0, 0.5, length.out = grid)
operations <- list(
  "(a) pass over X: crossprod(X, y)" = function() crossprod(spec$X, spec$y),
  "(a) pass over one column: mean(y)" = function() mean(spec$y),
  "(b) sensitivity(fit, cf_y = 0.03, cf_d = 0.03)" = function() {
    sens <<- sensitivity(fit, cf_y = 0.03, cf_d = 0.03)
    term <<- sens$table$term[1]
    sens
  },
  "(c) sensitivity_grid 100 x 100, bound = theta" = function() {
    fastdml:::sensitivity_grid(sens, cf_d = cf_d, cf_y = cf_y, term = term, bound = "theta")
  },
  "(c) sensitivity_grid 100 x 100, bound = ci" = function() {
    fastdml:::sensitivity_grid(sens, cf_d = cf_d, cf_y = cf_y, term = term, bound = "ci")
  },
  "(d) ggplot_build(autoplot(sens)) 100 x 100" = function() {
    ggplot2::ggplot_build(ggplot2::autoplot(sens))
  })
if (n_rep > 1L) {
  operations[[sprintf("(c') sensitivity_grid 100 x 100, bound = theta, n_rep = %d", n_rep)]] <- function() {
    fastdml:::sensitivity_grid(sens_rep, cf_d = cf_d, cf_y = cf_y, term = term, bound = "theta")
  }
  operations[[sprintf("(d') ggplot_build(autoplot(sens)) 100 x 100, n_rep = %d", n_rep)]] <- function() {
    ggplot2::ggplot_build(ggplot2::autoplot(sens_rep))
  }
}
results <- lapply(names(operations), function(name) {
  message(name, " ...")
  res <- time_median(operations[[name]], runs)
  data.frame(operation = name, median_ms = res$median * 1e3, min_ms = res$min * 1e3)
})
table <- do.call(rbind, results)
pass_x <- table$median_ms[1]
table$vs_pass_over_X <- signif(table$median_ms / pass_x, 4)
table$median_ms <- signif(table$median_ms, 4)
table$min_ms <- signif(table$min_ms, 4)
grid_ms <- table$median_ms[grepl("^\\(c\\)", table$operation)]
grid_rep_ms <- table$median_ms[grepl("^\\(c'\\)", table$operation)]
grid_dims <- dim(fastdml:::sensitivity_grid(sens, cf_d = cf_d, cf_y = cf_y, term = term,
                                            bound = "theta"))
stopifnot(identical(as.integer(grid_dims), c(grid, grid)))

header <- c(
  sprintf("bench_sensitivity.R, %s: dml_irm (lrn_linear / lrn_logistic, 5 folds, %d thread(s)) on n = %g, p = %d simulated rows; fit %.2f s; %d timed runs per operation (median)",
          format(Sys.Date()), threads, n, p, fit_time, runs),
  sprintf("Machine: %s; %s cores; %s", sub("model name\\s*:\\s*", "", grep("model name", readLines("/proc/cpuinfo"), value = TRUE)[1]),
          parallel::detectCores(), R.version.string),
  sprintf("%s = %.4f, se = %.4f; sensitivity: rv = %.4f, rva = %.4f; grid over cf_d, cf_y in [0, 0.5]",
          term, sens$table$estimate[1], sens$table$std.error[1], sens$table$rv[1], sens$table$rva[1]),
  "vs_pass_over_X: median time relative to crossprod(X, y), one read pass over the n x p covariates.",
  sprintf("Target: the 100 x 100 grid costs less than one pass over the data: %s (grid %s ms vs pass over X %.3f ms, mean(y) %.3f ms).",
          if (all(grid_ms < pass_x)) "MET" else "NOT MET", paste(sprintf("%.3f", grid_ms), collapse = " / "),
          pass_x, table$median_ms[2]),
  if (length(grid_rep_ms)) {
    sprintf("With %d repetitions (median over repetitions at every point): %s (%.3f ms).", n_rep,
            if (grid_rep_ms < pass_x) "MET" else "NOT MET", grid_rep_ms)
  })
out <- c(header, "", utils::capture.output(print(format(table, scientific = FALSE, drop0trailing = TRUE),
                                                  row.names = FALSE)))
cat(out, sep = "\n")
dir.create("inst/benchmarks/results", showWarnings = FALSE, recursive = TRUE)
writeLines(out, sprintf("inst/benchmarks/results/bench_sensitivity_%s.txt", format(Sys.Date())))
