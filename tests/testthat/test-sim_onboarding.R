# The onboarding simulator against its specification (specs/onboarding-cate.md) and the
# train-only median imputer.

test_that("sim_onboarding() follows the spec's formulas, roles and missingness", {
  d <- sim_onboarding(20000, seed = 20260430)
  expect_named(d, c("onboarding_gap", "prior_sessions", "content_diversity", "search_difficulty",
                    "price_sensitivity", "device_reliability", "support_contacts", "tenure_weeks",
                    "region_competition", "market_maturity", "marketing_pressure",
                    "account_complexity", "referral_organic", "weekday_signup", "mobile_primary",
                    "high_motivation_segment", "treatment", "outcome", "true_cate",
                    "true_propensity", "baseline_value"))
  ok <- stats::complete.cases(d)
  c <- d[ok, ]
  cate <- with(c, 0.26 + 0.28 * onboarding_gap + 0.20 * content_diversity - 0.22 * support_contacts -
                 0.16 * price_sensitivity + 0.18 * high_motivation_segment + 0.15 * pmax(search_difficulty, 0) +
                 0.10 * device_reliability * content_diversity - 0.12 * region_competition)
  expect_equal(c$true_cate, cate, tolerance = 1e-12)
  ps <- with(c, pmin(pmax(plogis(-0.20 + 0.55 * onboarding_gap + 0.42 * prior_sessions +
                                   0.35 * high_motivation_segment + 0.30 * content_diversity +
                                   0.24 * marketing_pressure - 0.28 * device_reliability +
                                   0.18 * support_contacts - 0.16 * referral_organic), 0.05), 0.95))
  expect_equal(c$true_propensity, ps, tolerance = 1e-12)
  base <- with(c, 1.40 + 0.45 * prior_sessions + 0.35 * content_diversity - 0.32 * support_contacts -
                 0.28 * search_difficulty - 0.22 * price_sensitivity + 0.24 * device_reliability +
                 0.18 * market_maturity + 0.12 * referral_organic + 0.08 * weekday_signup +
                 0.10 * account_complexity + 0.05 * sin(tenure_weeks / 3))
  expect_equal(c$baseline_value, base, tolerance = 1e-12)
  noise <- d$outcome - d$baseline_value - d$treatment * d$true_cate
  expect_equal(sd(noise), 0.75, tolerance = 0.03)
  latent <- c[, 1:6]
  r <- cor(latent)[upper.tri(diag(6))]
  expect_true(all(abs(r - 0.28) < 0.04))
  expect_true(all(abs(sapply(latent, sd) - 1) < 0.03))
  rates <- colMeans(is.na(d))
  expect_equal(unname(rates[c("content_diversity", "search_difficulty", "support_contacts", "device_reliability")]),
               c(0.035, 0.025, 0.020, 0.030), tolerance = 0.25)
  expect_equal(sum(rates > 0), 4L)
  expect_true(all(d$support_contacts <= 6, na.rm = TRUE))
  expect_true(all(d$tenure_weeks >= 1 & d$tenure_weeks <= 40))
  expect_equal(attr(d, "true_ate"), mean(d$true_cate))
  expect_equal(attr(d, "cost"), 0.18)
  expect_length(attr(d, "effect_modifiers"), 8L)
  # The spec's orders of magnitude: raw gap about 0.51 against a true ATE about 0.20, CATE sd 0.48.
  gap <- mean(d$outcome[d$treatment == 1]) - mean(d$outcome[d$treatment == 0])
  expect_gt(gap, 0.4)
  expect_lt(abs(attr(d, "true_ate") - 0.2), 0.05)
  expect_equal(sd(d$true_cate), 0.48, tolerance = 0.1)
  expect_identical(sim_onboarding(50, seed = 1), sim_onboarding(50, seed = 1))
})

test_that("median_imputer() learns medians on the training rows only and flags missing values", {
  d <- sim_onboarding(1000, seed = 2)
  train <- d[1:700, ]
  test <- d[701:1000, ]
  imputer <- median_imputer(train)
  expect_setequal(names(imputer$medians), c("content_diversity", "search_difficulty", "support_contacts", "device_reliability"))
  out <- predict(imputer, test)
  for (col in names(imputer$medians)) {
    miss <- is.na(test[[col]])
    expect_equal(out[[paste0(col, "_missing")]], as.integer(miss))
    expect_equal(out[[col]][miss], rep(median(train[[col]], na.rm = TRUE), sum(miss)))
    expect_equal(out[[col]][!miss], test[[col]][!miss])
  }
  expect_false(anyNA(out[names(imputer$medians)]))
  expect_output(print(imputer), "training rows")
  expect_error(predict(imputer, test[, -3]), class = "fastdml_error_column", regexp = "content_diversity")
  expect_error(median_imputer(data.frame(a = c(NA_real_, NA), b = 1:2), "a"), class = "fastdml_error_non_finite")
  expect_error(median_imputer(data.frame(a = c("x", NA)), "a"), class = "fastdml_error_column", regexp = "not numeric")
})

test_that("the onboarding case study meets the held-out bar: RMSE <= 0.30, correlation >= 0.85", {
  case <- onboarding_case()
  fit <- case$fit
  modifiers <- case$modifiers
  basis <- reformulate(sprintf("poly(%s, degree = 2, raw = TRUE)", paste(modifiers, collapse = ", ")))
  predictions <- list(
    blp = predict(suppressWarnings(cate_blp(fit, basis)), case$test),
    dr = predict(cate_dr(fit, modifiers, learner = lrn_linear()), case$test),
    forest = predict(cate_forest(fit, modifiers, num_trees = 1000, seed = 1), case$test))
  acc <- cate_accuracy(predictions, case$test$true_cate)
  best <- which.min(acc$rmse)
  expect_lte(acc$rmse[best], 0.30)
  expect_gte(acc$correlation[best], 0.85)
  expect_lt(max(acc$rmse), 0.40)
  expect_gt(min(acc$correlation), 0.75)
})
