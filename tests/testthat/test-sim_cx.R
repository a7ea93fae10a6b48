cx_confounders <- c("age", "risk_latent", "income", "sessions_30d", "clicks_7d", "n_products",
                    "has_debt", "csat_prev", "prev_contact", "prev_repeat", "prev_apps",
                    "prev_util", "product_emb_1", "product_emb_2", "channel_callcenter",
                    "channel_partner", "channel_web", "region_B", "region_C", "region_D")
cx_arms <- c("control", "neg_contact_flg", "error_flg", "neg_contact_flg_error_flg")

# every element of `object` within an absolute distance `tol` of `expected`
expect_close <- function(object, expected, tol) {
  label <- paste(deparse(substitute(object)), collapse = "")
  expect_lte(max(abs(object - expected)), tol, label = label)
}

test_that("sim_cx returns the documented columns, types and ranges", {
  d <- sim_cx(n = 2e4, seed = 42, coupled = FALSE)
  expect_s3_class(d, "data.frame")
  expect_identical(nrow(d), 20000L)
  expect_identical(names(d), c(cx_confounders, "arm", paste0("d_", cx_arms), "y",
                               paste0("m_", cx_arms), paste0("g_", cx_arms),
                               paste0("cate_", cx_arms[-1])))
  expect_true(all(vapply(d[setdiff(names(d), "arm")], is.double, logical(1))))
  expect_s3_class(d$arm, "factor")
  expect_identical(levels(d$arm), cx_arms)
  expect_false(anyNA(d))
  # one-hot columns agree with the factor
  D <- as.matrix(d[paste0("d_", cx_arms)])
  expect_true(all(D %in% c(0, 1)))
  expect_true(all(rowSums(D) == 1))
  expect_identical(as.integer(d$arm), as.integer(max.col(D)))
  expect_true(all(d$y %in% c(0, 1)))
  # ranges and supports
  expect_true(all(d$age >= 18 & d$age <= 70 & d$age == round(d$age)))
  expect_true(all(d$income >= 25000 & d$income <= 250000))
  expect_true(all(d$n_products %in% 0:8))
  expect_true(all(d$product_emb_2 %in% 0:99))
  expect_true(all(d$csat_prev >= 1 & d$csat_prev <= 5))
  for (v in c("has_debt", "prev_contact", "prev_repeat", "prev_apps", "prev_util",
              "channel_callcenter", "channel_partner", "channel_web", "region_B", "region_C",
              "region_D")) {
    expect_true(all(d[[v]] %in% c(0, 1)), label = v)
  }
  expect_true(all(d$channel_callcenter + d$channel_partner + d$channel_web <= 1))
  expect_true(all(d$region_B + d$region_C + d$region_D <= 1))
  # oracle = FALSE drops the truth columns
  d2 <- sim_cx(n = 100, seed = 1, oracle = FALSE)
  expect_identical(names(d2), c(cx_confounders, "arm", paste0("d_", cx_arms), "y"))
  expect_identical(attr(d2, "coupled"), TRUE)
})

test_that("sim_cx oracle columns follow the structural model", {
  d <- sim_cx(n = 5000, seed = 3, coupled = FALSE)
  M <- as.matrix(d[paste0("m_", cx_arms)])
  expect_equal(unname(rowSums(M)), rep(1, nrow(d)), tolerance = 1e-12)
  # independent contact (C) and repeat (R) exposures: m = softmax(0, A, B, A + B)
  expect_equal(M[, 1] * M[, 4], M[, 2] * M[, 3], tolerance = 1e-12)
  a <- (d$age - 37) / 10
  score_b <- -1.20 + 1.30 * d$prev_repeat + 0.45 * a + 0.20 * d$risk_latent + 0.35 * d$prev_apps +
    0.15 * d$prev_util - 0.15 * d$channel_callcenter + 0.10 * d$channel_partner -
    0.30 * d$channel_web
  expect_equal(d$m_error_flg + d$m_neg_contact_flg_error_flg, plogis(score_b), tolerance = 1e-12)
  expect_equal(d$g_neg_contact_flg, d$g_control)
  expect_equal(d$g_error_flg, d$g_neg_contact_flg_error_flg)
  expect_equal(qlogis(d$g_error_flg) - qlogis(d$g_control), rep(-0.65, nrow(d)), tolerance = 1e-8)
  expect_identical(d$cate_neg_contact_flg, rep(0, nrow(d)))
  expect_equal(d$cate_error_flg, d$g_error_flg - d$g_control)
  expect_equal(d$cate_neg_contact_flg_error_flg, d$g_neg_contact_flg_error_flg - d$g_control)
})

test_that("sim_cx true_ate is a named population constant per arm", {
  d <- sim_cx(n = 2e4, seed = 42, coupled = FALSE)
  ate <- attr(d, "true_ate")
  expect_identical(names(ate), cx_arms)
  expect_identical(ate[["control"]], 0)
  expect_identical(ate[["neg_contact_flg"]], 0)
  expect_identical(ate[["error_flg"]], ate[["neg_contact_flg_error_flg"]])
  expect_close(ate[["error_flg"]], -0.1250, 2e-4)
  expect_identical(attr(d, "true_ate_structural"), ate)
  expect_identical(attr(d, "coupled"), FALSE)
  # the sample mean of the cate columns is close to the population value (se about 2e-4)
  expect_close(unname(colMeans(d[paste0("cate_", cx_arms[-1])])), unname(ate[-1]), 1e-3)
  # the constant does not depend on n or seed
  expect_identical(attr(sim_cx(n = 10, seed = 1, coupled = FALSE), "true_ate"), ate)
  dc <- sim_cx(n = 2e4, seed = 42)
  expect_identical(attr(dc, "true_ate_structural"), ate)
  ate_c <- attr(dc, "true_ate")
  expect_identical(names(ate_c), cx_arms)
  expect_identical(unname(ate_c[1:2]), c(0, 0))
  expect_identical(ate_c[["error_flg"]], ate_c[["neg_contact_flg_error_flg"]])
  expect_close(ate_c[["error_flg"]], -0.1105, 2e-4)
})

