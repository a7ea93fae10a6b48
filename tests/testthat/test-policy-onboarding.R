# The onboarding case study's decision (specs/onboarding-cate.md steps 9-10): the value of
# "treat if the estimated effect exceeds the cost" against the truth, and coverage of the
# bootstrap intervals of a policy value over simulation replications.

test_that("treat-if-effect-exceeds-cost: true net value near the spec's 0.17, precision >= 0.75", {
  case <- onboarding_case()
  fit <- case$fit
  test <- case$test
  train <- case$train
  modifiers <- case$modifiers
  cost <- attr(case$data, "cost")
  dr <- cate_dr(fit, modifiers, learner = lrn_linear())
  acc <- cate_accuracy(list(dr = predict(dr, test)), test$true_cate, cost = cost)
  expect_lt(abs(acc$true_net_value - 0.17), 0.03)
  expect_gte(acc$precision_above_cost, 0.75)
  # The DR estimate of the rule's net value on the training rows is close to its true value there.
  pv <- policy_value(fit, dr, cost = cost)
  truth <- mean((dr$estimates > cost) * (train$true_cate - cost))
  net <- pv$table[pv$table$term == "net value", ]
  expect_lt(abs(net$estimate - truth), 3 * net$std.error)
})

test_that("multiplier-bootstrap intervals of a policy value cover the truth in >= 90% of 100 replications", {
  rule <- function(x) x$onboarding_gap > 0 & x$price_sensitivity < 0.5
  cost <- 0.18
  population <- sim_onboarding(1e6, seed = 99)
  truth <- mean(rule(population) * (population$true_cate - cost))
  rm(population)
  covered <- vapply(seq_len(100), function(r) {
    d <- sim_onboarding(3000, seed = 1000 + r)
    d <- predict(median_imputer(d), d)
    covariates <- setdiff(names(d), c("treatment", "outcome", "true_cate", "true_propensity", "baseline_value"))
    fit <- dml_irm(causal_data(d, "outcome", "treatment", covariates), learner_outcome = lrn_linear(),
                   learner_treatment = lrn_logistic(), n_folds = 3, seed = r)
    pv <- policy_value(fit, rule, cost = cost, n_boot = 300, seed = r)
    net <- pv$table[pv$table$term == "net value", ]
    net$boot.low <= truth && truth <= net$boot.high
  }, logical(1))
  message(sprintf("policy value: bootstrap 95%% intervals cover the true net value %.4f in %d of 100 replications",
                  truth, sum(covered)))
  expect_gte(mean(covered), 0.90)
})
