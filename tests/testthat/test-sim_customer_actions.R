# The customer-actions simulator against its specification (specs/amazon-ci-dml.md,
# "Simulator"): columns, seeds and chunking, the formulas recomputed from the parameters and
# latent draws, participation, separation, hidden selection and the placebo.

test_that("sim_customer_actions() returns the documented columns and types", {
  d <- sim_customer_actions(300, n_actions = 3, seed = 1, n_features = 12, n_segments = 3)
  expect_s3_class(d, "data.table")
  per_action <- unlist(lapply(1:3, function(a) {
    paste0(c("treatment_", "post_", "placebo_", "true_cate_", "true_propensity_"), a)
  }))
  expect_named(d, c("id", "segment", sprintf("pre_%03d", 1:12), "pre_recency", "pre_frequency",
                    "pre_monetary", "pre_tenure", per_action))
  expect_identical(d$id, 1:300)
  expect_type(d$segment, "integer")
  expect_setequal(unique(d$segment), 1:3)
  numeric_cols <- setdiff(names(d), c("id", "segment"))
  expect_true(all(vapply(d[, numeric_cols, with = FALSE], is.double, logical(1))))
  expect_true(all(is.finite(as.matrix(d[, numeric_cols, with = FALSE]))))
  for (a in 1:3) {
    expect_true(all(d[[paste0("treatment_", a)]] %in% c(0, 1)))
    e <- d[[paste0("true_propensity_", a)]]
    expect_true(all(e > 0 & e < 1))
  }
  expect_true(all(d$pre_recency > 0 & d$pre_frequency > 0 & d$pre_monetary > 0 & d$pre_tenure > 0))
  truth <- attr(d, "truth")
  expect_s3_class(truth, "data.table")
  expect_named(truth, c("action", "treatment", "outcome", "placebo", "participation", "ate", "att",
                        "hidden_selection", "kappa", "lambda", "separation", "placebo_bias"))
  expect_identical(truth$action, 1:3)
  expect_identical(truth$outcome, paste0("post_", 1:3))
  expect_identical(truth$placebo, paste0("placebo_", 1:3))
  expect_type(truth$hidden_selection, "logical")
  expect_type(truth$separation, "logical")
  expect_identical(sim_customer_actions(20, 1, seed = 1, n_features = 10, first_id = 0)$id, 0:19)
  big <- sim_customer_actions(10001, 1, seed = 1, n_features = 10)
  expect_null(attr(big, "parameters")$latent)
})

test_that("seeds reproduce, restore the caller's RNG and split structure from rows", {
  expect_identical(sim_customer_actions(200, 3, seed = 7, n_features = 10),
                   sim_customer_actions(200, 3, seed = 7, n_features = 10))
  expect_false(identical(sim_customer_actions(200, 3, seed = 7, n_features = 10)$post_1,
                         sim_customer_actions(200, 3, seed = 8, n_features = 10)$post_1))
  set.seed(99)
  expected <- runif(3)
  set.seed(99)
  sim_customer_actions(100, 2, seed = 3, n_features = 10, rows_seed = 4)
  expect_identical(runif(3), expected)

  a <- sim_customer_actions(400, 6, seed = 3, n_features = 15)
  b <- sim_customer_actions(400, 6, seed = 3, n_features = 15, rows_seed = 10, first_id = 401)
  expect_identical(b$id, 401:800)
  expect_false(isTRUE(all.equal(a$pre_001, b$pre_001)))
  pa <- attr(a, "parameters")
  pb <- attr(b, "parameters")
  structural <- setdiff(names(pa), c("actions", "latent"))
  expect_identical(pa[structural], pb[structural])
  expect_identical(pa$actions[, !"intercept"], pb$actions[, !"intercept"])
  expect_identical(attr(a, "truth")$kappa, attr(b, "truth")$kappa)
  # the intercepts are solved per sample: close, not equal
  expect_false(identical(pa$actions$intercept, pb$actions$intercept))
  expect_lt(max(abs(pa$actions$intercept - pb$actions$intercept)), 1.5)
  # rows_seed fixes the row stream whatever the structure
  s1 <- sim_customer_actions(200, 2, seed = 1, n_features = 10, rows_seed = 5)
  s2 <- sim_customer_actions(200, 2, seed = 2, n_features = 10, rows_seed = 5)
  expect_identical(s1$segment, s2$segment)
  expect_false(identical(attr(s1, "parameters")$loadings, attr(s2, "parameters")$loadings))
  # without rows_seed the rows continue the parameters' stream
  expect_false(identical(a$segment, sim_customer_actions(400, 6, seed = 3, n_features = 15,
                                                         rows_seed = 3)$segment))
})

