# A small workload of fastdml's compiled code, meant to run under valgrind (see
# tools/valgrind.sh); not part of the test suite. Every call below reaches C++: cross-fitting
# (.fastdml_crossfit), full-sample fits (.fastdml_fit_predict), scores (.fastdml_plr_score,
# .fastdml_irm_score), inference (.fastdml_inference) and prediction quality (.fastdml_quality),
# on 1 and 2 threads, with and without clusters and observation weights. Kept to n = 400 so that
# it finishes in a few minutes under memcheck. Light sanity checks make a wrong answer an error.
suppressPackageStartupMessages(library(fastdml))
cat("fastdml", format(utils::packageVersion("fastdml")), "from", find.package("fastdml"), "\n")

check <- function(fit) {
  tab <- tidy(fit)
  stopifnot(is.data.frame(tab), nrow(tab) >= 1L, all(is.finite(tab$estimate)),
            all(is.finite(tab$std.error)), all(tab$std.error > 0))
  nu <- nuisances(fit)
  stopifnot(is.matrix(nu$folds), nrow(nu$folds) == nobs(fit), nrow(nu$quality) > 0L)
  invisible(tab)
}
show <- function(label, fit) {
  tab <- check(fit)
  cat(sprintf("%-44s estimate %8.4f  se %.4f\n", label, tab$estimate[1], tab$std.error[1]))
}

covs <- c("age", "browsing_time", "income")
df <- sim_lesson(n = 400, seed = 1)
n <- nrow(df)
cluster <- rep(seq_len(40), length.out = n)               # 40 clusters of 10 rows
weights <- 0.5 + (seq_len(n) %% 4) / 2                     # 0.5, 1, 1.5, 2, ...

spec <- causal_data(df, outcome = "outcome", treatment = "treatment", covariates = covs)
spec_cw <- causal_data(df, outcome = "outcome", treatment = "treatment", covariates = covs,
                       cluster = cluster, weights = weights)
stopifnot(nobs(spec) == n, !is.null(spec_cw$cluster), !is.null(spec_cw$weights))

for (threads in c(1L, 2L)) {
  for (s in list(list(name = "plain", spec = spec), list(name = "cluster+weights", spec = spec_cw))) {
    tag <- sprintf("[%s, %d thread%s]", s$name, threads, if (threads > 1L) "s" else "")
    fit <- dml_plr(s$spec, learner_outcome = lrn_linear(ridge = 1),
                   learner_treatment = lrn_logistic(ridge = 1),
                   n_folds = 3, n_rep = 2, seed = 1, num.threads = threads)
    show(paste("dml_plr", tag), fit)
    for (estimand in c("ATE", "ATT")) {
      fit <- dml_irm(s$spec, estimand = estimand, learner_outcome = lrn_linear(ridge = 1),
                     learner_treatment = lrn_logistic(ridge = 1), n_folds = 3, n_rep = 2,
                     trim = 0.05, normalize = TRUE, seed = 1, num.threads = threads)
      show(paste("dml_irm", estimand, tag), fit)
      g <- glance(fit)
      stopifnot(nrow(g) == 1L)
    }
  }
}

# Unpenalised learners, the IV-type score (a second cross-fit of g) and external nuisances.
fit <- dml_plr(spec_cw, score = "IV-type", n_folds = 3, n_rep = 2, seed = 2, num.threads = 2)
show("dml_plr IV-type [cluster+weights, 2 threads]", fit)
fit <- dml_irm(spec, estimand = "ATE", n_folds = 3, n_rep = 2, seed = 2, num.threads = 2)
show("dml_irm ATE default learners [2 threads]", fit)
refit <- dml_irm(spec, estimand = "ATE", nuisances = nuisances(fit), num.threads = 1)
stopifnot(isTRUE(all.equal(coef(refit), coef(fit))))
show("dml_irm ATE external nuisances", refit)

# Baselines: full-sample fits in C++.
for (threads in c(1L, 2L)) {
  est <- ipw(spec, learner = lrn_logistic(ridge = 1), trim = 0.05, num.threads = threads)
  stopifnot(is.finite(coef(est)), all(est$propensity > 0 & est$propensity < 1))
  cat(sprintf("%-44s estimate %8.4f\n", sprintf("ipw [%d threads]", threads), tidy(est)$estimate))
  est <- t_learner(spec, learner = lrn_linear(ridge = 1), num.threads = threads)
  cat(sprintf("%-44s estimate %8.4f\n", sprintf("t_learner [%d threads]", threads), tidy(est)$estimate))
  stopifnot(is.finite(tidy(est)$estimate))
}
est <- t_learner(spec, learner = lrn_linear(ridge = 1), n_boot = 3, seed = 1, num.threads = 2)
stopifnot(is.finite(tidy(est)$std.error))
cat("t_learner with 3 bootstrap draws: ok\n")

# More covariates than rows: ridge on the principal axes (a view without standardisation), and
# the G / (G - 1) cluster correction.
set.seed(5)
wide <- as.data.frame(matrix(rnorm(60 * 90), 60, 90))
wide$d <- rbinom(60, 1, 0.5)
wide$y <- wide$d + wide$V1 + rnorm(60)
spec_wide <- causal_data(wide, "y", "d")
fit <- suppressWarnings(dml_irm(spec_wide, n_folds = 3, seed = 1, num.threads = 2))
show("dml_irm p > n (ridge, principal axes)", fit)
est <- suppressWarnings(ipw(spec_wide, num.threads = 2))
stopifnot(is.finite(coef(est)))
fit <- dml_plr(spec_cw, n_folds = 3, seed = 3, cluster_correction = TRUE, num.threads = 2)
show("dml_plr cluster_correction", fit)

rm(list = ls())
invisible(gc())
cat("valgrind suite: done\n")
