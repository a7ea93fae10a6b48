# Benchmark: PLR and IRM with linear / logistic nuisances (p = 20, K = 5 folds) at several n.
# Run by hand from the package root (never in tests):
#   Rscript inst/benchmarks/bench_linear.R                 # n = 1e4, 1e5, 1e6
#   Rscript inst/benchmarks/bench_linear.R 1e4 1e5         # chosen sizes
# Environment: FASTDML_BENCH_RUNS (default 3) runs of each fastdml configuration (median
# reported); FASTDML_BENCH_PEER_RUNS (default 3) runs of each baseline.
# Compares, on the same data and the same folds:
#   fastdml at 1 and 2 threads; (a) a plain R pipeline (lm.fit / glm.fit per fold, the same
#   scores written in R); (b) DoubleML (R) with mlr3 regr.lm / classif.log_reg, when installed.
# Reports the median elapsed time, the speed-up of fastdml (2 threads) over each baseline in
# the same run, the peak resident memory added by a fastdml fit (2 threads, fresh process)
# relative to the size of X, and the absolute difference of the baselines' estimates from
# fastdml's.
suppressPackageStartupMessages(library(fastdml))
args <- commandArgs(trailingOnly = TRUE)
memory_mode <- length(args) == 3L && args[1] == "--memory"
sizes <- if (memory_mode) as.numeric(args[3]) else if (length(args)) as.numeric(args) else c(1e4, 1e5, 1e6)
runs <- as.integer(Sys.getenv("FASTDML_BENCH_RUNS", "3"))
peer_runs <- as.integer(Sys.getenv("FASTDML_BENCH_PEER_RUNS", "3"))
p <- 20L
K <- 5L
has_doubleml <- requireNamespace("DoubleML", quietly = TRUE) &&
  requireNamespace("mlr3", quietly = TRUE) && requireNamespace("mlr3learners", quietly = TRUE)

simulate <- function(n, seed = 1) {
  set.seed(seed)
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  beta <- seq(1, -1, length.out = p) / sqrt(p)
  d <- rbinom(n, 1, plogis(drop(X %*% beta)))
  y <- 0.5 * d + drop(X %*% rev(beta)) + rnorm(n)
  data.table::data.table(X, d = d, y = y)
}

median_time <- function(n_runs, expr_fun) {
  times <- numeric(n_runs)
  value <- NULL
  for (r in seq_len(n_runs)) {
    gc()
    times[r] <- system.time(value <- expr_fun())[["elapsed"]]
  }
  list(time = stats::median(times), value = value)
}

# Peak resident memory (MB) added by one fit, measured in a fresh R process that holds only
# the covariate matrix and the fit's inputs: the kernel's high-water mark is reset just before
# the fit (Linux /proc/self/clear_refs) and read after it, so C++ allocations count too.
status_mb <- function(field) {
  line <- grep(paste0("^", field, ":"), readLines("/proc/self/status"), value = TRUE)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}
fit_model <- function(model, spec, folds, threads) {
  if (model == "PLR") dml_plr(spec, lrn_linear(), lrn_linear(), folds = folds, num.threads = threads)
  else dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
               folds = folds, num.threads = threads)
}
if (memory_mode) {
  dt <- simulate(sizes)
  spec <- causal_data(dt, "y", "d", paste0("x", seq_len(p)))
  folds <- make_folds(spec, K, seed = 42)
  rm(dt)
  invisible(gc())
  writeLines("5", "/proc/self/clear_refs")
  before <- status_mb("VmRSS")
  fit <- fit_model(args[2], spec, folds, 2L)
  cat(status_mb("VmHWM") - before, "\n")
  quit(save = "no")
}
peak_memory_mb <- function(model, n) {
  script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  out <- tryCatch(system2(file.path(R.home("bin"), "Rscript"),
                          c(script, "--memory", model, format(n, scientific = FALSE)),
                          stdout = TRUE, stderr = FALSE), error = function(e) NA)
  suppressWarnings(as.numeric(utils::tail(out, 1)))
}

