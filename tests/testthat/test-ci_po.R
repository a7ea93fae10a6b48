# ci_po(): propensity-binned regression adjustment (specs/amazon-ci-dml.md, baseline CI-PO).

# Hand computation: glm propensity, type-1 quantile cut points of the treated, cut(), one lm()
# per bin on its controls, ATT = (weighted) mean over the treated of y - predicted Y(0).
ref_ci_po <- function(df, ps_cols, out_cols, n_bins, cuts = NULL, w = NULL) {
  e <- fitted(glm(reformulate(ps_cols, "d"), family = binomial(), data = df))
  if (is.null(cuts)) cuts <- quantile(e[df$d == 1], seq_len(n_bins - 1) / n_bins, type = 1, names = FALSE)
  bin <- cut(e, c(-Inf, cuts, Inf))
  if (is.null(w)) w <- rep(1, nrow(df))
  y0 <- rep(NA_real_, nrow(df))
  att_bin <- numeric()
  rhs <- if (length(out_cols)) out_cols else "1"
  for (lev in levels(bin)) {
    ctrl <- df[bin == lev & df$d == 0, ]
    ctrl$w_ref <- w[bin == lev & df$d == 0]
    m <- lm(reformulate(rhs, "y"), data = ctrl, weights = w_ref)
    tr <- which(bin == lev & df$d == 1)
    y0[tr] <- predict(m, newdata = df[tr, ])
    att_bin <- c(att_bin, weighted.mean(df$y[tr] - y0[tr], w[tr]))
  }
  t <- df$d == 1
  list(att = weighted.mean((df$y - y0)[t], w[t]), att_bin = att_bin, cuts = cuts, e = e,
       n_treated = as.vector(table(bin[t])), n_control = as.vector(table(bin[!t])))
}

xs <- paste0("x", 1:4)

test_that("ci_po equals a hand computation with glm, cut and lm per bin", {
  df <- make_test_data(n = 400, p = 4, seed = 11)
  spec <- test_spec(df)
  fit <- ci_po(spec, n_bins = 4, bootstrap = 0)
  ref <- ref_ci_po(df, xs, xs, 4)
  expect_s3_class(fit, "fastdml_estimate")
  expect_equal(unname(coef(fit)), ref$att, tolerance = 1e-8)
  expect_s3_class(fit$bins, "data.table")
  expect_identical(names(fit$bins), c("bin", "e_low", "e_high", "n_treated", "n_control", "att"))
  expect_equal(fit$bins$att, ref$att_bin, tolerance = 1e-8)
  expect_equal(fit$bins$e_high[1:3], ref$cuts, tolerance = 1e-8)
  expect_identical(fit$bins$n_treated, ref$n_treated)
  expect_identical(fit$bins$n_control, ref$n_control)
  expect_equal(fit$propensity, unname(ref$e), tolerance = 1e-7)
  expect_true(is.na(fit$se) && length(fit$draws) == 0L)
  expect_type(fit$elapsed, "double")
  expect_match(fit$method, "CI-PO (4 propensity bins, no bootstrap)", fixed = TRUE)
  # Covariate subsets for the propensity and the outcome regressions.
  sub <- ci_po(spec, n_bins = 4, bootstrap = 0, propensity_covariates = c("x1", "x3"),
               outcome_covariates = "x2")
  expect_equal(unname(coef(sub)), ref_ci_po(df, c("x1", "x3"), "x2", 4)$att, tolerance = 1e-8)
  means <- ci_po(spec, n_bins = 4, bootstrap = 0, outcome_covariates = character())
  expect_equal(unname(coef(means)), ref_ci_po(df, xs, character(), 4)$att, tolerance = 1e-8)
})

test_that("one bin is regression adjustment by one lm on the controls", {
  df <- make_test_data(n = 400, p = 4, seed = 12, weights = TRUE)
  for (weighted in c(FALSE, TRUE)) {
    w <- if (weighted) df$w else rep(1, nrow(df))
    ctrl <- df[df$d == 0, ]
    ctrl$w_ref <- w[df$d == 0]
    m <- lm(y ~ x1 + x2 + x3 + x4, data = ctrl, weights = w_ref)
    t <- df$d == 1
    ra <- weighted.mean(df$y[t] - predict(m, newdata = df[t, ]), w[t])
    fit <- ci_po(test_spec(df, weights = if (weighted) "w" else NULL), n_bins = 1, bootstrap = 0)
    expect_equal(unname(coef(fit)), ra, tolerance = 1e-8)
    expect_identical(nrow(fit$bins), 1L)
  }
})

