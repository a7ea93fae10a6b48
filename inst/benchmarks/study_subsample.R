# Simulation study (run by hand, not a test): what row subsampling per boosting round does to
# the nuisances of lrn_boost(), by table size. This is the evidence for lrn_boost()'s default
# `subsample = NULL` (all fitting rows in folds of up to 1e5 of them, max(30%, 1e5 rows) in
# larger ones) against fixed shares 1, 0.5 and 0.3.
# Usage, from the package root: Rscript inst/benchmarks/study_subsample.R
# Settings: STUDY_N (sizes, comma separated, default "1e3,3e3,1e4,1e5,3e5"), STUDY_REPS
# (replications at n <= 1e4, default 6; half as many, at least 2, above).
# Data: the non-linear confounded design of bench_learners.R (sim_nonlinear_irm.R: p = 20,
# binary treatment whose propensity is non-linear in x1..x4, outcome non-linear in x1..x6,
# true ATE 1). Each
# replication fits dml_irm() with 5 folds and the same lrn_boost() for g0, g1 and m, once per
# subsample setting, on the same data and folds. Reported per size and setting, averaged over
# replications: the excess mean squared error of each nuisance against its true function
# (mean over all rows of (prediction - truth)^2), |ATE - 1| and the fit time (2 threads).
# Writes inst/benchmarks/results/study_subsample_<date>.txt.
suppressPackageStartupMessages(library(fastdml))
options(fastdml.progress = FALSE)
env_num <- function(name, default) {
  value <- Sys.getenv(name, "")
  if (nzchar(value)) as.numeric(strsplit(value, ",", fixed = TRUE)[[1]]) else default
}
sizes <- env_num("STUDY_N", c(1e3, 3e3, 1e4, 1e5, 3e5))
reps_small <- as.integer(env_num("STUDY_REPS", 6))
p <- 20L
source("inst/benchmarks/sim_nonlinear_irm.R")
simulate <- function(n, seed) {
  sim <- simulate_nonlinear_irm(n, seed, p = p)
  data <- data.frame(sim$X, d = sim$d, y = sim$y)
  list(spec = causal_data(data, "y", "d", colnames(sim$X)), g0 = sim$g0, g1 = sim$g1,
       m = sim$propensity)
}
settings <- list(`1` = 1, `0.5` = 0.5, `0.3` = 0.3, `NULL (default)` = NULL)
rows <- list()
for (n in sizes) {
  reps <- if (n <= 1e4) reps_small else max(2L, reps_small %/% 2L)
  for (seed in seq_len(reps)) {
    truth <- simulate(n, seed)
    for (name in names(settings)) {
      learner <- lrn_boost(subsample = settings[[name]])
      elapsed <- system.time(
        fit <- dml_irm(truth$spec, learner_outcome = learner, learner_treatment = learner,
                       n_folds = 5, seed = seed, num.threads = 2))[["elapsed"]]
      nu <- nuisances(fit)
      rows[[length(rows) + 1L]] <- data.frame(
        n = n, subsample = name, seed = seed,
        g0_excess = mean((nu$g0[, 1] - truth$g0)^2), g1_excess = mean((nu$g1[, 1] - truth$g1)^2),
        m_excess = mean((nu$m[, 1] - truth$m)^2), ate_abs_error = abs(unname(coef(fit)) - 1),
        seconds = elapsed)
    }
  }
}
results <- do.call(rbind, rows)
table <- aggregate(cbind(g0_excess, g1_excess, m_excess, ate_abs_error, seconds) ~ n + subsample,
                   results, mean)
table$reps <- aggregate(seed ~ n + subsample, results, length)$seed
table <- table[order(table$n, match(table$subsample, names(settings))), ]
header <- c(sprintf("study_subsample.R, %s, R %s, fastdml %s, %d threads", format(Sys.time(), "%Y-%m-%d %H:%M:%S"),
                    getRversion(), utils::packageVersion("fastdml"), 2L),
            "Mean over replications of the nuisances' excess MSE against the truth, |ATE - 1| and seconds per fit.")
out <- c(header, utils::capture.output(print(table, row.names = FALSE, digits = 4)))
writeLines(out)
dir.create("inst/benchmarks/results", showWarnings = FALSE, recursive = TRUE)
writeLines(out, sprintf("inst/benchmarks/results/study_subsample_%s.txt", format(Sys.Date())))