test_that("the columns follow the spec's formulas given the parameters and latent draws", {
  d <- sim_customer_actions(2000, 10, seed = 11, n_features = 20, n_segments = 4)
  p <- attr(d, "parameters")
  lat <- p$latent
  act <- p$actions
  f <- lat$factors
  seg <- d$segment
  expect_equal(dim(p$loadings), c(20L, 5L))
  expect_equal(dim(p$factor_means), c(4L, 5L))
  expect_equal(dim(p$multipliers), c(10L, 4L))
  expect_true(all(colSums(p$gamma != 0) == 10))
  # factors = segment mean + N(0, 0.6^2); features = f L' + N(0, 0.5^2); RFM log-normal in f
  expect_equal(sd(f - p$factor_means[seg, ]), 0.6, tolerance = 0.03)
  X <- as.matrix(d[, sprintf("pre_%03d", 1:20), with = FALSE])
  expect_equal(sd(X - f %*% t(p$loadings)), 0.5, tolerance = 0.03)
  for (r in rownames(p$rfm)) {
    k <- p$rfm[r, ]
    expect_equal(sd(log(d[[r]]) - k[1] - f %*% k[2:6]), k[[7]], tolerance = 0.05)
  }
  g <- 200 + 80 * f[, 1] + 40 * f[, 2]^2 - 30 * f[, 3] * f[, 4]
  expect_equal(lat$baseline, g, tolerance = 1e-12)
  expect_equal(lat$noise_sd, 60 * exp(0.3 * f[, 3]), tolerance = 1e-12)
  expect_equal(sd(lat$noise_post / lat$noise_sd), 1, tolerance = 0.03)
  expect_equal(sd(lat$noise_placebo / lat$noise_sd), 1, tolerance = 0.03)
  # exact population moments of x'gamma over the segment mixture
  v <- t(p$loadings) %*% p$gamma
  cond_mean <- p$factor_means %*% v
  expect_equal(act$z_mean, unname(colMeans(cond_mean)), tolerance = 1e-12)
  expect_equal(act$z_sd, unname(sqrt(colMeans(cond_mean^2) - colMeans(cond_mean)^2 +
                                       0.36 * colSums(v^2) + 0.25 * colSums(p$gamma^2))),
               tolerance = 1e-12)
  truth <- attr(d, "truth")
  for (a in 1:10) {
    D <- d[[paste0("treatment_", a)]]
    tau <- act$b[a] * (p$multipliers[a, seg] + 0.2 * f[, 1])
    expect_equal(d[[paste0("true_cate_", a)]], tau, tolerance = 1e-10)
    expect_equal(d[[paste0("post_", a)]],
                 g + tau * D + act$lambda[a] * lat$u + lat$noise_post[, a], tolerance = 1e-10)
    expect_equal(d[[paste0("placebo_", a)]],
                 g + act$lambda[a] * lat$u + lat$noise_placebo[, a], tolerance = 1e-10)
    lin <- act$intercept[a] + act$s[a] * drop(X %*% p$gamma[, a] - act$z_mean[a]) / act$z_sd[a]
    e <- d[[paste0("true_propensity_", a)]]
    if (act$kappa[a] == 0) {
      expect_equal(e, plogis(lin), tolerance = 1e-10)
    } else {
      rows <- c(1:3, which.max(lin), which.min(lin))
      marginal <- vapply(lin[rows], function(l) {
        integrate(function(u) plogis(l + 0.5 * u) * dnorm(u), -Inf, Inf, rel.tol = 1e-12)$value
      }, numeric(1))
      expect_equal(e[rows], marginal, tolerance = 1e-9)
      # oracle placebo bias: lambda * mean over treated of U - E[U | D = 0, X]
      treated <- which(D == 1)
      eu0 <- vapply(lin[treated], function(l) {
        untreated <- function(u) (1 - plogis(l + 0.5 * u)) * dnorm(u)
        integrate(function(u) u * untreated(u), -Inf, Inf, rel.tol = 1e-12)$value /
          integrate(untreated, -Inf, Inf, rel.tol = 1e-12)$value
      }, numeric(1))
      expect_equal(truth$placebo_bias[a], 40 * mean(lat$u[treated] - eu0), tolerance = 1e-8)
    }
    expect_equal(truth$ate[a], mean(tau))
    expect_equal(truth$att[a], mean(tau[D == 1]))
  }
})

