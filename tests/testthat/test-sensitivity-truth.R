# sensitivity() against the truth: an external anchor (sensemakr, for the linear PLR, where the
# two frameworks coincide) and a coverage simulation with a known omitted confounder.

# ---------------------------------------------------------------------------
# Anchor: sensemakr (Cinelli & Hazlett 2020) for the linear PLR
# ---------------------------------------------------------------------------

test_that("PLR with linear learners reproduces sensemakr's bias, adjusted estimate and RV", {
  skip_if_not_installed("sensemakr")
  # Mapping (Chernozhukov et al. 2022, §4 and Example 1): with a latent confounder Z,
  #   cf_y = R2_{Y ~ Z | D, X}  (sensemakr's r2yz.dx: the share of the residual variation of Y
  #          given D and X explained by Z; in LSS, R2 of Y - g_s on g - g_s),
  #   cf_d = R2_{D ~ Z | X}     (sensemakr's r2dz.x; in the PLR 1 - R2_{alpha ~ alpha_s} equals
  #          this partial R2, and DoubleML's factor cf_d / (1 - cf_d) is sensemakr's
  #          r2dz.x / (1 - r2dz.x)),
  #   rho = 1 (the bound's worst case; sensemakr's bias formula assumes it).
  # Then sensemakr's bias = se(theta_OLS) sqrt(df) sqrt(r2yz.dx r2dz.x / (1 - r2dz.x)), and
  # se sqrt(df) = sqrt(RSS / sum(resid(D ~ X)^2)) = sqrt(sigma2 nu2) = max_bias_base, the
  # cross-fitted versions of which fastdml computes; at n = 1e5 they agree to well under 1%.
  # sensemakr's RV_q (q = 1, alpha = 1) = (sqrt(f^4 + 4 f^2) - f^2) / 2 with f = |t| / sqrt(df)
  # = |theta| / max_bias_base: the closed form of rv at rho = 1, null = 0.
  set.seed(2022)
  n <- 1e5
  p <- 5
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  a <- c(0.5, -0.3, 0.2, 0, 0.4)
  b <- c(1, 0.5, -0.5, 0.3, 0)
  D <- drop(X %*% a) + rnorm(n)
  Y <- 0.5 * D + drop(X %*% b) + rnorm(n, sd = 2)
  df <- data.frame(X, d = D, y = Y)
  ols <- lm(y ~ ., data = df)
  est <- unname(coef(ols)["d"])
  se <- summary(ols)$coefficients["d", "Std. Error"]
  dof <- ols$df.residual
  fit <- dml_plr(test_spec(df), learner_outcome = lrn_linear(), learner_treatment = lrn_linear(),
                 n_folds = 5, seed = 1)
  for (r2 in list(c(r2yz = 0.04, r2dz = 0.08), c(r2yz = 0.15, r2dz = 0.02))) {
    bias_sm <- sensemakr::bias(se = se, dof = dof, r2dz.x = r2[["r2dz"]], r2yz.dx = r2[["r2yz"]])
    adj_sm <- sensemakr::adjusted_estimate(est, se = se, dof = dof, r2dz.x = r2[["r2dz"]],
                                           r2yz.dx = r2[["r2yz"]], reduce = TRUE)
    sens <- sensitivity(fit, cf_y = r2[["r2yz"]], cf_d = r2[["r2dz"]], rho = 1)
    expect_equal(sens$table$max_bias, bias_sm, tolerance = 0.01)
    expect_equal(sens$table$theta_lower, adj_sm, tolerance = 0.01)
    expect_equal(sens$table$max_bias_base, se * sqrt(dof), tolerance = 0.01)
  }
  rv_sm <- sensemakr::robustness_value(ols, covariates = "d", q = 1, alpha = 1)
  expect_equal(sens$table$rv, unname(c(rv_sm)), tolerance = 0.01)
})

# ---------------------------------------------------------------------------
# Coverage with a known omitted confounder
# ---------------------------------------------------------------------------

