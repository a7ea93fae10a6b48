# Small fixed data sets for the tests (independent of the package's simulators).
make_test_data <- function(n = 400, p = 4, seed = 1, binary_d = TRUE, theta = 1,
                           n_clusters = 0, weights = FALSE) {
  set.seed(seed)
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  lin <- drop(X %*% seq(0.5, -0.5, length.out = p))
  d <- if (binary_d) rbinom(n, 1, plogis(0.8 * lin)) else 0.5 * lin + rnorm(n)
  y <- theta * d + lin + 0.5 * X[, 1]^2 + rnorm(n)
  df <- data.frame(X, d = d, y = y)
  if (n_clusters > 0) df$cl <- sample(seq_len(n_clusters), n, replace = TRUE)
  if (weights) df$w <- runif(n, 0.2, 2)
  df
}

test_spec <- function(df, ...) {
  causal_data(df, outcome = "y", treatment = "d", covariates = grep("^x", names(df), value = TRUE), ...)
}

X_of <- function(df) as.matrix(df[, grep("^x", names(df))])

# A fit against a reference result (ref_plr / ref_irm): estimate, SE, per-repetition values,
# 90% and 95% intervals and the p-value.
expect_matches_reference <- function(fit, ref, tol = 1e-8) {
  expect_equal(unname(coef(fit)), ref$theta, tolerance = tol)
  expect_equal(fit$se, ref$se, tolerance = tol)
  expect_equal(fit$theta_rep, ref$theta_rep, tolerance = tol)
  expect_equal(fit$se_rep, ref$se_rep, tolerance = tol)
  expect_equal(unname(confint(fit)[1, ]), c(ref$conf.low, ref$conf.high), tolerance = tol)
  expect_equal(unname(confint(fit, level = 0.9)[1, ]),
               ref$theta + c(-1, 1) * qnorm(0.95) * ref$se, tolerance = tol)
  expect_equal(tidy(fit)$p.value, ref$p.value, tolerance = tol)
}

# Evaluates `code`, muffling its warnings; returns the value and the first class of each warning.
collect_warnings <- function(code) {
  classes <- character()
  value <- withCallingHandlers(code, warning = function(w) {
    classes <<- c(classes, class(w)[1L])
    invokeRestart("muffleWarning")
  })
  list(value = value, classes = classes)
}

# The estimators with the former default learners (linear outcome and treatment models for PLR;
# linear outcome and logistic propensity for IRM), for the tests against the linear/logistic
# references and of linear-specific behaviour. The default learners are lrn_boost().
plr_linear <- function(spec, ..., learner_outcome = lrn_linear(), learner_treatment = lrn_linear()) {
  dml_plr(spec, learner_outcome = learner_outcome, learner_treatment = learner_treatment, ...)
}
irm_linear <- function(spec, ..., learner_outcome = lrn_linear(), learner_treatment = lrn_logistic()) {
  dml_irm(spec, learner_outcome = learner_outcome, learner_treatment = learner_treatment, ...)
}