test_that("participation, separation and hidden selection match the truth", {
  d <- sim_customer_actions(5000, 10, seed = 21, n_features = 20)
  p <- attr(d, "parameters")
  truth <- attr(d, "truth")
  act <- p$actions
  treat <- as.matrix(d[, paste0("treatment_", 1:10), with = FALSE])
  prop <- as.matrix(d[, paste0("true_propensity_", 1:10), with = FALSE])
  expect_equal(truth$participation, unname(colMeans(treat)), tolerance = 1e-12)
  expect_equal(unname(colMeans(prop)), act$participation, tolerance = 1e-8)
  expect_equal(truth$participation, act$participation, tolerance = 0.25)
  sep <- (1:10) %% 5 == 0
  expect_identical(truth$separation, sep)
  expect_identical(act$participation[sep], c(0.4, 0.4))
  expect_identical(act$s[sep], c(5, 5))
  expect_true(all(act$participation[!sep] >= 0.005 & act$participation[!sep] <= 0.4))
  expect_true(all(act$s[!sep] >= 1 & act$s[!sep] <= 1.5))
  expect_true(all(act$b >= 10 & act$b <= 300))
  expect_true(all(p$multipliers >= 0.3 & p$multipliers <= 1.7))
  for (a in which(sep)) {
    e <- prop[, a]
    expect_gt(mean(e < 1e-3 | e > 1 - 1e-3), 0.1)
    expect_lt(abs(mean(treat[, a]) - 0.4), 0.03)
  }
  hidden <- (1:10) %% 2 == 0
  expect_identical(truth$hidden_selection, hidden)
  expect_identical(truth$kappa, ifelse(hidden, 0.5, 0))
  expect_identical(truth$lambda, ifelse(hidden, 40, 0))
  expect_identical(truth$placebo_bias[!hidden], rep(0, 5))
  expect_true(all(truth$placebo_bias[hidden] > 5 & truth$placebo_bias[hidden] < 40))
  # treated customers of hidden-selection actions have higher U
  u <- p$latent$u
  u_treated <- vapply(which(hidden), function(a) mean(u[treat[, a] == 1]), numeric(1))
  expect_true(all(u_treated > mean(u)))
  # the naive placebo contrast is biased by selection on X (through the baseline), and only
  # through it when there is no hidden selection
  t_stat <- function(y, D) unname(t.test(y[D == 1], y[D == 0])$statistic)
  naive <- vapply(which(!hidden), function(a) {
    t_stat(d[[paste0("placebo_", a)]], treat[, a])
  }, numeric(1))
  expect_gt(max(abs(naive)), 4)
  net <- vapply(which(!hidden), function(a) {
    t_stat(d[[paste0("placebo_", a)]] - p$latent$baseline, treat[, a])
  }, numeric(1))
  expect_lt(max(abs(net)), 4)
})

test_that("sim_customer_actions() rejects invalid arguments with classed errors", {
  expect_error(sim_customer_actions(9), class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100.5), class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100, n_actions = 0), class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100, n_features = 9), class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100, n_segments = 0), class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100, first_id = -1), class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100, first_id = .Machine$integer.max),
               class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100, rows_seed = "a"), class = "fastdml_error_argument")
  expect_error(sim_customer_actions(100, seed = NA), class = "fastdml_error_argument")
})
