# Design diagnostics: overlap, balance, scores, the combined report, balance_table() and the
# plots. Statistics are checked against the loop-based references of
# helper-reference-diagnostics.R on a fixed three-arm design (through the internal matrix
# functions, which the exported wrappers feed from the fit accessors) and on a binary fit.

des <- ref_multi_design()

diag_fit <- function(n = 600, seed = 1, ...) {
  dml_irm(causal_data(sim_lesson(n, seed = seed), "outcome", "treatment",
                      c("age", "browsing_time", "income")),
          learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1, ...)
}
bin_fit <- suppressWarnings(diag_fit())

# ---------------------------------------------------------------------------
# (a) statistics against the references
# ---------------------------------------------------------------------------

test_that("KS and AUC of the pair separation match ks.test, wilcox.test and pair counts", {
  x <- des$M_raw[des$d == 1, 2]
  y <- des$M_raw[des$d == 0, 2]
  sep <- pair_separation(x, y)
  expect_identical(sep$ks, unname(suppressWarnings(stats::ks.test(x, y))$statistic))
  w <- unname(suppressWarnings(stats::wilcox.test(x, y, exact = FALSE))$statistic)
  expect_equal(sep$auc, w / (length(x) * length(y)), tolerance = 1e-12)
  expect_equal(sep$auc, ref_auc(x, y), tolerance = 1e-12)
  # heavy ties: integer scores
  set.seed(3)
  xi <- sample(1:5, 200, TRUE)
  yi <- sample(2:6, 150, TRUE)
  sep <- pair_separation(xi, yi)
  expect_identical(sep$ks, unname(suppressWarnings(stats::ks.test(xi, yi))$statistic))
  expect_equal(sep$ks, ref_ks(xi, yi), tolerance = 1e-12)
  expect_equal(sep$auc, ref_auc(xi, yi), tolerance = 1e-12)
})

test_that("overlap metrics of every contrast match the hand computation", {
  ov <- overlap_metrics(des$d, des$M_raw, des$M_trim, des$trim, des$arms)
  expect_s3_class(ov, "fastdml_overlap")
  expect_identical(ov$table$comparison, c("a", "b"))
  for (k in 1:2) {
    ref <- ref_overlap(des$d, des$M_raw, des$M_trim, des$trim, k)
    row <- ov$table[k]
    for (name in c("n_pair", "n_treated", "n_baseline", "ks", "auc", "ess_ratio_treated",
                   "ess_ratio_baseline", "ess_ratio_treated_trimmed",
                   "ess_ratio_baseline_trimmed", "clip_m_treated", "clip_m_baseline",
                   "clip_m_total", "flag_edge", "flag_ks", "flag_auc", "flag_ess_treated", "flag_ess_baseline",
                   "flag_clip_m", "overall_flag", "pass")) {
      expect_equal(row[[name]], ref[[name]], tolerance = 1e-10, ignore_attr = TRUE,
                   label = sprintf("%s (contrast %d)", name, k))
    }
    expect_equal(row[["edge_0.01_below"]], ref$edge_below, tolerance = 1e-10)
    expect_equal(row[["edge_0.01_above"]], ref$edge_above, tolerance = 1e-10)
  }
  # the design exercises the edges, the clipping and ties
  expect_gt(ov$table[["edge_0.01_above"]][1], 0)
  expect_gt(ov$table$clip_m_total[1], 0)
  expect_gt(ov$table$clip_m_total[2], 0)
  # baseline ESS is the same for every contrast
  expect_identical(ov$table$ess_ratio_baseline[1], ov$table$ess_ratio_baseline[2])
  # the floor binds, so the trimmed weights' ESS differs from the raw one
  expect_false(isTRUE(all.equal(ov$table$ess_ratio_treated, ov$table$ess_ratio_treated_trimmed)))
  # long table: 8 metrics per contrast, overlap_pass carries the overall flag
  expect_identical(names(ov$summary), c("comparison", "metric", "value", "flag"))
  expect_identical(ov$summary$metric[1:8], c("edge_0.01_below", "edge_0.01_above", "ks", "auc",
                                             "ess_ratio_treated", "ess_ratio_baseline",
                                             "clip_m_total", "overlap_pass"))
  last <- ov$summary[ov$summary$metric == "overlap_pass"]
  expect_identical(last$flag, ov$table$overall_flag)
  expect_identical(last$value, as.numeric(ov$table$pass))
  expect_identical(ov$overall_flag, ref_worst(ov$table$overall_flag))
  expect_identical(ov$pass, all(ov$table$pass))
  # diagnose()'s per-comparison worst metric comes from that comparison's rows
  worst <- worst_metrics("overlap", ov$summary[ov$summary$metric != "overlap_pass"], ov$table)
  for (i in 1:2) {
    rows <- ov$summary[ov$summary$comparison == des$arms[i + 1] & ov$summary$metric != "overlap_pass"]
    at <- which.max(match(rows$flag, c("GREEN", "YELLOW", "RED")))
    expect_identical(worst$worst_metric[i], rows$metric[at])
    expect_identical(worst$worst_value[i], rows$value[at])
  }
  expect_false(identical(worst$worst_value[1], worst$worst_value[2]))
  # plotted scores: the pair units of each contrast
  expect_identical(nrow(ov$scores), sum(ov$table$n_pair))
  expect_identical(levels(ov$scores$arm), des$arms)
})

