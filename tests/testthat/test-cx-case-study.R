# The CX case study's acceptance checks (specs/cx-multitreatment.md §6) at its full size,
# n = 1e5 with the default (boosting) learners: about 20 s in all.

test_that("intended CX design: every arm within 3 SE of the truth and |bias| < 0.015", {
  d <- sim_cx(n = 1e5, seed = 42, coupled = FALSE)
  spec <- causal_data(d, outcome = "y", treatment = "arm", control = "control",
                      covariates = names(d)[1:20])
  fit <- suppressWarnings(dml_multi_irm(spec, n_folds = 5, trim = 0.01, seed = 42))
  truth <- attr(d, "true_ate")[-1]
  bias <- unname(coef(fit) - truth)
  expect_true(all(abs(bias) < 0.015))
  expect_true(all(abs(bias) < 3 * fit$se))
})

test_that("coupled CX design: the spec's flags and a bias no worse than the reference's", {
  d <- sim_cx(n = 1e5, seed = 42)
  spec <- causal_data(d, outcome = "y", treatment = "arm", control = "control",
                      covariates = names(d)[1:20])
  fit <- suppressWarnings(dml_multi_irm(spec, n_folds = 5, trim = 0.01, seed = 42))
  # the reference's largest |bias| against its (structural) truth is 0.0102
  expect_lt(max(abs(coef(fit) - attr(d, "true_ate_structural")[-1])), 0.0102)
  ov <- diagnose_overlap(fit)
  # every contrast fails overlap: edge mass, KS, AUC and the clipped share are RED (§6)
  for (flag in c("flag_edge", "flag_ks", "flag_auc", "flag_clip_m", "overall_flag")) {
    expect_identical(ov$table[[flag]], rep("RED", 3), label = flag)
  }
  expect_false(ov$pass)
  bal <- diagnose_balance(fit, threshold = 0.10)
  expect_identical(bal$summary$flag_max_smd, rep("RED", 4))
  # violation shares .25-.75 over fold seeds and data sets (study_cx_flags.R): RED as in §6
  expect_identical(bal$summary$flag_violations, rep("RED", 4))
  expect_identical(bal$summary$overall_flag, rep("RED", 4))
  expect_false(bal$pass)
  top <- bal$top$covariate[1:3]
  expect_true(all(top %in% c("channel_web", "channel_partner", "channel_callcenter", "prev_contact")))
})
