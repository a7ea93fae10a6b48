# CI-DML (specs/amazon-ci-dml.md): the weighted residual regression and its five variances
# against the independent reference in helper-reference-ci-dml.R (lm + sandwich::vcovHC).

ci_dml_data <- function(n = 800, seed = 5) {
  set.seed(seed)
  x1 <- rnorm(n); x2 <- rnorm(n); x3 <- runif(n)
  e <- plogis(-1 + 1.2 * x1 - 0.8 * x2)
  d <- rbinom(n, 1, e)
  y <- 2 + x1 + 0.5 * x2^2 + (1 + 0.5 * x3) * d + rnorm(n, sd = exp(0.4 * x1))
  data.frame(y, d, x1, x2, x3, w = runif(n, 0.5, 2), g = rep(seq_len(n / 4), each = 4))
}

ci_dml_cases <- list(
  list(ipw = "ATT", trim = 0.05, trim_mode = "drop", rescale = TRUE, intercept = FALSE),
  list(ipw = "ATE", trim = 0.05, trim_mode = "clip", rescale = FALSE, intercept = TRUE),
  list(ipw = "none", trim = 0.1, trim_mode = "drop", rescale = FALSE, intercept = FALSE),
  list(ipw = "ATT", trim = 0.001, trim_mode = "drop", rescale = FALSE, intercept = TRUE)
)

test_that("CI-DML estimates and const/HC0-HC3 variances equal lm + sandwich to 1e-8", {
  skip_if_not_installed("sandwich")
  df <- ci_dml_data()
  for (weighted in c(FALSE, TRUE)) {
    spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"), weights = if (weighted) "w")
    for (case in ci_dml_cases) {
      fit <- do.call(dml_plr, c(list(spec, lrn_linear(), lrn_logistic(), n_folds = 3, seed = 2), case))
      p <- nuisances(fit)
      ref <- do.call(reference_ci_dml, c(list(df$y, df$d, p$l[, 1], p$m[, 1],
                                              weights = if (weighted) df$w), case))
      expect_equal(unname(coef(fit)), unname(ref$estimate), tolerance = 1e-8)
      tab <- tidy(fit, vcov = c("const", "HC0", "HC1", "HC2", "HC3"))
      expect_equal(tab$vcov, c("const", "HC0", "HC1", "HC2", "HC3"))
      expect_equal(tab$std.error, sqrt(vapply(ref$vcov, function(v) v[1, 1], numeric(1)))[tab$vcov],
                   tolerance = 1e-8, ignore_attr = TRUE)
      expect_equal(fit$se, tab$std.error[tab$vcov == "HC0"], tolerance = 1e-10)
      expect_equal(fit$ci_dml$retained_share, mean(ref$retained), tolerance = 1e-12)
    }
  }
})

test_that("without IPW options dml_plr is unchanged and tidy(vcov = 'HC0') is its SE", {
  skip_if_not_installed("sandwich")
  df <- ci_dml_data(seed = 8)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"))
  fit <- dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 3, seed = 4)
  expect_null(fit$ci_dml)
  p <- nuisances(fit)
  ref <- reference_ci_dml(df$y, df$d, p$l[, 1], p$m[, 1])
  expect_equal(unname(coef(fit)), unname(ref$estimate), tolerance = 1e-10)
  tab <- tidy(fit, vcov = c("HC0", "HC1", "const"))
  expect_equal(tab$std.error, unname(sqrt(c(ref$vcov$HC0, ref$vcov$HC1, ref$vcov$const))), tolerance = 1e-8)
  expect_equal(tidy(fit)$std.error, tab$std.error[1], tolerance = 1e-10)
})

test_that("repetitions aggregate each variance type by the median rule", {
  skip_if_not_installed("sandwich")
  df <- ci_dml_data(seed = 9)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"))
  fit <- dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 3, n_rep = 3, seed = 4,
                 ipw = "ATT", trim = 0.01)
  p <- nuisances(fit)
  refs <- lapply(1:3, function(s) reference_ci_dml(df$y, df$d, p$l[, s], p$m[, s], ipw = "ATT", trim = 0.01))
  theta_s <- vapply(refs, function(r) unname(r$estimate), numeric(1))
  expect_equal(unname(coef(fit)), stats::median(theta_s), tolerance = 1e-10)
  se3 <- vapply(refs, function(r) sqrt(r$vcov$HC3[1, 1]), numeric(1))
  n <- nrow(df)
  expect_equal(tidy(fit, vcov = "HC3")$std.error,
               sqrt(stats::median(n * se3^2 + (theta_s - stats::median(theta_s))^2) / n), tolerance = 1e-8)
})

test_that("update() re-scores without refitting and equals a fresh fit", {
  df <- ci_dml_data(seed = 10)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"))
  fit <- dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 3, seed = 4, ipw = "ATT",
                 trim = 0.001, rescale = TRUE)
  fresh <- dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 3, seed = 4, ipw = "ATT",
                   trim = 0.05, rescale = TRUE)
  updated <- update(fit, trim = 0.05)
  expect_identical(updated$nuisances, fit$nuisances)
  expect_equal(coef(updated), coef(fresh), tolerance = 1e-12)
  expect_equal(updated$se, fresh$se, tolerance = 1e-12)
  plain <- update(fit, ipw = "none", trim = 0, rescale = FALSE)
  expect_false(plain$ci_dml$active)
  expect_equal(coef(plain), coef(dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 3, seed = 4)),
               tolerance = 1e-12)
  expect_output(print(fit), "IPW ATT weights; trim 0.001 \\(drop\\), rescaled propensities")
})