test_that("sim_cx is reproducible with a seed and restores the caller's RNG", {
  set.seed(99)
  before <- .Random.seed
  d1 <- sim_cx(n = 500, seed = 7)
  expect_identical(.Random.seed, before)
  expect_identical(sim_cx(n = 500, seed = 7), d1)
  expect_false(identical(sim_cx(n = 500, seed = 8)$y, d1$y))
  # the same seed draws the same covariates with and without coupling
  d0 <- sim_cx(n = 500, seed = 7, coupled = FALSE)
  expect_identical(d0[cx_confounders], d1[cx_confounders])
})

test_that("sim_cx couples the channel with the arm and the region with the outcome", {
  d <- sim_cx(n = 2e4, seed = 42)
  expect_identical(attr(d, "coupled"), TRUE)
  expect_identical(names(d), c(cx_confounders, "arm", paste0("d_", cx_arms), "y",
                               paste0("m_", cx_arms), paste0("g_", cx_arms),
                               paste0("cate_", cx_arms[-1]), paste0("ps_", cx_arms),
                               paste0("mu_", cx_arms)))
  shares <- as.numeric(prop.table(table(d$arm)))
  expect_close(shares, c(0.419, 0.251, 0.178, 0.152), 0.01)
  web <- as.numeric(tapply(d$channel_web, d$arm, mean))
  expect_close(web, c(0.790, 0.254, 0.018, 0.001), 0.02)
  # the marginal channel and region shares are unchanged by the coupling
  expect_close(mean(d$channel_web), 0.40, 0.015)
  expect_close(mean(d$channel_callcenter), 0.10, 0.01)
  expect_close(mean(d$region_D), 0.15, 0.01)
  # a web customer (u_D < .40) whose control probability is at least .40 must be in control
  sure <- d$channel_web == 1 & d$m_control >= 0.40
  expect_gt(sum(sure), 1000)
  expect_true(all(d$arm[sure] == "control"))
  # region A (u_Y < .35): y = 1 exactly when the outcome probability exceeds .5
  region_a <- d$region_B + d$region_C + d$region_D == 0
  p_obs <- as.matrix(d[paste0("g_", cx_arms)])[cbind(seq_len(nrow(d)), as.integer(d$arm))]
  expect_identical(d$y[region_a], as.numeric(p_obs[region_a] > 0.5))
  # the true propensities and outcome probabilities given X
  PS <- as.matrix(d[paste0("ps_", cx_arms)])
  expect_equal(unname(rowSums(PS)), rep(1, nrow(d)), tolerance = 1e-12)
  expect_true(all(PS[cbind(seq_len(nrow(d)), as.integer(d$arm))] > 0))
  MU <- as.matrix(d[paste0("mu_", cx_arms)])
  expect_true(all(MU >= 0 & MU <= 1))
  expect_close(mean(d$y - MU[cbind(seq_len(nrow(d)), as.integer(d$arm))]), 0, 0.01)
  expect_close(mean(d$mu_error_flg - d$mu_control), attr(d, "true_ate")[["error_flg"]], 0.01)
})

test_that("sim_cx without coupling draws channel and region independently", {
  d <- sim_cx(n = 2e4, seed = 42, coupled = FALSE)
  shares <- as.numeric(prop.table(table(d$arm)))
  expect_close(shares, c(0.413, 0.279, 0.176, 0.132), 0.01)
  web <- as.numeric(tapply(d$channel_web, d$arm, mean))
  expect_close(web[1], 0.43, 0.02)
  expect_true(all(web > 0.30 & web < 0.50))
  # region does not reveal the outcome noise: y varies within region A at p > .5
  region_a <- d$region_B + d$region_C + d$region_D == 0
  expect_true(any(d$y[region_a & d$g_control > 0.5 & d$arm == "control"] == 0))
  G <- as.matrix(d[paste0("g_", cx_arms)])
  expect_close(mean(d$y - G[cbind(seq_len(nrow(d)), as.integer(d$arm))]), 0, 0.01)
})

test_that("sim_cx rejects bad arguments with classed errors", {
  expect_error(sim_cx(n = 1), class = "fastdml_error")
  expect_error(sim_cx(n = 2.5), class = "fastdml_error")
  expect_error(sim_cx(n = "a"), class = "fastdml_error")
  expect_error(sim_cx(n = c(10, 20)), class = "fastdml_error")
  expect_error(sim_cx(n = NA), class = "fastdml_error")
  expect_error(sim_cx(n = 10, seed = "a"), class = "fastdml_error")
  expect_error(sim_cx(n = 10, coupled = NA), class = "fastdml_error")
  expect_error(sim_cx(n = 10, coupled = "yes"), class = "fastdml_error")
  expect_error(sim_cx(n = 10, oracle = c(TRUE, FALSE)), class = "fastdml_error")
  expect_error(sim_cx(n = 1), class = "fastdml_error_argument")
})