test_that("ci_po recovers a known ATT under selection on observables", {
  set.seed(2024)
  n <- 4000
  X <- matrix(rnorm(n * 3), n, 3, dimnames = list(NULL, paste0("x", 1:3)))
  d <- rbinom(n, 1, plogis(-1 + 0.8 * X[, 1] - 0.6 * X[, 2] + 0.4 * X[, 3]))
  tau <- 2 + X[, 1]
  y <- 1 + 3 * X[, 1] + X[, 2] - X[, 3] + tau * d + rnorm(n)
  df <- data.frame(X, d = d, y = y)
  truth <- mean(tau[d == 1])
  fit <- ci_po(test_spec(df), n_bins = 10, bootstrap = 100, seed = 3)
  expect_true(is.finite(fit$se) && fit$se > 0)
  expect_lt(abs(unname(coef(fit)) - truth), 3 * fit$se)
  # The design is confounded: the naive contrast is far off.
  expect_gt(abs(mean(y[d == 1]) - mean(y[d == 0]) - truth), 5 * fit$se)
  expect_true(fit$boot$boot.low < truth && truth < fit$boot$boot.high)
})

test_that("the bootstrap redoes every step, is reproducible by seed and restores the RNG", {
  df <- make_test_data(n = 400, p = 4, seed = 13)
  spec <- test_spec(df)
  set.seed(99)
  before <- runif(1)
  set.seed(99)
  a <- ci_po(spec, n_bins = 4, bootstrap = 25, seed = 5)
  expect_identical(runif(1), before)
  b <- ci_po(spec, n_bins = 4, bootstrap = 25, seed = 5)
  expect_identical(a$draws, b$draws)
  expect_identical(a$se, b$se)
  expect_false(identical(a$draws, ci_po(spec, n_bins = 4, bootstrap = 25, seed = 6)$draws))
  expect_length(a$draws, 25L)
  expect_equal(a$se, sd(a$draws))
  expect_equal(c(a$boot$boot.low, a$boot$boot.high),
               unname(quantile(a$draws, c(0.025, 0.975))))
  expect_identical(unname(coef(a)), unname(coef(ci_po(spec, n_bins = 4, bootstrap = 0))))
  # The first draw: rows resampled within each arm, then glm/cut/lm redone on the resample.
  set.seed(5)
  treated <- which(df$d == 1)
  control <- which(df$d == 0)
  rows <- c(treated[sample.int(length(treated), replace = TRUE)],
            control[sample.int(length(control), replace = TRUE)])
  expect_equal(a$draws[1], ref_ci_po(df[rows, ], xs, xs, 4)$att, tolerance = 1e-8)
  expect_match(a$method, "CI-PO (4 propensity bins, 25 bootstrap draws)", fixed = TRUE)
  expect_identical(nobs(a), 400L)
  expect_equal(unname(confint(a)[1, ]), unname(coef(a)) + c(-1, 1) * qnorm(0.975) * a$se)
  expect_true(all(c("boot.se", "boot.low", "boot.high") %in% names(tidy(a))))
  expect_output(print(a), "CI-PO")
  clustered <- ci_po(test_spec(make_test_data(n = 400, p = 4, seed = 13, n_clusters = 40), cluster = "cl"),
                     n_bins = 4, bootstrap = 10, seed = 1)
  expect_match(clustered$method, "10 cluster bootstrap draws")
  expect_true(all(is.finite(clustered$draws)) && clustered$se > 0)
})