test_that("balance matches the hand computation (ATE, observation weights, ATT)", {
  cases <- list(list(weights = NULL, estimand = "ATE"),
                list(weights = des$weights, estimand = "ATE"),
                list(weights = NULL, estimand = "ATT"),
                list(weights = des$weights, estimand = "ATT"))
  tau <- 0.1
  for (case in cases) {
    bal <- balance_metrics(des$d, des$M_trim, des$X, tau, des$arms, case$weights, case$estimand)
    label <- paste(case$estimand, if (is.null(case$weights)) "unweighted" else "weighted")
    all_smd <- numeric(0)
    for (k in 1:2) {
      ref <- ref_balance(des$d, des$M_trim, des$X, k, case$weights, case$estimand)
      got <- as.data.frame(bal$table[bal$table$comparison == des$arms[k + 1]])
      expect_equal(got[, names(ref)], ref, tolerance = 1e-10, ignore_attr = TRUE, label = label)
      expect_identical(got$flag, vapply(ref$smd_weighted, ref_flag_low, "", tau, 2 * tau))
      s <- ref_balance_summary(ref$smd_weighted, tau)
      row <- bal$summary[bal$summary$comparison == des$arms[k + 1]]
      for (name in names(s)) expect_equal(row[[name]], s[[name]], tolerance = 1e-10, label = name)
      expect_equal(row$max_smd_raw, max(ref$smd_raw), tolerance = 1e-10)
      all_smd <- c(all_smd, ref$smd_weighted)
    }
    s <- ref_balance_summary(all_smd, tau)
    row <- bal$summary[bal$summary$comparison == "overall"]
    for (name in names(s)) expect_equal(row[[name]], s[[name]], tolerance = 1e-10, label = name)
    expect_identical(bal$overall_flag, s$overall_flag)
    expect_identical(bal$pass, s$pass)
    # the SMD matrix and the top features
    expect_identical(dim(bal$smd), c(4L, 2L))
    expect_identical(dimnames(bal$smd), list(colnames(des$X), c("a", "b")))
    expect_equal(as.vector(bal$smd), bal$table$smd_weighted)
    worst <- apply(bal$smd, 1, max)
    expect_identical(bal$top$covariate, names(sort(worst, decreasing = TRUE)))
    expect_equal(bal$top$smd_weighted, unname(sort(worst, decreasing = TRUE)))
  }
})

test_that("the SMD is 0 or Inf when both arms are constant", {
  a <- list(mean = c(1, 1, 2), var = c(0, 0, 1))
  b <- list(mean = c(1, 0, 2), var = c(0, 0, 1))
  expect_identical(smd_of(a, b), c(0, Inf, 0))
  expect_identical(smd_of(b, a), c(0, -Inf, 0))
  # a covariate constant within each arm but different between them: Inf, a violation
  X <- cbind(x = as.numeric(des$d == 1), z = des$X[, "score"])
  bal <- balance_metrics(des$d, des$M_trim, X, 0.1, des$arms)
  expect_identical(bal$table$smd_weighted[1], Inf)
  expect_identical(bal$summary$flag_max_smd[1], "RED")
  expect_identical(bal$top$covariate[1], "x")
  expect_silent(ggplot2::ggplot_build(ggplot2::autoplot(bal)))
})

