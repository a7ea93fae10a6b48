# The introductory lesson (specs/lesson-basics.md) end to end: four estimates of a campaign's
# effect on conversion against the true 0.15. Run: Rscript inst/examples/lesson-basics.R
library(fastdml)
options(width = 120)

lesson <- sim_lesson(n = 600, seed = 63)
spec <- causal_data(outcome ~ treatment | age + browsing_time + income, data = lesson)

estimates <- list(
  "Difference in means (A/B read-out)" = diff_in_means(spec),
  "IPW, Hajek-normalised, logistic propensity" = ipw(spec),
  "DML, partialling out, linear nuisances, 2 folds" = dml_plr(spec, lrn_linear(), lrn_linear(), n_folds = 2, seed = 63),
  "T-learner uplift, linear outcome models" = t_learner(spec, n_boot = 200, seed = 63)
)
table <- do.call(rbind, lapply(names(estimates), function(method) {
  row <- tidy(estimates[[method]])
  data.frame(method = method, estimate = row$estimate, std.error = row$std.error,
             conf.low = row$conf.low, conf.high = row$conf.high,
             error = row$estimate - attr(lesson, "true_ate"))
}))
cat("True effect:", attr(lesson, "true_ate"), "\n\n")
print(format(table, digits = 3), row.names = FALSE)

fit <- estimates[[3]]
cat("\nDML nuisance quality per fold (out of fold):\n")
print(nuisances(fit)$quality[!is.na(fold), .(nuisance, fold, n, rmse, r2)])