test_that("clusters give the cluster-robust SE; 'cluster' needs clusters", {
  df <- ci_dml_data(seed = 11)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"), cluster = "g")
  fit <- dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 3, seed = 4, ipw = "ATE", trim = 0.01)
  p <- nuisances(fit)
  keep <- p$m[, 1] >= 0.01 & p$m[, 1] <= 0.99
  ref <- reference_ci_dml(df$y, df$d, p$l[, 1], p$m[, 1], ipw = "ATE", trim = 0.01)
  u <- (df$y - p$l[, 1]) - coef(fit) * (df$d - p$m[, 1])
  score <- ref$weights * (df$d - p$m[, 1]) * u
  bread <- sum(ref$weights * (df$d - p$m[, 1])^2)
  expect_equal(fit$se, sqrt(sum(tapply(score, df$g, sum)^2)) / bread, tolerance = 1e-10)
  expect_equal(tidy(fit, vcov = "cluster")$std.error, fit$se)
  plain <- dml_plr(causal_data(df, "y", "d", c("x1", "x2", "x3")), lrn_linear(), lrn_logistic(),
                   n_folds = 3, seed = 4)
  expect_error(tidy(plain, vcov = "cluster"), class = "fastdml_error_argument")
})

test_that("bad CI-DML options get named errors", {
  df <- ci_dml_data(seed = 12)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"))
  expect_error(dml_plr(spec, ipw = "ATC"), class = "fastdml_error_argument")
  expect_error(dml_plr(spec, ipw = "ATT", trim = 0.7), class = "fastdml_error_argument")
  expect_error(dml_plr(spec, trim_mode = "cut", trim = 0.1), class = "fastdml_error_argument")
  expect_error(dml_plr(spec, ipw = "ATT", score = "IV-type"), "partialling out", class = "fastdml_error_argument")
  cont <- causal_data(transform(df, d = x3 + rnorm(nrow(df))), "y", "d", c("x1", "x2"))
  expect_error(dml_plr(cont, lrn_linear(), lrn_linear(), ipw = "ATE"), class = "fastdml_error_treatment")
  high <- list(l = df$y - rnorm(nrow(df)), m = rep(0.999, nrow(df)))
  suppressWarnings(expect_error(dml_plr(spec, ipw = "ATT", trim = 0.01, nuisances = high),
                                "drops every row", class = "fastdml_error_overlap"))
  fit <- dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 2, seed = 1)
  expect_error(tidy(fit, vcov = "HC5"), class = "fastdml_error_argument")
  certain <- list(l = df$y - rnorm(nrow(df)), m = plogis(df$x1))
  certain$m[which(df$d == 0)[1]] <- 1
  expect_error(dml_plr(spec, ipw = "ATT", nuisances = certain), "not finite", class = "fastdml_error_propensity")
})

test_that("cate_clusters on a CI-DML fit: weighted regression on psi * D~ and unit effects", {
  skip_if_not_installed("sandwich")
  df <- ci_dml_data(seed = 13)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"))
  fit <- dml_plr(spec, lrn_linear(), lrn_logistic(), n_folds = 3, seed = 4, ipw = "ATT",
                 trim = 0.01, rescale = TRUE)
  het <- cate_clusters(fit, k = 3, n_pc = 2, seed = 1)
  cl <- het$clustering
  Zs <- scale(as.matrix(df[c("x1", "x2", "x3")]), cl$center, cl$scale) %*% cl$rotation
  psi <- reference_soft_scores(Zs, cl$centers)
  expect_equal(unname(het$B), unname(psi), tolerance = 1e-10)
  p <- nuisances(fit)
  ref <- reference_ci_dml(df$y, df$d, p$l[, 1], p$m[, 1], ipw = "ATT", trim = 0.01, rescale = TRUE,
                          basis = psi)
  expect_equal(unname(coef(het)), unname(ref$estimate), tolerance = 1e-8)
  expect_equal(unname(vcov(het)), unname(ref$vcov$HC0), tolerance = 1e-8)
  unit <- predict(het, variance = TRUE)
  ref_unit <- reference_unit_effects(psi, ref$estimate, ref$vcov$HC0)
  expect_equal(unit$estimate, ref_unit$estimate, tolerance = 1e-8)
  expect_equal(sqrt(unit$variance), ref_unit$std.error, tolerance = 1e-8)
  s <- summary(het)
  expect_equal(s$htt_mean, mean(ref_unit$estimate[df$d == 1]), tolerance = 1e-10)
  expect_equal(s$hte_mean, mean(ref_unit$estimate), tolerance = 1e-10)
  expect_equal(s$share_contains_zero, mean(abs(ref_unit$estimate) <= qnorm(0.975) * ref_unit$std.error))
  expect_output(print(s), "HTT mean")
  het3 <- cate_clusters(fit, k = 3, n_pc = 2, seed = 1, vcov_type = "HC3")
  expect_equal(unname(vcov(het3)), unname(ref$vcov$HC3), tolerance = 1e-8)
})