# (a) The plain R reference: lm.fit / glm.fit per fold, scores in R.
plain_r <- function(model, X, y, d, folds) {
  Xi <- cbind(1, X)
  n <- length(y)
  fit_lm <- function(target, train) lm.fit(Xi[train, , drop = FALSE], target[train])$coefficients
  if (model == "PLR") {
    l <- m <- numeric(n)
    for (k in seq_len(K)) {
      test <- folds == k
      l[test] <- Xi[test, ] %*% fit_lm(y, !test)
      m[test] <- Xi[test, ] %*% fit_lm(d, !test)
    }
    v <- d - m
    return(sum((y - l) * v) / sum(v^2))
  }
  g0 <- g1 <- m <- numeric(n)
  for (k in seq_len(K)) {
    test <- folds == k
    g0[test] <- Xi[test, ] %*% fit_lm(y, !test & d == 0)
    g1[test] <- Xi[test, ] %*% fit_lm(y, !test & d == 1)
    b <- glm.fit(Xi[!test, ], d[!test], family = binomial())$coefficients
    m[test] <- plogis(Xi[test, ] %*% b)
  }
  m <- pmin(pmax(m, 0.01), 0.99)
  mean(g1 - g0 + d * (y - g1) / m - (1 - d) * (y - g0) / (1 - m))
}

# (b) DoubleML with the same folds.
doubleml <- function(model, dt, folds) {
  lgr::get_logger("mlr3")$set_threshold("warn")
  data <- DoubleML::DoubleMLData$new(dt, y_col = "y", d_cols = "d", x_cols = paste0("x", seq_len(p)))
  ids <- seq_len(nrow(dt))
  smpl <- list(list(train_ids = lapply(seq_len(K), function(k) ids[folds != k]),
                    test_ids = lapply(seq_len(K), function(k) ids[folds == k])))
  obj <- if (model == "PLR") {
    DoubleML::DoubleMLPLR$new(data, ml_l = mlr3::lrn("regr.lm"), ml_m = mlr3::lrn("regr.lm"),
                              n_folds = K, draw_sample_splitting = FALSE)
  } else {
    DoubleML::DoubleMLIRM$new(data, ml_g = mlr3::lrn("regr.lm"),
                              ml_m = mlr3::lrn("classif.log_reg"), n_folds = K,
                              trimming_threshold = 0.01, draw_sample_splitting = FALSE)
  }
  obj$set_sample_splitting(smpl)
  obj$fit()
  unname(obj$coef)
}

rows <- list()
for (n in sizes) {
  dt <- simulate(n)
  spec <- causal_data(dt, "y", "d", paste0("x", seq_len(p)))
  folds <- make_folds(spec, K, seed = 42)
  X <- spec$X
  x_mb <- n * p * 8 / 2^20
  for (model in c("PLR", "IRM")) {
    fit_fun <- function(threads) fit_model(model, spec, folds, threads)
    one <- median_time(runs, function() fit_fun(1))
    two <- median_time(runs, function() fit_fun(2))
    theta <- unname(coef(two$value))
    stopifnot(identical(coef(one$value), coef(two$value)))
    mem <- peak_memory_mb(model, n)
    base <- median_time(peer_runs, function() plain_r(model, X, spec$y, spec$d, folds[, 1]))
    peer <- if (has_doubleml) median_time(peer_runs, function() doubleml(model, dt, folds[, 1]))
            else list(time = NA_real_, value = NA_real_)
    rows[[length(rows) + 1L]] <- data.frame(
      model = model, n = format(n, scientific = TRUE), fastdml_1t = one$time,
      fastdml_2t = two$time, plain_R = base$time, DoubleML = peer$time,
      x_plain_R = base$time / two$time, x_DoubleML = peer$time / two$time,
      peak_MB = mem, peak_over_X = mem / x_mb,
      diff_plain_R = abs(base$value - theta), diff_DoubleML = abs(peer$value - theta))
    print(utils::tail(rows, 1)[[1]], row.names = FALSE, digits = 3)
  }
}
result <- do.call(rbind, rows)
cat("\nMachine:", parallel::detectCores(), "cores;", R.version.string, "\n")
cat("Median of", runs, "runs (fastdml) and", peer_runs, "runs (baselines); times in seconds.\n\n")
print(result, row.names = FALSE, digits = 3)
