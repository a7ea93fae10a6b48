# The recommender-system user-day simulator against its specification
# (specs/recsys-aipw.md, section "Simulator sim_user_days").

user_days_covariates <- c(
  "lag1_active", "lag1_interactions", "lag1_play_seconds", "lag1_watch_ratio",
  "lag1_high_watch_share", "prior_3day_active", "prior_3day_interactions",
  "prior_3day_play_seconds", "prior_3day_watch_ratio", "prior_3day_high_watch_share",
  "calendar_day_index", "panel_day_index", "day_of_week")

test_that("sim_user_days() meets the documented calibration at 3,000 users", {
  p <- sim_user_days(3000, 55, seed = 20260501)
  expect_equal(nrow(p), 3000 * 52)
  expect_equal(mean(p$treatment), 0.48, tolerance = 0.02 / 0.48)
  expect_lt(abs(mean(p$outcome) - 380), 40)
  # sd(Y) ~ 180; burst users' t(2) noise has infinite variance, so check a winsorised sd
  y <- p$outcome
  y_w <- pmin(pmax(y, quantile(y, 0.001)), quantile(y, 0.999))
  expect_lt(abs(sd(y_w) - 180), 15)
  expect_gt(sd(y), 165)
  expect_lt(abs(sd(p$true_cate) - 14), 1.5)
  expect_lt(abs(attr(p, "true_ate") - 1.4), 0.75)
  expect_lt(abs(attr(p, "true_att") - (-3.0)), 0.75)
  expect_lt(attr(p, "true_att"), attr(p, "true_ate"))  # treatment rises as the effect falls
  h3 <- p$prior_3day_high_watch_share
  expect_true(all(h3 > 0 & h3 < 3))  # three shares in (0, 1)
  bins <- cut(h3, quantile(h3), include.lowest = TRUE)
  rate <- unname(tapply(p$treatment, bins, mean))
  # measured about 0.133, 0.330, 0.623, 0.836 over 30 seeds (sd < 0.01)
  expect_true(all(abs(rate - c(0.13, 0.30, 0.60, 0.80)) < 0.06))
  effect <- unname(tapply(p$true_cate, bins, mean))
  expect_true(all(diff(effect) < 0) && all(diff(rate) > 0))
  # The spec's quartile effects (+16, +7, -1, -9) average 3.25, which equal-sized quartiles
  # cannot do with its ATE of about 1.4 (measured about +12.9, +4.8, -2.7, -10.0); their
  # pattern around the mean is what must match.
  expect_true(all(abs(effect[3:4] - c(-1, -9)) < 3))
  expect_true(all(abs((effect - mean(effect)) - (c(16, 7, -1, -9) - 3.25)) < 2))
  expect_equal(mean(effect), attr(p, "true_ate"), tolerance = 1e-3)
  # The outcome carries tau(x) A: given X, A - e(X) is pure noise, so
  # E[(A - e)(Y - g(X)) tau] = E[e (1 - e) tau^2] for any g (ratio about 1 +- 0.1 over seeds).
  g <- fitted(lm(outcome ~ log1p(lag1_interactions) + log1p(prior_3day_interactions) +
                   prior_3day_high_watch_share, data = p))
  ratio <- with(p, sum((treatment - true_propensity) * (outcome - g) * true_cate) /
                  sum(true_propensity * (1 - true_propensity) * true_cate^2))
  expect_lt(abs(ratio - 1), 0.4)
  # burst users give heavy-tailed noise: the noise sd of non-burst rows is 40
  noise <- p$outcome - p$treatment * p$true_cate
  expect_gt(max(abs(noise - mean(noise))) / sd(noise), 8)
})

test_that("sim_user_days() has the reference panel's shape, columns and attributes", {
  p <- sim_user_days(91, 55, seed = 42)
  expect_s3_class(p, "data.frame")
  expect_equal(nrow(p), 4732L)
  expect_named(p, c("user_id", "day", "event_date", "day_of_week",
                    setdiff(user_days_covariates, "day_of_week"),
                    "treatment", "outcome", "true_propensity", "true_cate"))
  expect_identical(attr(p, "covariates"), user_days_covariates)
  expect_type(p$user_id, "integer")
  expect_type(p$treatment, "integer")
  expect_true(is.numeric(p$day_of_week) && all(p$day_of_week %in% 0:6))
  expect_setequal(unique(p$user_id), 1:91)
  expect_true(all(table(p$user_id) == 52L))
  expect_equal(range(p$day), c(3, 54))
  expect_false(is.unsorted(p$user_id))
  expect_false(is.unsorted(p$day[p$user_id == 7L], strictly = TRUE))
  expect_s3_class(p$event_date, "Date")
  expect_equal(as.numeric(p$event_date - as.Date("2023-01-01")), as.numeric(p$day))
  expect_equal(as.POSIXlt(p$event_date)$wday, as.integer(p$day_of_week))
  expect_equal(p$calendar_day_index, p$day)
  expect_equal(p$panel_day_index, p$day - 3)
  expect_true(all(p$treatment %in% 0:1))
  expect_false(anyNA(p))
  expect_equal(attr(p, "true_ate"), mean(p$true_cate))
  expect_equal(attr(p, "true_att"), mean(p$true_cate[p$treatment == 1]))
  params <- attr(p, "params")
  expect_type(params, "list")
  expect_equal(unname(params$tau), c(2, 10, 8))
  expect_equal(unname(params$dow_shift), c(0.10, -0.05, 0, 0, 0, 0.03, 0.08))
  expect_equal(unname(attr(sim_user_days(5, 6, seed = 1, tau = c(0, 0, 0)), "params")$tau), c(0, 0, 0))
  expect_true(all(sim_user_days(5, 6, seed = 1, tau = c(3, 0, 0))$true_cate == 3))
  expect_equal(nrow(sim_user_days(1, 4, seed = 1)), 1L)
})

