# Benchmark: the exact policy tree (DESIGN.md §4 "Decide", §5): fastdml:::policy_tree_fit()
# against policytree::policy_tree() (Sverdrup et al. 2020), same covariates, same rewards, same
# depth and min.node.size = 1.
# fastdml's search is exact over the FeatureBins bin edges (one bin per distinct value when a
# column has at most 255 of them); policytree's is exact over all distinct values. The
# covariates are therefore put on a grid of 255 values per column: then both searches are exact
# over the same candidate splits and must reach the same reward (trees may differ in ties).
# Data: X uniform on the grid {0, 1/254, ..., 1}^p; two actions (control, treat) with
# Gamma = cbind(x4 + e0, x4 + tau(x) + e1), e ~ N(0, 1), and a planted depth-2 rule
# tau(x) = 0.5 * (x1 <= 0.5 ? (x2 <= 0.3 ? 1 : -1) : (x3 <= 0.7 ? -1 : 1)).
# Run by hand from the package root (never in tests):
#   Rscript inst/benchmarks/bench_policy.R [n] [p] [depth]        # defaults 1e5 10 2
# Environment: BENCH_THREADS (fastdml threads, default 2; policytree runs on one thread, it has
# no thread option), BENCH_PT_LIMIT (seconds, default 900): when n > 5e4 policytree is first
# timed on the first 2e4 and 5e4 rows, and the run at n is skipped when the fitted power law
# predicts more than the limit. Times are elapsed seconds: fastdml the median of 3 fits,
# policytree one fit. Results are printed and written to
# inst/benchmarks/results/bench_policy_<date>.txt.
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1L) as.numeric(args[1]) else 1e5
p <- if (length(args) >= 2L) as.integer(args[2]) else 10L
depth <- if (length(args) >= 3L) as.integer(args[3]) else 2L
threads <- as.integer(Sys.getenv("BENCH_THREADS", "2"))
limit <- as.numeric(Sys.getenv("BENCH_PT_LIMIT", "900"))
suppressPackageStartupMessages(library(fastdml))
has_pt <- requireNamespace("policytree", quietly = TRUE)

set.seed(20261125)
X <- matrix(sample.int(255L, n * p, replace = TRUE) - 1, n, p) / 254
colnames(X) <- paste0("x", seq_len(p))
tau <- 0.5 * ifelse(X[, 1] <= 0.5, ifelse(X[, 2] <= 0.3, 1, -1), ifelse(X[, 3] <= 0.7, -1, 1))
Gamma <- cbind(control = X[, 4] + stats::rnorm(n), treat = X[, 4] + tau + stats::rnorm(n))

elapsed <- function(expr) {
  start <- Sys.time()
  value <- force(expr)
  list(time = as.numeric(difftime(Sys.time(), start, units = "secs")), value = value)
}

compare <- function(m, with_pt = TRUE) {
  rows <- seq_len(m)
  x <- X[rows, , drop = FALSE]
  g <- Gamma[rows, , drop = FALSE]
  runs <- lapply(1:3, function(r) {
    elapsed(fastdml:::policy_tree_fit(x, g, depth = depth, num_threads = threads))
  })
  ours <- runs[[1]]$value
  out <- data.frame(n = m, fastdml_s = stats::median(vapply(runs, `[[`, 0, "time")),
                    fastdml_reward = ours$reward, policytree_s = NA_real_,
                    policytree_reward = NA_real_, same_reward = NA, ratio = NA_real_)
  if (with_pt) {
    pt <- elapsed(policytree::policy_tree(x, g, depth = depth))
    reward <- sum(g[cbind(rows, predict(pt$value, x))])
    out$policytree_s <- pt$time
    out$policytree_reward <- reward
    out$same_reward <- abs(reward - ours$reward) <= 1e-8 * max(1, abs(reward))
    out$ratio <- pt$time / out$fastdml_s
  }
  out
}

distinct <- max(apply(X, 2, function(x) length(unique(x))))
lines <- c(
  sprintf("bench_policy: n = %g, p = %d, depth = %d, actions = 2, fastdml threads = %d, %s",
          n, p, depth, threads, format(Sys.time(), "%Y-%m-%d %H:%M")),
  sprintf(paste("Covariates rounded to a grid: at most %d distinct values per column, so both",
                "searches are exact over the same candidate splits and must reach the same reward."),
          distinct),
  if (has_pt) sprintf("policytree %s (one thread)", utils::packageVersion("policytree"))
  else "policytree not installed: fastdml alone")
results <- NULL
run_full <- has_pt
if (has_pt && n > 5e4) {
  small <- rbind(compare(2e4), compare(5e4))
  results <- small
  slope <- diff(log(small$policytree_s)) / diff(log(small$n))
  predicted <- small$policytree_s[2] * (n / 5e4)^slope
  lines <- c(lines, sprintf(
    "policytree time grows like n^%.2f between n = 2e4 and 5e4; predicted at n = %g: %.0f s",
    slope, n, predicted))
  run_full <- predicted <= limit
  if (!run_full) lines <- c(lines, sprintf("policytree skipped at n = %g (prediction above %g s)", n, limit))
}
results <- rbind(results, compare(n, with_pt = run_full))
lines <- c(lines, utils::capture.output(print(results, row.names = FALSE, digits = 10)))
last <- results[nrow(results), ]
if (isTRUE(last$same_reward)) {
  lines <- c(lines, sprintf("n = %g: same reward (|difference| = %.3g); policytree / fastdml time = %.0fx",
                            n, abs(last$policytree_reward - last$fastdml_reward), last$ratio))
}
writeLines(lines)
out_dir <- file.path("inst", "benchmarks", "results")
if (dir.exists(out_dir)) {
  file <- file.path(out_dir, sprintf("bench_policy_%s.txt", format(Sys.Date(), "%Y-%m-%d")))
  cat(lines, sep = "\n", file = file, append = file.exists(file))
}