test_that("bins short of controls are merged, or give an overlap error naming the bin", {
  set.seed(7)
  n <- 300
  df <- data.frame(x1 = rnorm(n), x2 = rnorm(n), x3 = rnorm(n), x4 = rnorm(n))
  df$d <- rbinom(n, 1, plogis(0.5 + 2.5 * df$x1))
  df$y <- df$x1 + df$x2 + df$d + rnorm(n)
  fit <- ci_po(test_spec(df), n_bins = 10, bootstrap = 0)
  e <- fitted(glm(d ~ x1 + x2 + x3 + x4, family = binomial(), data = df))
  cuts <- quantile(e[df$d == 1], 1:9 / 10, type = 1, names = FALSE)
  n_control <- as.vector(table(cut(e[df$d == 0], c(-Inf, cuts, Inf))))
  expect_true(any(n_control < 6))  # 4 covariates + intercept need 6 controls
  # The documented rule on the hand counts: merge the bin with the fewest controls into its
  # neighbour with more controls (the lower on ties), i.e. drop the cut point between them.
  kept <- seq_along(cuts)
  while (any(n_control < 6)) {
    k <- which.min(n_control)
    nb <- intersect(c(k - 1L, k + 1L), seq_along(n_control))
    lo <- min(k, nb[which.max(n_control[nb])])
    n_control <- c(n_control[seq_len(lo - 1L)], n_control[lo] + n_control[lo + 1L], n_control[-seq_len(lo + 1L)])
    kept <- kept[-lo]
  }
  expect_lt(nrow(fit$bins), 10L)
  expect_identical(fit$bins$n_control, n_control)
  expect_equal(fit$bins$e_high[-nrow(fit$bins)], cuts[kept], tolerance = 1e-7)
  expect_identical(sum(fit$bins$n_treated), sum(df$d))
  expect_equal(unname(coef(fit)), ref_ci_po(df, xs, xs, 10, cuts = cuts[kept])$att, tolerance = 1e-8)
  expect_match(fit$method, "of 10 requested")
  # Too few controls in all: no merging helps.
  few <- rbind(df[df$d == 0, ][1:5, ], df[df$d == 1, ])
  expect_identical(sum(few$d == 0), 5L)
  err <- expect_error(ci_po(test_spec(few), n_bins = 4, bootstrap = 0), class = "fastdml_error_overlap")
  expect_match(conditionMessage(err), "bin [0-9]+ of 4")
  expect_error(ci_po(test_spec(few), n_bins = 1, bootstrap = 0), "bin 1 of 1", class = "fastdml_error_overlap")
  expect_true(is.finite(coef(ci_po(test_spec(few), n_bins = 1, bootstrap = 0, outcome_covariates = "x1"))))
})

test_that("ci_po validates its arguments", {
  df <- make_test_data(n = 200, p = 4, seed = 14)
  spec <- test_spec(df)
  expect_error(ci_po(test_spec(make_test_data(n = 200, binary_d = FALSE))), class = "fastdml_error_treatment")
  expect_error(ci_po(spec, propensity_covariates = c("x1", "nope"), bootstrap = 0), "nope",
               class = "fastdml_error_argument")
  expect_error(ci_po(spec, outcome_covariates = "zz_missing", bootstrap = 0), "zz_missing",
               class = "fastdml_error_argument")
  expect_error(ci_po(spec, propensity_covariates = character()), class = "fastdml_error_argument")
  for (bad in list(0, 2.5, NA, "4")) expect_error(ci_po(spec, n_bins = bad), class = "fastdml_error_argument")
  for (bad in list(-1, 1.5, NULL)) expect_error(ci_po(spec, bootstrap = bad), class = "fastdml_error_argument")
  for (bad in list(0, 1, 1.5)) expect_error(ci_po(spec, level = bad), class = "fastdml_error_argument")
  expect_error(ci_po(df), class = "fastdml_error_argument")
  expect_error(ci_po(spec, learner = "logistic"), class = "fastdml_error_argument")
  expect_error(ci_po(spec, seed = "a"), class = "fastdml_error_argument")
  expect_no_warning(ci_po(spec, n_bins = 2, bootstrap = 0))
})

test_that("ci_po honours observation weights", {
  df <- make_test_data(n = 400, p = 4, seed = 15, weights = TRUE)
  df$w2 <- 2 * df$w
  one <- ci_po(test_spec(df, weights = "w"), n_bins = 4, bootstrap = 0)
  two <- ci_po(test_spec(df, weights = "w2"), n_bins = 4, bootstrap = 0)
  expect_equal(coef(two), coef(one), tolerance = 1e-10)
  expect_equal(two$bins, one$bins, tolerance = 1e-10)
  expect_false(isTRUE(all.equal(coef(one), coef(ci_po(test_spec(df), n_bins = 4, bootstrap = 0)))))
  # Integer weights are row copies: the whole procedure (propensity, cut points, WLS) agrees.
  set.seed(16)
  df$k <- sample(1:3, nrow(df), replace = TRUE)
  weighted <- ci_po(test_spec(df, weights = "k"), n_bins = 4, bootstrap = 0)
  copies <- ci_po(test_spec(df[rep(seq_len(nrow(df)), df$k), ]), n_bins = 4, bootstrap = 0)
  expect_equal(unname(coef(weighted)), unname(coef(copies)), tolerance = 1e-8)
  expect_equal(weighted$bins[, c("e_low", "e_high", "att")], copies$bins[, c("e_low", "e_high", "att")],
               tolerance = 1e-8)
  # Weighted hand computation with the weighted quantiles of the row copies.
  e_copies <- copies$propensity
  cuts <- quantile(e_copies[rep(df$d, df$k) == 1], 1:3 / 4, type = 1, names = FALSE)
  expect_equal(weighted$bins$e_high[1:3], cuts, tolerance = 1e-8)
})