test_that("score tails, top contributions and orthogonality match the hand computation", {
  cases <- list(list(weights = NULL, normalize = FALSE, estimand = "ATE"),
                list(weights = NULL, normalize = TRUE, estimand = "ATE"),
                list(weights = des$weights, normalize = FALSE, estimand = "ATE"),
                list(weights = des$weights, normalize = TRUE, estimand = "ATT"))
  IF <- ref_ate_if(des)
  for (case in cases) {
    sc <- score_metrics(IF, des$d, des$y, des$G, des$M_trim, des$X, des$arms, case$weights,
                        case$normalize, case$estimand)
    expect_s3_class(sc, "fastdml_scores")
    expect_identical(sc$table$term, colnames(IF))
    for (k in 1:2) {
      tails <- ref_tails(IF[, k])
      for (name in names(tails)) {
        expect_equal(sc$table[[name]][k], tails[[name]], tolerance = 1e-10, label = name)
      }
      ref <- ref_orthogonality(des$d, des$y, des$G, des$M_trim, des$X, k, case$weights,
                               case$normalize, case$estimand)
      got <- as.data.frame(sc$orthogonality[sc$orthogonality$comparison == des$arms[k + 1]])
      expect_equal(got[, names(ref)], ref, tolerance = 1e-10, ignore_attr = TRUE,
                   label = paste(case$estimand, case$normalize))
      expect_equal(sc$table$max_abs_t[k], max(abs(ref$statistic)), tolerance = 1e-10)
      J <- nrow(ref)
      expect_equal(sc$table$t_warn[k], max(2, qnorm(1 - 0.05 / (2 * J))))
      expect_equal(sc$table$t_strong[k], max(4, qnorm(1 - 0.001 / (2 * J))))
      # the five largest |IF| rows
      top <- sc$top[sc$top$comparison == des$arms[k + 1]]
      rows <- order(-abs(IF[, k]))[1:5]
      expect_identical(top$row, rows)
      expect_identical(top$arm, des$arms[des$d[rows] + 1])
      expect_equal(top$influence, IF[rows, k])
      expect_equal(top$share, abs(IF[rows, k]) / sum(abs(IF[, k])))
      expect_equal(top$propensity, des$M_trim[cbind(rows, des$d[rows] + 1)])
      expect_equal(top$residual, des$y[rows] - des$G[cbind(rows, des$d[rows] + 1)])
    }
    expect_identical(unique(sc$orthogonality$direction),
                     if (case$estimand == "ATE") c("g_arm", "g_control", "m_arm", "m_control")
                     else c("g_control", "m_arm", "m_control"))
  }
})

test_that("the orthogonality check detects a miscalibrated propensity model", {
  IF <- ref_ate_if(des)
  M_bad <- des$M_trim
  M_bad[, 2] <- M_bad[, 2] * 0.6
  M_bad[, 1] <- 1 - M_bad[, 2] - M_bad[, 3]
  sc <- score_metrics(IF, des$d, des$y, des$G, M_bad, des$X, des$arms)
  g <- sc$orthogonality[sc$orthogonality$direction == "g_arm" & sc$orthogonality$basis == "(intercept)"]
  expect_gt(abs(g$statistic[1]), 4)
  expect_identical(sc$table$flag_orthogonality[1], "RED")
})

test_that("balance_table matches means, signed SMDs and ks.test per arm", {
  spec <- structure(list(X = des$X, y = des$y, d = as.numeric(des$d), weights = NULL,
                         treatment = "arm", treatment_levels = des$arms,
                         treatment_type = "multi", n = length(des$d)),
                    class = "fastdml_data")
  tab <- balance_table(spec)
  expect_s3_class(tab, "data.table")
  expect_identical(names(tab), c("comparison", "covariate", "mean_d_0", "mean_d_1", "abs_diff",
                                 "smd", "ks", "ks_pvalue"))
  for (k in 1:2) {
    got <- as.data.frame(tab[tab$comparison == des$arms[k + 1]])[, -1]
    ref <- ref_balance_table(des$X, des$d, k)
    expect_equal(got, ref, tolerance = 1e-10, ignore_attr = TRUE)
    expect_true(all(diff(abs(got$smd)) <= 0))
  }
  # small arms: exact p-values (ks.test's default, also with ties)
  small <- spec
  keep <- c(which(des$d == 0)[1:40], which(des$d == 1)[1:30], which(des$d == 2)[1:20])
  small$X <- des$X[keep, ]
  small$d <- as.numeric(des$d[keep])
  tab <- balance_table(small)
  for (k in 1:2) {
    got <- as.data.frame(tab[tab$comparison == des$arms[k + 1]])[, -1]
    expect_equal(got, ref_balance_table(small$X, small$d, k), tolerance = 1e-10, ignore_attr = TRUE)
  }
  # a binary spec from causal_data()
  df <- sim_lesson(300, seed = 2)
  bspec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
  got <- as.data.frame(balance_table(bspec))[, -1]
  expect_equal(got, ref_balance_table(bspec$X, bspec$d, 1), tolerance = 1e-10, ignore_attr = TRUE)
})

