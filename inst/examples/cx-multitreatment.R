# The CX multi-treatment case study (specs/cx-multitreatment.md) in brief: four arms of
# customer experience, a binary outcome, 100,000 customers. Effects of each arm against control
# by multi-arm DML next to the truth, the design diagnostics and the sensitivity to a hidden
# confounder.
# Run: Rscript inst/examples/cx-multitreatment.R   (about 15 s on 2 cores)
library(fastdml)
options(width = 120, fastdml.progress = FALSE)

d <- sim_cx(n = 1e5, seed = 42)
spec <- causal_data(d, outcome = "y", treatment = "arm", control = "control",
                    covariates = names(d)[1:20])
fit <- suppressWarnings(dml_multi_irm(spec, n_folds = 5, trim = 0.01, seed = 42))
fit

truth <- attr(d, "true_ate")[-1]
cat("\nEstimates against the truth (true_ate: effect of the data as generated; structural: the",
    "reference analysis's truth, see ?sim_cx):\n")
print(format(data.frame(estimate = coef(fit), std.error = fit$se, true_ate = truth,
                        structural = attr(d, "true_ate_structural")[-1],
                        z = (coef(fit) - truth) / fit$se), digits = 3))
cat("\n")
diagnose(fit)
cat("\n")
sensitivity(fit, cf_y = 0.05, r2_d = 0.05, rho = 1)   # the case study's hidden-confounder scenario
