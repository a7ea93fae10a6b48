# Simulation study (run by hand, not a test): bias, RMSE and 95% coverage against the known
# truth of DML with boosted (lrn_boost, the default), linear/logistic and stacked nuisances,
# on a non-linear confounded design (PLR and IRM) and on the lesson simulator (sim_lesson).
# Usage, from the package root: Rscript inst/benchmarks/study_learners.R
# Settings: STUDY_REPS (replications, default 100), STUDY_N (rows, default 2000).
# Writes inst/benchmarks/results/study_learners_<date>.txt.
suppressPackageStartupMessages(library(fastdml))
options(fastdml.progress = FALSE)
reps <- as.integer(Sys.getenv("STUDY_REPS", "100"))
n <- as.integer(Sys.getenv("STUDY_N", "2000"))

# Non-linear confounding: the confounder enters both the treatment and the outcome through
# sin(), a step and an interaction; linear nuisances miss it. True effect 0.5 (PLR: constant
# effect of a continuous treatment; IRM: binary treatment, heterogeneous effect with mean 0.5).
sim_nonlinear <- function(n, seed, binary) {
  set.seed(seed)
  x <- matrix(runif(n * 5, -2, 2), n, 5, dimnames = list(NULL, paste0("x", 1:5)))
  confounder <- sin(2 * x[, 1]) + (x[, 2] > 0) + x[, 3] * x[, 4] / 2
  if (binary) {
    d <- rbinom(n, 1, plogis(1.2 * confounder - 0.6))
    y <- d * (0.5 + 0.4 * x[, 5]) + 2 * confounder + rnorm(n)
  } else {
    d <- confounder + rnorm(n, sd = 0.7)
    y <- 0.5 * d + 2 * confounder + rnorm(n)
  }
  causal_data(data.frame(x, d = d, y = y), "y", "d", paste0("x", 1:5))
}

learners <- list(
  linear = function(binary) list(lrn_linear(), if (binary) lrn_logistic() else lrn_linear()),
  boost = function(binary) list(lrn_boost(), lrn_boost()),
  stack = function(binary) list(lrn_stack(linear = lrn_linear(), boost = lrn_boost()),
                                lrn_stack(linear = if (binary) lrn_logistic() else lrn_linear(),
                                          boost = lrn_boost())))

designs <- list(
  "non-linear, PLR" = list(make = function(s) sim_nonlinear(n, s, FALSE), model = "PLR", truth = 0.5),
  "non-linear, IRM ATE" = list(make = function(s) sim_nonlinear(n, s, TRUE), model = "IRM", truth = 0.5),
  "lesson, IRM ATE" = list(make = function(s) {
    causal_data(sim_lesson(n, seed = s), "outcome", "treatment", c("age", "browsing_time", "income"))
  }, model = "IRM", truth = 0.15))

rows <- list()
for (design in names(designs)) {
  d <- designs[[design]]
  for (learner in names(learners)) {
    started <- Sys.time()
    fits <- lapply(seq_len(reps), function(s) {
      spec <- d$make(s)
      pair <- learners[[learner]](d$model == "IRM")
      fit <- suppressWarnings(if (d$model == "PLR") {
        dml_plr(spec, pair[[1]], pair[[2]], seed = s)
      } else {
        dml_irm(spec, learner_outcome = pair[[1]], learner_treatment = pair[[2]], seed = s)
      })
      ci <- confint(fit)
      c(estimate = unname(coef(fit)), se = fit$se, covered = ci[1] <= d$truth && d$truth <= ci[2])
    })
    m <- do.call(rbind, fits)
    rows[[length(rows) + 1]] <- data.frame(
      design = design, learner = learner, n = n, reps = reps,
      bias = mean(m[, "estimate"]) - d$truth,
      rmse = sqrt(mean((m[, "estimate"] - d$truth)^2)),
      mean_se = mean(m[, "se"]), sd_estimate = stats::sd(m[, "estimate"]),
      coverage = mean(m[, "covered"]),
      seconds_per_fit = as.numeric(difftime(Sys.time(), started, units = "secs")) / reps)
    cat(sprintf("%-22s %-7s bias %+.4f rmse %.4f coverage %.2f\n", design, learner,
                tail(rows, 1)[[1]]$bias, tail(rows, 1)[[1]]$rmse, tail(rows, 1)[[1]]$coverage))
  }
}
table <- do.call(rbind, rows)
print(table, digits = 3, row.names = FALSE)
dir.create("inst/benchmarks/results", showWarnings = FALSE, recursive = TRUE)
out <- file.path("inst/benchmarks/results", sprintf("study_learners_%s.txt", Sys.Date()))
writeLines(c(sprintf("study_learners.R, %s, R %s, fastdml %s", Sys.time(), getRversion(),
                     utils::packageVersion("fastdml")),
             utils::capture.output(print(table, digits = 3, row.names = FALSE))), out)
cat("written to", out, "\n")