test_that("the asymptotic KS p-value equals ks.test's for statistics below and above 1", {
  set.seed(11)
  for (shift in c(0, 0.05, 0.15, 0.3, 0.6)) {
    x <- rnorm(300, shift)
    y <- rnorm(200)
    D <- pair_separation(x, y)$ks
    ref <- suppressWarnings(stats::ks.test(x, y, exact = FALSE))$p.value
    expect_equal(ks_asymptotic_p(D, 300 * 200 / 500), ref, tolerance = 1e-12)
  }
  expect_identical(ks_asymptotic_p(0, 100), 1)
})

# ---------------------------------------------------------------------------
# (b) every flag threshold on both sides
# ---------------------------------------------------------------------------

test_that("overlap flags switch exactly at the spec's thresholds", {
  base <- data.table::data.table(comparison = "a", n_pair = 10L, n_treated = 5L, n_baseline = 5L,
                                 `edge_0.01_below` = 0, `edge_0.01_above` = 0, ks = 0.1,
                                 auc = 0.6, ess_ratio_treated = 0.9, ess_ratio_baseline = 0.9,
                                 ess_ratio_treated_trimmed = 0.9, ess_ratio_baseline_trimmed = 0.9,
                                 clip_m_treated = 0, clip_m_baseline = 0, clip_m_total = 0)
  flag_with <- function(column, value, flag) {
    tab <- data.table::copy(base)
    data.table::set(tab, j = column, value = value)
    grade_overlap(tab)[[flag]]
  }
  e <- 1e-9
  for (edge in c("edge_0.01_below", "edge_0.01_above")) {
    expect_identical(flag_with(edge, 0.02, "flag_edge"), "GREEN")
    expect_identical(flag_with(edge, 0.02 + e, "flag_edge"), "YELLOW")
    expect_identical(flag_with(edge, 0.05, "flag_edge"), "YELLOW")
    expect_identical(flag_with(edge, 0.05 + e, "flag_edge"), "RED")
  }
  expect_identical(flag_with("ks", 0.30 - e, "flag_ks"), "GREEN")
  expect_identical(flag_with("ks", 0.30, "flag_ks"), "YELLOW")
  expect_identical(flag_with("ks", 0.40 - e, "flag_ks"), "YELLOW")
  expect_identical(flag_with("ks", 0.40, "flag_ks"), "RED")
  expect_identical(flag_with("auc", 0.80 - e, "flag_auc"), "GREEN")
  expect_identical(flag_with("auc", 0.80, "flag_auc"), "YELLOW")
  expect_identical(flag_with("auc", 0.90 - e, "flag_auc"), "YELLOW")
  expect_identical(flag_with("auc", 0.90, "flag_auc"), "RED")
  expect_identical(flag_with("auc", 0.20 + e, "flag_auc"), "YELLOW")  # graded on 1 - auc
  expect_identical(flag_with("auc", 0.10, "flag_auc"), "RED")
  expect_identical(flag_with("auc", 0.45, "flag_auc"), "GREEN")       # the flip rule
  expect_identical(flag_with("auc", 0.45 - e, "flag_auc"), "YELLOW")
  for (ess in c("ess_ratio_treated", "ess_ratio_baseline")) {
    flag <- sub("_ratio", "", paste0("flag_", ess))
    expect_identical(flag_with(ess, 0.30, flag), "GREEN")
    expect_identical(flag_with(ess, 0.30 - e, flag), "YELLOW")
    expect_identical(flag_with(ess, 0.15, flag), "YELLOW")
    expect_identical(flag_with(ess, 0.15 - e, flag), "RED")
  }
  expect_identical(flag_with("clip_m_total", 0.02 - e, "flag_clip_m"), "GREEN")
  expect_identical(flag_with("clip_m_total", 0.02, "flag_clip_m"), "YELLOW")
  expect_identical(flag_with("clip_m_total", 0.05 - e, "flag_clip_m"), "YELLOW")
  expect_identical(flag_with("clip_m_total", 0.05, "flag_clip_m"), "RED")
  # overall = worst; pass only when GREEN
  expect_identical(grade_overlap(data.table::copy(base))$pass, TRUE)
  tab <- data.table::copy(base)
  data.table::set(tab, j = "ks", value = 0.35)
  out <- grade_overlap(tab)
  expect_identical(out$overall_flag, "YELLOW")
  expect_false(out$pass)
  data.table::set(tab, j = "clip_m_total", value = 0.5)
  expect_identical(grade_overlap(tab)$overall_flag, "RED")
})

