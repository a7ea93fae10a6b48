# The onboarding case study's design (specs/onboarding-cate.md steps 1-4), shared by the tests
# of its CATE and policy acceptance bars: sim_onboarding(5500), a 70/30 split stratified on
# the treatment, train-only median imputation with flags, and the boosted IRM fit on the
# training rows.
onboarding_case <- function(seed = 20260430) {
  d <- sim_onboarding(5500, seed = seed)
  set.seed(1)
  test_rows <- unlist(lapply(split(seq_len(nrow(d)), d$treatment),
                             function(rows) sample(rows, round(0.3 * length(rows)))))
  imputer <- median_imputer(d[-test_rows, ])
  train <- predict(imputer, d[-test_rows, ])
  modifiers <- attr(d, "effect_modifiers")
  spec <- causal_data(train, "outcome", "treatment", c(modifiers, attr(d, "controls"), imputer$flags))
  list(data = d, train = train, test = predict(imputer, d[test_rows, ]), modifiers = modifiers,
       fit = dml_irm(spec, trim = 0.05, seed = 1))
}
