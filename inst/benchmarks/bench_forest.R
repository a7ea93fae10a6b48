# Benchmark: the causal forest engine (DESIGN.md §4 "CATE", §5 "causal forest >= 2x grf at
# equal accuracy and <= 1/4 of its memory"): fastdml:::forest_train() + forest_predict()
# (test-set CATE with variance) against grf::causal_forest() + predict(estimate.variance = TRUE),
# both on 2 threads, with the same oracle residuals (grf: Y.hat = Y - y_res, W.hat = D - d_res),
# the same number of trees and grf's defaults on both sides.
# Data: X ~ N(0, I_p), D ~ Bernoulli(plogis(0.5 x3)), tau(x) = 1 + x1 - 0.5 x2 + 0.5 (x4 > 0),
# Y = x3 + x4 + tau(X) D + N(0, 1); a test set of 10,000 rows from the same law.
# Run by hand from the package root (never in tests):
#   Rscript inst/benchmarks/bench_forest.R [n] [p] [trees]      # defaults 1e5 20 2000
# Environment: BENCH_THREADS (default 2), BENCH_REPS_OURS (default 3), BENCH_REPS_GRF (default 1),
# BENCH_SKIP_GRF=1 to time fastdml alone. Each tool runs in a fresh R process (callr, when
# installed) so that /proc/self/status VmHWM is its own peak resident memory; "data" is the
# peak after simulating the data, before any forest. Times are elapsed seconds (median of the
# reps); "R max used" is gc()'s max used Mb of the R heap (not C++ memory) during one fit +
# predict; "object" is object.size() of the fitted forest.
# Results are printed and written to inst/benchmarks/results/bench_forest_<date>.txt.
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1L) as.numeric(args[1]) else 1e5
p <- if (length(args) >= 2L) as.integer(args[2]) else 20L
trees <- if (length(args) >= 3L) as.integer(args[3]) else 2000L
threads <- as.integer(Sys.getenv("BENCH_THREADS", "2"))
reps_ours <- as.integer(Sys.getenv("BENCH_REPS_OURS", "3"))
reps_grf <- as.integer(Sys.getenv("BENCH_REPS_GRF", "1"))
skip_grf <- identical(Sys.getenv("BENCH_SKIP_GRF"), "1")
n_test <- 10000L

# Everything a run needs, self-contained so that it can be shipped to a callr process.
run_tool <- function(tool, n, p, trees, threads, reps, n_test) {
  simulate <- function(m, p) {
    X <- matrix(stats::rnorm(m * p), m, p, dimnames = list(NULL, paste0("x", seq_len(p))))
    tau <- 1 + X[, 1] - 0.5 * X[, 2] + 0.5 * (X[, 4] > 0)
    list(X = X, tau = tau)
  }
  vm_hwm <- function() {
    status <- readLines("/proc/self/status")
    as.numeric(gsub("[^0-9]", "", grep("^VmHWM", status, value = TRUE))) / 1024
  }
  set.seed(20261125)
  train <- simulate(n, p)
  e <- stats::plogis(0.5 * train$X[, 3])
  d <- stats::rbinom(n, 1, e)
  mu <- train$X[, 3] + train$X[, 4]
  y <- mu + train$tau * d + stats::rnorm(n)
  y_res <- y - (mu + train$tau * e)
  d_res <- d - e
  test <- simulate(n_test, p)
  invisible(gc())
  data_peak <- vm_hwm()
  fit_once <- function() {
    if (tool == "fastdml") {
      model <- fastdml:::forest_train(train$X, y_res, d_res, NULL,
                                      list(num_trees = trees, seed = 1), threads)
      pred <- fastdml:::forest_predict(model, test$X, variance = TRUE, num_threads = threads)
      list(model = model, estimates = pred$estimates, variance = pred$variance)
    } else {
      model <- grf::causal_forest(train$X, y, d, Y.hat = y - y_res, W.hat = d - d_res,
                                  num.trees = trees, num.threads = threads, seed = 1)
      pred <- predict(model, test$X, estimate.variance = TRUE, num.threads = threads)
      list(model = model, estimates = pred$predictions, variance = pred$variance.estimates)
    }
  }
  if (tool == "fastdml") suppressPackageStartupMessages(library(fastdml))
  times <- numeric(reps)
  heap <- NA_real_
  for (r in seq_len(reps)) {
    invisible(gc(reset = TRUE))
    start <- Sys.time()
    result <- fit_once()
    times[r] <- as.numeric(difftime(Sys.time(), start, units = "secs"))
    heap <- sum(gc()[, 6])
    size <- as.numeric(utils::object.size(result$model)) / 2^20
    result$model <- NULL
  }
  list(times = times, heap = heap, size = size, data_peak = data_peak, peak = vm_hwm(),
       estimates = result$estimates, variance = result$variance, tau = test$tau)
}

run <- function(tool, reps) {
  if (requireNamespace("callr", quietly = TRUE)) {
    callr::r(run_tool, args = list(tool, n, p, trees, threads, reps, n_test),
             libpath = .libPaths(), show = FALSE)
  } else {
    run_tool(tool, n, p, trees, threads, reps, n_test)
  }
}

summarise <- function(name, res) {
  rmse <- sqrt(mean((res$estimates - res$tau)^2))
  cover <- mean(abs(res$estimates - res$tau) <= stats::qnorm(0.975) * sqrt(res$variance))
  data.frame(tool = name, time_s = stats::median(res$times), runs = length(res$times),
             rmse = rmse, coverage95 = cover, object_mb = res$size, r_max_used_mb = res$heap,
             vmhwm_mb = res$peak, vmhwm_data_mb = res$data_peak)
}

ours <- run("fastdml", reps_ours)
rows <- summarise("fastdml", ours)
if (!skip_grf && requireNamespace("grf", quietly = TRUE)) {
  theirs <- run("grf", reps_grf)
  rows <- rbind(rows, summarise(paste0("grf ", utils::packageVersion("grf")), theirs))
}

lines <- c(
  sprintf("bench_forest: n = %g, p = %d, trees = %d, threads = %d, test rows = %d, %s",
          n, p, trees, threads, n_test, format(Sys.time(), "%Y-%m-%d %H:%M")),
  utils::capture.output(print(rows, row.names = FALSE, digits = 4)))
if (nrow(rows) == 2L) {
  lines <- c(lines, sprintf(
    "cor(fastdml, grf) = %.4f; grf/fastdml: time %.1fx, object %.1fx, VmHWM %.1fx (above data: %.1fx); RMSE ratio fastdml/grf = %.3f",
    stats::cor(ours$estimates, theirs$estimates), rows$time_s[2] / rows$time_s[1],
    rows$object_mb[2] / rows$object_mb[1], rows$vmhwm_mb[2] / rows$vmhwm_mb[1],
    (rows$vmhwm_mb[2] - rows$vmhwm_data_mb[2]) / (rows$vmhwm_mb[1] - rows$vmhwm_data_mb[1]),
    rows$rmse[1] / rows$rmse[2]))
}
writeLines(lines)
out_dir <- file.path("inst", "benchmarks", "results")
if (dir.exists(out_dir)) {
  file <- file.path(out_dir, sprintf("bench_forest_%s.txt", format(Sys.Date(), "%Y-%m-%d")))
  cat(lines, sep = "\n", file = file, append = file.exists(file))
}
