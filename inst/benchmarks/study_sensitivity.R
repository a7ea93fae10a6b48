# Study: coverage of the bias-aware confidence interval of sensitivity() when a known confounder
# is omitted (issue acceptance: with the confounder's strength inside the scenario, the
# bias-aware CI covers the truth in at least 95% of about 200 replications while the plain CI
# does not). Run by hand from the package root (never in tests):
#   Rscript inst/benchmarks/study_sensitivity.R
# Environment: STUDY_REPS (default 200), STUDY_N (default 2000), STUDY_SCALES (default "1,1.2":
# the scenarios' strengths relative to the confounder's true ones; 1 = exactly its strength).
# Design (PLR, linear): X ~ N(0, I_5), U ~ N(0, 1) omitted from the fit,
#   D = X a + g_d U + e_d,  e_d ~ N(0, s_d^2);  Y = theta D + X b + g_y U + e_y,  e_y ~ N(0, s_y^2).
# The fit uses X only (lrn_linear() nuisances, 5 folds). With V = g_d^2 + s_d^2, the omitted
# confounder's strengths in the sense of Chernozhukov et al. (2022) are
#   cf_d = 1 - Var(D | X, U) / Var(D | X) = g_d^2 / V                (its share of the Riesz
#          representer's variation: alpha = (D - m) / Var(D | X) in the PLR),
#   cf_y = 1 - Var(Y | D, X, U) / Var(Y | D, X) = g_y^2 s_d^2 / V / (g_y^2 s_d^2 / V + s_y^2),
# the short fit's bias is g_y g_d / V, and with rho = 1 the bound
# sqrt(cf_y cf_d / (1 - cf_d)) sqrt(sigma2 nu2) equals that bias exactly in the population (the
# linear model attains the worst case). The scenarios passed are STUDY_SCALES times the true
# (cf_y, cf_d), so the confounder sits inside (on the edge of, for scale 1) each of them.
suppressPackageStartupMessages(library(fastdml))
options(fastdml.progress = FALSE)
reps <- as.integer(Sys.getenv("STUDY_REPS", "200"))
n <- as.integer(Sys.getenv("STUDY_N", "2000"))
scales <- as.numeric(strsplit(Sys.getenv("STUDY_SCALES", "1,1.2"), ",", fixed = TRUE)[[1]])
p <- 5L
theta <- 0.5
a <- c(0.5, -0.3, 0.2, 0, 0.1)
b <- c(1, 0.5, -0.5, 0.3, 0)
g_d <- 0.6; s_d <- 1; g_y <- 0.8; s_y <- 1
V <- g_d^2 + s_d^2
cf_d <- g_d^2 / V
explained <- g_y^2 * s_d^2 / V
cf_y <- explained / (explained + s_y^2)
bias <- g_y * g_d / V
level <- 0.95

one <- function(r) {
  set.seed(1000 + r)
  X <- matrix(stats::rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  U <- stats::rnorm(n)
  d <- drop(X %*% a) + g_d * U + stats::rnorm(n, sd = s_d)
  y <- theta * d + drop(X %*% b) + g_y * U + stats::rnorm(n, sd = s_y)
  spec <- causal_data(data.frame(X, d = d, y = y), "y", "d", colnames(X))
  fit <- dml_plr(spec, lrn_linear(), lrn_linear(), n_folds = 5, seed = r)
  ci <- stats::confint(fit, level = level)
  row <- c(estimate = unname(stats::coef(fit)), plain = ci[1] <= theta && theta <= ci[2])
  for (scale in scales) {
    tab <- sensitivity(fit, cf_y = scale * cf_y, cf_d = scale * cf_d, rho = 1, level = level)$table
    row[paste0(c("bias_aware_", "bounds_", "max_bias_"), scale)] <-
      c(tab$ci_lower <= theta && theta <= tab$ci_upper,
        tab$theta_lower <= theta && theta <= tab$theta_upper, tab$max_bias)
  }
  row
}
started <- proc.time()[["elapsed"]]
results <- do.call(rbind, lapply(seq_len(reps), one))
elapsed <- proc.time()[["elapsed"]] - started
out <- c(
  sprintf("study_sensitivity.R, %s: PLR with a known omitted confounder, n = %d, %d replications, %s",
          format(Sys.Date()), n, reps, R.version.string),
  sprintf("true theta %.2f; omitted confounder: cf_y = %.4f, cf_d = %.4f, short-fit bias %.4f; rho = 1",
          theta, cf_y, cf_d, bias),
  sprintf("mean estimate %.4f (bias %.4f); plain %g%% CI covers the truth in %.1f%% of replications",
          mean(results[, "estimate"]), mean(results[, "estimate"]) - theta, 100 * level,
          100 * mean(results[, "plain"])),
  vapply(scales, function(scale) {
    sprintf("scenario %.1f x (cf_y, cf_d): mean max_bias %.4f; bias-aware CI covers %.1f%%, bounds alone %.1f%%",
            scale, mean(results[, paste0("max_bias_", scale)]),
            100 * mean(results[, paste0("bias_aware_", scale)]),
            100 * mean(results[, paste0("bounds_", scale)]))
  }, character(1)),
  sprintf("time %.1f s", elapsed))
cat(out, sep = "\n")
dir.create("inst/benchmarks/results", showWarnings = FALSE, recursive = TRUE)
writeLines(out, sprintf("inst/benchmarks/results/study_sensitivity_%s.txt", format(Sys.Date())))