test_that("balance flags switch at tau, 2 tau, 0.10 and 0.25", {
  tau <- 0.1
  e <- 1e-9
  row <- function(smd) balance_summary_row("a", smd, smd, tau)
  expect_identical(row(c(tau - e, 0))$flag_max_smd, "GREEN")
  expect_identical(row(c(tau, rep(0, 19)))$flag_max_smd, "YELLOW")
  expect_identical(row(c(2 * tau - e, rep(0, 19)))$flag_max_smd, "YELLOW")
  expect_identical(row(c(2 * tau, rep(0, 19)))$flag_max_smd, "RED")
  # fraction of violations: 1/11 < .10 GREEN, 1/10 YELLOW, 2/9 < .25 YELLOW, 1/4 RED
  expect_identical(row(c(tau, rep(0, 10)))$flag_violations, "GREEN")
  expect_identical(row(c(tau, rep(0, 9)))$flag_violations, "YELLOW")
  expect_identical(row(c(tau, tau, rep(0, 7)))$flag_violations, "YELLOW")
  expect_identical(row(c(tau, rep(0, 3)))$flag_violations, "RED")
  # pass needs every SMD below tau
  expect_true(row(c(tau - e, 0))$pass)
  expect_false(row(c(tau, rep(0, 10)))$pass)
  expect_identical(row(c(tau, rep(0, 10)))$overall_flag, "YELLOW")
  # NaN SMDs are left out, Inf is a violation
  expect_identical(row(c(NaN, 0.01))$max_smd, 0.01)
  expect_identical(row(c(Inf, 0.01))$flag_max_smd, "RED")
  # another threshold
  expect_identical(balance_summary_row("a", c(0.2, 0), c(0, 0), 0.25)$flag_max_smd, "GREEN")
})

test_that("score flags switch at their documented thresholds", {
  e <- 1e-9
  grade <- function(...) {
    tab <- data.table::data.table(kurtosis = 3, p99_over_median = 4, top1_share = 0.04,
                                  max_abs_t = 1, t_warn = 2.5, t_strong = 4)
    for (name in names(list(...))) data.table::set(tab, j = name, value = list(...)[[name]])
    grade_scores(tab)
  }
  expect_identical(grade()$overall_flag, "GREEN")
  expect_true(grade()$pass)
  expect_identical(grade(kurtosis = 10 - e)$flag_kurtosis, "GREEN")
  expect_identical(grade(kurtosis = 10)$flag_kurtosis, "YELLOW")
  expect_identical(grade(kurtosis = 30 - e)$flag_kurtosis, "YELLOW")
  expect_identical(grade(kurtosis = 30)$flag_kurtosis, "RED")
  expect_identical(grade(p99_over_median = 10 - e)$flag_tail, "GREEN")
  expect_identical(grade(p99_over_median = 10)$flag_tail, "YELLOW")
  expect_identical(grade(p99_over_median = 20 - e)$flag_tail, "YELLOW")
  expect_identical(grade(p99_over_median = 20)$flag_tail, "RED")
  expect_identical(grade(top1_share = 0.10 - e)$flag_top1, "GREEN")
  expect_identical(grade(top1_share = 0.10)$flag_top1, "YELLOW")
  expect_identical(grade(top1_share = 0.20 - e)$flag_top1, "YELLOW")
  expect_identical(grade(top1_share = 0.20)$flag_top1, "RED")
  expect_identical(grade(max_abs_t = 2.5 - e)$flag_orthogonality, "GREEN")
  expect_identical(grade(max_abs_t = 2.5)$flag_orthogonality, "YELLOW")
  expect_identical(grade(max_abs_t = 4 - e)$flag_orthogonality, "YELLOW")
  expect_identical(grade(max_abs_t = 4)$flag_orthogonality, "RED")
  expect_identical(grade(kurtosis = 12, top1_share = 0.5)$overall_flag, "RED")
  expect_false(grade(kurtosis = 12)$pass)
  # Bonferroni thresholds, floored at 2 and 4
  expect_equal(t_thresholds(1), c(warn = max(2, qnorm(1 - 0.025)), strong = max(4, qnorm(1 - 0.0005))))
  expect_equal(t_thresholds(84), c(warn = qnorm(1 - 0.05 / 168), strong = qnorm(1 - 0.001 / 168)))
})