test_that("sim_user_days() follows the spec's formulas and its covariates are pre-treatment", {
  p <- sim_user_days(200, 30, seed = 11)
  h3 <- p$prior_3day_high_watch_share
  i3 <- p$prior_3day_interactions
  ps <- plogis(2.2 * (h3 - 1.65) + 0.3 * (log1p(i3) - log(150)) + 0.2 * (p$day_of_week == 0))
  expect_equal(p$true_propensity, ps, tolerance = 1e-12)
  cate <- 2 + 10 * (log1p(i3) - log(150)) / 0.5 - 8 * (h3 - 1.65) / 0.5
  expect_equal(p$true_cate, cate, tolerance = 1e-12)
  # day-level identities
  expect_equal(p$lag1_active, as.numeric(p$lag1_interactions > 0))
  ratio <- p$lag1_play_seconds / (9 * p$lag1_interactions)
  act <- p$lag1_interactions > 0
  expect_equal(ratio[act], p$lag1_watch_ratio[act], tolerance = 1e-12)
  expect_true(all(p$lag1_play_seconds[!act] == 0))
  expect_true(all(p$lag1_interactions == round(p$lag1_interactions) & p$lag1_interactions >= 0))
  expect_true(all(p$lag1_high_watch_share > 0 & p$lag1_high_watch_share < 1))
  expect_true(all(p$lag1_watch_ratio > 0))
  # lag1_* of day t are the day-(t - 1) values: the 3-day sums are the sums of the lag-1
  # values of the same user's three previous rows (t - 1, t - 2, t - 3), where those exist.
  lag_of <- function(x, k) ave(x, p$user_id, FUN = function(v) c(rep(NA, k), head(v, -k)))
  pairs <- list(c("prior_3day_active", "lag1_active"),
                c("prior_3day_interactions", "lag1_interactions"),
                c("prior_3day_play_seconds", "lag1_play_seconds"),
                c("prior_3day_watch_ratio", "lag1_watch_ratio"),
                c("prior_3day_high_watch_share", "lag1_high_watch_share"))
  for (pair in pairs) {
    x <- p[[pair[2]]]
    total <- lag_of(x, 2) + lag_of(x, 1) + x
    ok <- !is.na(total)
    expect_gt(sum(ok), 1000)
    expect_equal(p[[pair[1]]][ok], total[ok], tolerance = 1e-12, info = pair[1])
  }
  # Today's treatment moves today's high-watch share: tomorrow's lag-1 value, not today's.
  expect_gt(cor(p$treatment, p$lag1_high_watch_share, use = "complete.obs"), 0.2)  # confounding
  next_row <- ave(p$lag1_high_watch_share, p$user_id, FUN = function(v) c(v[-1], NA))
  ok <- !is.na(next_row)
  gap <- mean(next_row[ok & p$treatment == 1]) - mean(next_row[ok & p$treatment == 0])
  gap_today <- with(p, mean(lag1_high_watch_share[treatment == 1]) -
                      mean(lag1_high_watch_share[treatment == 0]))
  expect_gt(gap, 0.25)                 # about 0.43: direct effect of A_t on h_t
  expect_gt(gap - gap_today, 0.1)      # about 0.22 on day t - 1: confounding only
  # Only history enters the propensity: the realised treatment is calibrated to it.
  expect_lt(abs(mean(p$treatment) - mean(p$true_propensity)), 0.02)
})

test_that("sim_user_days() is reproducible and restores the caller's RNG state", {
  expect_identical(sim_user_days(20, 10, seed = 5), sim_user_days(20, 10, seed = 5))
  expect_false(identical(sim_user_days(20, 10, seed = 5)$outcome, sim_user_days(20, 10, seed = 6)$outcome))
  set.seed(99)
  before <- .Random.seed
  invisible(sim_user_days(20, 10, seed = 5))
  expect_identical(.Random.seed, before)
  x <- runif(1)
  set.seed(99)
  expect_identical(runif(1), x)
  # without a seed the global stream is used (and advanced)
  set.seed(3)
  a <- sim_user_days(10, 8)
  set.seed(3)
  expect_identical(sim_user_days(10, 8), a)
})

test_that("sim_user_days() rejects bad arguments with classed errors", {
  expect_error(sim_user_days(91, 3), class = "fastdml_error_argument")
  expect_error(sim_user_days(0, 55), class = "fastdml_error_argument")
  expect_error(sim_user_days(2.5, 55), class = "fastdml_error_argument")
  expect_error(sim_user_days(NA, 55), class = "fastdml_error_argument")
  expect_error(sim_user_days(10, "55"), class = "fastdml_error_argument")
  expect_error(sim_user_days(10, 10, seed = "a"), class = "fastdml_error_argument")
  expect_error(sim_user_days(10, 10, tau = c(1, 2)), class = "fastdml_error_argument")
  expect_error(sim_user_days(10, 10, tau = c(1, NA, 2)), class = "fastdml_error_argument")
  expect_error(sim_user_days(10, 10, tau = c(1, NA, 2)), class = "fastdml_error")
})