test_that("bias-aware intervals cover theta when the omitted confounder lies inside the scenario", {
  # Design: X ~ N(0, I_3), U ~ N(0, 1) independent, u, e ~ N(0, 1) independent;
  #   D = X a + gd U + u,  Y = theta D + X b + gy U + e; the fit adjusts for X only.
  # Population strengths of U (LSS notation: long = given U, short = without):
  #   cf_d = 1 - R2_{alpha ~ alpha_s} = 1 - E[alpha_s^2] / E[alpha^2]
  #        = 1 - Var(D | X, U) / Var(D | X) = gd^2 / (gd^2 + 1)          (= R2_{D ~ U | X});
  #   Var(U | D, X) = 1 - gd^2 / (gd^2 + 1) = 1 / (gd^2 + 1) =: vU, Var(Y | D, X) = gy^2 vU + 1,
  #   cf_y = R2_{Y - g_s ~ g - g_s} = gy^2 vU / (gy^2 vU + 1)            (= R2_{Y ~ U | D, X}).
  # Short-model bias: theta_s - theta = Cov(gy U, D - E[D|X]) / Var(D | X) = gy gd / (gd^2 + 1),
  # and the LSS bound is tight here: S^2 = Var(Y | D, X) / Var(D | X), S^2 cf_y cf_d /
  # (1 - cf_d) = gy^2 gd^2 / (gd^2 + 1)^2 = bias^2 (rho = 1).
  # With gd = gy = 0.5: cf_d = 0.2, vU = 0.8, cf_y = 0.2 / 1.2 = 1/6, bias = 0.2 (the plain
  # 95% CI at n = 1000 has se ~ 0.031, so it misses). Scenario passed: cf_y = 0.18, cf_d = 0.22,
  # rho = 1 (just above the truth).
  gd <- 0.5
  gy <- 0.5
  cf_d_true <- gd^2 / (gd^2 + 1)
  vU <- 1 / (gd^2 + 1)
  cf_y_true <- gy^2 * vU / (gy^2 * vU + 1)
  expect_equal(cf_d_true, 0.2)
  expect_equal(cf_y_true, 1 / 6)
  expect_equal(sqrt((gy^2 * vU + 1) / (gd^2 + 1) * cf_y_true * cf_d_true / (1 - cf_d_true)),
               gy * gd / (gd^2 + 1))
  cf_y <- 0.18
  cf_d <- 0.22
  expect_true(cf_y >= cf_y_true && cf_d >= cf_d_true)
  theta <- 1
  n <- 1000
  a <- c(0.5, -0.5, 0.3)
  b <- c(1, 0.5, -0.7)
  set.seed(777)
  B <- 100
  cover_aware <- cover_plain <- logical(B)
  bias_hat <- numeric(B)
  for (r in seq_len(B)) {
    X <- matrix(rnorm(n * 3), n, 3, dimnames = list(NULL, paste0("x", 1:3)))
    U <- rnorm(n)
    D <- drop(X %*% a) + gd * U + rnorm(n)
    Y <- theta * D + drop(X %*% b) + gy * U + rnorm(n)
    fit <- dml_plr(test_spec(data.frame(X, d = D, y = Y)), learner_outcome = lrn_linear(),
                   learner_treatment = lrn_linear(), n_folds = 5, seed = r)
    tab <- sensitivity(fit, cf_y = cf_y, cf_d = cf_d, rho = 1)$table
    cover_aware[r] <- tab$ci_lower <= theta && theta <= tab$ci_upper
    ci <- confint(fit)
    cover_plain[r] <- ci[1, 1] <= theta && theta <= ci[1, 2]
    bias_hat[r] <- unname(coef(fit)) - theta
  }
  expect_gte(mean(cover_aware), 0.9)
  expect_lt(mean(cover_plain), 0.6)
  expect_equal(mean(bias_hat), gy * gd / (gd^2 + 1), tolerance = 0.1)
})