test_that("worst_flag ignores NA and ranks GREEN < YELLOW < RED", {
  expect_identical(worst_flag(c("GREEN", "YELLOW", NA, NA), c("RED", "GREEN", "GREEN", NA)),
                   c("RED", "YELLOW", "GREEN", NA))
  expect_identical(overall_of(c("GREEN", NA, "YELLOW")), "YELLOW")
  expect_identical(overall_of(c(NA_character_, NA_character_)), NA_character_)
})

# ---------------------------------------------------------------------------
# (c) the wrappers on a binary dml_irm fit
# ---------------------------------------------------------------------------

test_that("diagnose_overlap() on a binary fit returns the documented tables", {
  ov <- diagnose_overlap(bin_fit)
  expect_s3_class(ov, "fastdml_overlap")
  expect_identical(names(ov$table), c(
    "comparison", "n_pair", "n_treated", "n_baseline", "edge_0.01_below", "edge_0.01_above",
    "flag_edge", "ks", "flag_ks", "auc", "flag_auc", "ess_ratio_treated", "flag_ess_treated",
    "ess_ratio_baseline", "flag_ess_baseline", "ess_ratio_treated_trimmed",
    "ess_ratio_baseline_trimmed", "clip_m_treated", "clip_m_baseline", "clip_m_total",
    "flag_clip_m", "overall_flag", "pass"))
  expect_identical(ov$table$comparison, "1")
  m <- nuisances(bin_fit)$m[, 1]
  d <- bin_fit$spec$d
  # binary: the pair score is the propensity itself
  expect_equal(ov$table$ks, unname(stats::ks.test(m[d == 1], m[d == 0])$statistic))
  ref <- ref_overlap(d, cbind(1 - m, m), cbind(1 - pmin(pmax(m, 0.01), 0.99), pmin(pmax(m, 0.01), 0.99)),
                     0.01, 1)
  expect_equal(ov$table$auc, ref$auc, tolerance = 1e-10)
  expect_equal(ov$table$ess_ratio_treated, ref$ess_ratio_treated, tolerance = 1e-10)
  expect_equal(ov$table$ess_ratio_baseline, ref$ess_ratio_baseline, tolerance = 1e-10)
  expect_equal(ov$table$ess_ratio_treated_trimmed, ref$ess_ratio_treated_trimmed, tolerance = 1e-10)
  expect_equal(ov$table$ess_ratio_baseline_trimmed, ref$ess_ratio_baseline_trimmed,
               tolerance = 1e-10)
  expect_identical(ov$overall_flag, ref$overall_flag)
  expect_identical(ov$rep, 1L)
})

