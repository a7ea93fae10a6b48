# Interrupts (Ctrl-C) during a threaded C++ cross-fit: the fit must stop promptly, leave no
# thread computing, and leave the session usable. Run in a subprocess (callr), which is sent
# SIGINT as a terminal's Ctrl-C would (helpers in helper-interrupt.R) 1.5 s into the C++
# cross-fit (the folds are drawn beforehand). Uninterrupted, the fits below take 15 to 30 s;
# the session must answer within a 5 s window, which checks that the interrupt is honoured,
# not how fast (tools/interrupt-latency.R measures that).

test_that("an interrupted cross-fit returns promptly with no thread left running", {
  skip_if_not_installed("callr")
  skip_if_not(file.exists("/proc/self/stat"), "needs /proc to read CPU times")
  session <- interrupt_session()
  on.exit(session$close(), add = TRUE)
  # the default boosting learners, and the linear / logistic ones (chunked Gram and IRLS passes)
  fits <- list(
    irm = function() dml_irm(spec, folds = folds_20, num.threads = 2),
    plr = function() dml_plr(spec, folds = folds_60, num.threads = 2),
    irm_linear = function() dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(),
                                    folds = folds_20, num.threads = 2),
    plr_linear = function() dml_plr(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_linear(),
                                    folds = folds_60, num.threads = 2))
  for (name in names(fits)) {
    run <- interrupt_fit(session, fits[[name]], deadline = 5)
    expect_true(was_interrupted(run$result), info = name)
    expect_lt(run$cpu_after, 0.3)
  }
  small <- session$run(function() {
    coef(dml_plr(causal_data(sim_lesson(300, seed = 1), "outcome", "treatment",
                             c("age", "income", "browsing_time")), seed = 1))
  })
  expect_true(is.finite(small))
})