test_that("diagnose_balance() and diagnose_scores() on a binary fit", {
  bal <- diagnose_balance(bin_fit, threshold = 0.05)
  expect_s3_class(bal, "fastdml_balance")
  expect_identical(names(bal$table), c("comparison", "covariate", "mean_control", "mean_arm",
                                       "smd_raw", "mean_control_weighted", "mean_arm_weighted",
                                       "smd_weighted", "flag"))
  expect_identical(names(bal$summary), c("comparison", "n_covariates", "max_smd_raw", "max_smd",
                                         "frac_violations", "flag_max_smd", "flag_violations",
                                         "overall_flag", "pass"))
  expect_identical(bal$summary$comparison, c("1", "overall"))
  expect_identical(names(bal$top), c("covariate", "comparison", "smd_weighted", "smd_raw"))
  m <- pmin(pmax(nuisances(bin_fit)$m[, 1], 0.01), 0.99)
  ref <- ref_balance(bin_fit$spec$d, cbind(1 - m, m), bin_fit$spec$X, 1)
  expect_equal(bal$table$smd_weighted, ref$smd_weighted, tolerance = 1e-10)
  expect_equal(bal$threshold, 0.05)

  sc <- diagnose_scores(bin_fit)
  expect_s3_class(sc, "fastdml_scores")
  expect_identical(names(sc$table), c(
    "comparison", "term", "n", "se", "kurtosis", "p99_over_median", "top1_share",
    "max_abs_over_sd", "max_abs_t", "t_warn", "t_strong", "flag_kurtosis", "flag_tail",
    "flag_top1", "flag_orthogonality", "overall_flag", "pass"))
  expect_identical(sc$table$term, "treatment")
  IF <- influence_functions(bin_fit)[, 1]
  tails <- ref_tails(IF)
  for (name in names(tails)) expect_equal(sc$table[[name]], tails[[name]], tolerance = 1e-10)
  n <- bin_fit$n
  expect_equal(sc$table$se * sqrt((n - 1) / n), bin_fit$se, tolerance = 1e-8)  # fit: mean(IF^2)
  expect_identical(names(sc$orthogonality), c("comparison", "direction", "basis", "derivative",
                                              "std.error", "statistic"))
  expect_identical(nrow(sc$orthogonality), 4L * 4L)
  expect_identical(names(sc$top), c("comparison", "rank", "row", "arm", "influence", "share",
                                    "propensity", "residual"))
  expect_identical(names(sc$summary), c("comparison", "metric", "value", "flag"))
})

test_that("the ATT and a second repetition are diagnosed", {
  att <- suppressWarnings(diag_fit(estimand = "ATT", n_rep = 2))
  sc <- diagnose_scores(att, rep = 2)
  expect_identical(sc$rep, 2L)
  expect_identical(unique(sc$orthogonality$direction), c("g_control", "m_arm", "m_control"))
  bal <- diagnose_balance(att, rep = 2)
  m <- pmin(pmax(nuisances(att)$m[, 2], 0.01), 0.99)
  ref <- ref_balance(att$spec$d, cbind(1 - m, m), att$spec$X, 1, estimand = "ATT")
  expect_equal(bal$table$smd_weighted, ref$smd_weighted, tolerance = 1e-10)
  expect_identical(bal$estimand, "ATT")
  ov1 <- diagnose_overlap(att, rep = 1)
  ov2 <- diagnose_overlap(att, rep = 2)
  expect_false(identical(ov1$table$auc, ov2$table$auc))
})

test_that("diagnose() combines the three diagnostics", {
  dx <- diagnose(bin_fit)
  expect_s3_class(dx, "fastdml_diagnosis")
  expect_identical(names(dx$summary), c("diagnostic", "comparison", "flag", "pass",
                                        "worst_metric", "worst_value"))
  expect_identical(dx$summary$diagnostic, c("overlap", "balance", "balance", "scores"))
  expect_identical(dx$overall_flag, ref_worst(c(dx$overlap$overall_flag, dx$balance$overall_flag,
                                                dx$scores$overall_flag)))
  expect_identical(dx$pass, dx$overlap$pass && dx$balance$pass && dx$scores$pass)
  expect_equal(dx$overlap$table, diagnose_overlap(bin_fit)$table)
})

test_that("bad arguments give classed errors naming the argument", {
  plr <- suppressWarnings(dml_plr(causal_data(sim_lesson(300, seed = 1), "outcome", "treatment",
                                              c("age", "browsing_time", "income")),
                                  lrn_linear(), lrn_linear(), seed = 1))
  for (f in list(diagnose_overlap, diagnose_balance, diagnose_scores, diagnose)) {
    expect_error(f(plr), class = "fastdml_error_argument", regexp = "binary or multi-arm IRM fit")
    expect_error(f(list(a = 1)), class = "fastdml_error_argument", regexp = "fit")
    expect_error(f(bin_fit, rep = 2), class = "fastdml_error_argument", regexp = "rep")
    expect_error(f(bin_fit, rep = 0), class = "fastdml_error_argument", regexp = "rep")
    expect_error(f(bin_fit, rep = "1"), class = "fastdml_error_argument", regexp = "rep")
  }
  for (bad in list(-0.1, 0, NA_real_, "0.1", c(0.1, 0.2), Inf)) {
    expect_error(diagnose_balance(bin_fit, threshold = bad), class = "fastdml_error_argument",
                 regexp = "threshold")
  }
  expect_error(balance_table(bin_fit), class = "fastdml_error_argument", regexp = "spec")
  cont <- causal_data(make_test_data(100, binary_d = FALSE), "y", "d", c("x1", "x2"))
  expect_error(balance_table(cont), class = "fastdml_error_treatment")
})

# ---------------------------------------------------------------------------
# (d) print and plots
# ---------------------------------------------------------------------------

test_that("print methods and autoplot run", {
  ov <- overlap_metrics(des$d, des$M_raw, des$M_trim, des$trim, des$arms)
  bal <- balance_metrics(des$d, des$M_trim, des$X, 0.1, des$arms)
  sc <- score_metrics(ref_ate_if(des), des$d, des$y, des$G, des$M_trim, des$X, des$arms)
  expect_output(print(ov), "fastdml overlap")
  expect_output(print(bal), "Largest weighted SMDs")
  expect_output(print(sc), "fastdml scores")
  dx <- diagnose(bin_fit)
  expect_output(print(dx), "Overall")
  expect_output(print(diagnose_overlap(bin_fit)), "GREEN|YELLOW|RED")
  p <- ggplot2::autoplot(ov)
  expect_s3_class(p, "ggplot")
  expect_silent(ggplot2::ggplot_build(p))
  p <- ggplot2::autoplot(bal)
  expect_s3_class(p, "ggplot")
  expect_silent(ggplot2::ggplot_build(p))
  expect_s3_class(ggplot2::autoplot(diagnose_balance(bin_fit)), "ggplot")
  expect_s3_class(ggplot2::autoplot(dx$overlap), "ggplot")
})

# ---------------------------------------------------------------------------
# multi-arm fits, once dml_multi_irm() and trim_arm_propensities() exist
# ---------------------------------------------------------------------------

test_that("the wrappers read a multi-arm fit through the accessors", {
  skip_if_not(exists("trim_arm_propensities", mode = "function"),
              "trim_arm_propensities() is not written yet")
  IF <- ref_ate_if(des)
  n <- length(des$d)
  nu <- list(folds = matrix(1L, n, 1))
  for (a in seq_along(des$arms)) {
    nu[[paste0("m_", des$arms[a])]] <- matrix(des$M_raw[, a])
    nu[[paste0("g_", des$arms[a])]] <- matrix(des$G[, a])
  }
  fit <- structure(list(
    coefficients = stats::setNames(c(0, 0), colnames(IF)), psi_a = matrix(-1, n, 2),
    psi_b = IF, theta_rep = c(0, 0), nuisances = nu, n = n, n_rep = 1L, trim = des$trim,
    normalize = FALSE, estimand = "ATE", model = "multi-arm IRM",
    spec = list(X = des$X, y = des$y, d = as.numeric(des$d), weights = NULL,
                treatment = "arm", treatment_levels = des$arms)),
    class = c("dml_multi_irm", "fastdml_fit"))
  expect_equal(arm_propensities(fit, trimmed = TRUE), des$M_trim, tolerance = 1e-12,
               ignore_attr = TRUE)
  expect_equal(diagnose_overlap(fit)$table,
               overlap_metrics(des$d, des$M_raw, des$M_trim, des$trim, des$arms)$table,
               tolerance = 1e-12)
  expect_equal(diagnose_balance(fit)$table,
               balance_metrics(des$d, des$M_trim, des$X, 0.1, des$arms)$table, tolerance = 1e-12)
  expect_equal(diagnose_scores(fit)$table$kurtosis,
               score_metrics(IF, des$d, des$y, des$G, des$M_trim, des$X, des$arms)$table$kurtosis,
               tolerance = 1e-12)
  expect_s3_class(diagnose(fit), "fastdml_diagnosis")
})
