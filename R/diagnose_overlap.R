# Overlap (positivity) diagnostics per contrast, specs/cx-multitreatment.md §3.

#' Overlap diagnostics of an IRM fit
#'
#' Checks positivity for each contrast "arm k vs control" of a binary ([dml_irm()]) or
#' multi-arm ([dml_multi_irm()]) fit, from the cross-fitted propensities of repetition `rep`.
#' Only the units of the pair (D = 0 or D = k) enter a contrast. With the raw (untrimmed)
#' propensities m_0 (control) and m_k, the pair score is s = m_k / (m_k + m_0) (the propensity
#' m itself for a binary fit), clipped to \[1e-12, 1 - 1e-12\]:
#'
#' * `edge_0.01_below`, `edge_0.01_above`: shares of pair units with s < 0.01 and s > 0.99;
#'   one flag for both: RED if either exceeds 0.05, YELLOW if either exceeds 0.02, else GREEN.
#' * `ks`: two-sample Kolmogorov-Smirnov distance of s between arm k and the controls
#'   (as [stats::ks.test()]): GREEN below 0.30, YELLOW below 0.40, RED otherwise.
#' * `auc`: Mann-Whitney AUC of s for arm k against the controls (tied ranks averaged),
#'   graded on max(auc, 1 - auc): GREEN below 0.80, YELLOW below 0.90, RED otherwise; a
#'   GREEN result with auc < 0.45 becomes YELLOW.
#' * `ess_ratio_treated`, `ess_ratio_baseline`: effective sample size (sum w)^2 / sum w^2 of
#'   the weights w = 1/m_k on the arm-k units (w = 1/m_0 on the controls; raw m, clipped at
#'   1e-12), divided by the number of those units: GREEN at 0.30 or more, YELLOW at 0.15 or
#'   more, RED below. Because the raw propensities are not floored, a handful of units whose
#'   propensity for their own arm is tiny can set these ratios, and they then vary from one
#'   fold seed to the next (on the CX case study the treated ratio of one contrast ranged from
#'   0.05 to 0.24 over ten fold seeds, see `inst/benchmarks/study_cx_flags.R`).
#'   `ess_ratio_treated_trimmed` and `ess_ratio_baseline_trimmed` (not graded) are the same
#'   ratios for the weights the scores use, 1/m with the trimmed propensities; they are far
#'   more stable and say how many units the estimate effectively rests on.
#' * `clip_m_total`: share of pair units whose trimmed m_k or m_0 (as used in the scores) lies
#'   at a trimming bound (<= trim or >= 1 - trim, up to 1e-12): GREEN below 0.02, YELLOW
#'   below 0.05, RED otherwise. `clip_m_treated` and `clip_m_baseline` give the shares for
#'   m_k and m_0 alone (not graded).
#'
#' A contrast's `overall_flag` is the worst of its six flags and it passes only when that is
#' GREEN; the whole diagnostic's flag is the worst over contrasts and it passes only when every
#' contrast passes. The baseline ESS ratio is the same for every contrast. Observation weights
#' are not used: overlap is a property of the units, not of the weighted population. The
#' thresholds are calibrated for the ATE; for an ATT fit the diagnostics are the same.
#'
#' @param fit A fit from [dml_irm()] or [dml_multi_irm()].
#' @param rep Repetition of the cross-fitting whose propensities are used (default 1).
#' @return An object of class `fastdml_overlap`, a list with
#'   * `table`: a data.table with one row per contrast: `comparison` (the arm label),
#'     `n_pair`, `n_treated` (arm-k units), `n_baseline` (controls), `edge_0.01_below`,
#'     `edge_0.01_above`, `flag_edge`, `ks`, `flag_ks`, `auc`, `flag_auc`,
#'     `ess_ratio_treated`, `flag_ess_treated`, `ess_ratio_baseline`, `flag_ess_baseline`,
#'     `ess_ratio_treated_trimmed`, `ess_ratio_baseline_trimmed`, `clip_m_treated` and
#'     `clip_m_baseline` (shares of pair units whose trimmed m_k, resp. m_0, is at a bound),
#'     `clip_m_total`, `flag_clip_m`, `overall_flag` and `pass`;
#'   * `summary`: the same in long form, columns `comparison`, `metric`, `value`, `flag`, with
#'     the metrics `edge_0.01_below`, `edge_0.01_above`, `ks`, `auc`, `ess_ratio_treated`,
#'     `ess_ratio_baseline`, `clip_m_total` and `overlap_pass` (value 1 = pass, 0 = fail;
#'     flag = the contrast's overall flag);
#'   * `scores`: a data.table (`comparison`, `arm`, `score`) of the pair scores of every pair
#'     unit, drawn by `autoplot()` (see [autoplot-diagnostics]);
#'   * `overall_flag` (`"GREEN"`, `"YELLOW"` or `"RED"`), `pass`, `trim`, `rep`, `arms`.
#' @family diagnostics
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")),
#'                learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' ov <- diagnose_overlap(fit)
#' ov
#' ov$summary
#' ggplot2::autoplot(ov)
#' @export
diagnose_overlap <- function(fit, rep = 1L) {
  check_irm_fit(fit, "diagnose_overlap")
  rep <- check_rep(rep, fit)
  out <- overlap_metrics(fit_arm_index(fit), arm_propensities(fit, rep, trimmed = FALSE),
                         arm_propensities(fit, rep, trimmed = TRUE), fit$trim, fit_arms(fit))
  out$rep <- rep
  out
}

# The overlap diagnostic from the arm index d (0..K-1), the raw and trimmed n x K propensity
# matrices (control first), the trimming threshold and the arm labels.
overlap_metrics <- function(d, M_raw, M_trim, trim, arms) {
  K <- length(arms)
  per <- lapply(seq_len(K - 1L), function(k) {
    overlap_contrast(d, k, M_raw[, 1L], M_raw[, k + 1L], M_trim[, 1L], M_trim[, k + 1L], trim)
  })
  table <- data.table::rbindlist(lapply(per, `[[`, "row"))
  table <- cbind(data.table::data.table(comparison = arms[-1L]), table)
  table <- grade_overlap(table)
  metrics <- c("edge_0.01_below", "edge_0.01_above", "ks", "auc", "ess_ratio_treated",
               "ess_ratio_baseline", "clip_m_total")
  flags <- c("flag_edge", "flag_edge", "flag_ks", "flag_auc", "flag_ess_treated",
             "flag_ess_baseline", "flag_clip_m")
  summary <- data.table::rbindlist(lapply(seq_len(nrow(table)), function(i) {
    data.table::data.table(
      comparison = table$comparison[i], metric = c(metrics, "overlap_pass"),
      value = c(vapply(metrics, function(m) table[[m]][i], numeric(1)), as.numeric(table$pass[i])),
      flag = c(vapply(flags, function(f) table[[f]][i], character(1)), table$overall_flag[i]))
  }))
  scores <- data.table::rbindlist(lapply(seq_len(K - 1L), function(k) {
    s <- per[[k]]$score
    data.table::data.table(comparison = arms[k + 1L], arm = arms[ifelse(s$treated, k + 1L, 1L)],
                           score = s$value)
  }))
  scores$comparison <- factor(scores$comparison, levels = arms[-1L])
  scores$arm <- factor(scores$arm, levels = arms)
  structure(list(table = table, summary = summary, scores = scores,
                 overall_flag = overall_of(table$overall_flag), pass = all(table$pass),
                 trim = trim, arms = arms),
            class = "fastdml_overlap")
}

# Metrics of contrast k from the control and arm-k columns of the raw and trimmed propensities.
overlap_contrast <- function(d, k, m0, mk, m0_trim, mk_trim, trim) {
  pair <- which(d == 0 | d == k)
  treated <- d[pair] == k
  if (!any(treated) || all(treated)) {
    fd_abort("argument", "Contrast {k} has no units in one of its two arms; overlap cannot be assessed.")
  }
  eps <- 1e-12
  den <- mk[pair] + m0[pair]
  s <- mk[pair] / ifelse(den > eps, den, 1)
  s <- pmin(pmax(s, eps), 1 - eps)
  sep <- pair_separation(s[treated], s[!treated])
  inverse_ess <- function(m) ess_ratio(1 / pmin(pmax(m, eps), 1 - eps))
  at_bound <- function(m) m <= trim + eps | m >= 1 - trim - eps
  clip_t <- at_bound(mk_trim[pair])
  clip_b <- at_bound(m0_trim[pair])
  row <- data.table::data.table(
    n_pair = length(pair), n_treated = sum(treated), n_baseline = sum(!treated),
    `edge_0.01_below` = mean(s < 0.01), `edge_0.01_above` = mean(s > 0.99),
    ks = sep$ks, auc = sep$auc,
    ess_ratio_treated = inverse_ess(mk[pair][treated]),
    ess_ratio_baseline = inverse_ess(m0[pair][!treated]),
    ess_ratio_treated_trimmed = inverse_ess(mk_trim[pair][treated]),
    ess_ratio_baseline_trimmed = inverse_ess(m0_trim[pair][!treated]),
    clip_m_treated = mean(clip_t), clip_m_baseline = mean(clip_b),
    clip_m_total = mean(clip_t | clip_b))
  list(row = row, score = list(value = s, treated = treated))
}

# Two-sample KS distance (as stats::ks.test(x, y)$statistic, same operations) and the
# Mann-Whitney AUC P(x > y) + P(x = y) / 2 of x against y, from one sort of c(x, y) with
# average ranks for ties.
pair_separation <- function(x, y) {
  n1 <- length(x)
  n0 <- length(y)
  w <- c(x, y)
  N <- n1 + n0
  o <- order(w)
  ws <- w[o]
  first_x <- o <= n1
  z <- cumsum(ifelse(first_x, 1 / as.double(n1), -1 / n0))
  last <- c(ws[-1L] != ws[-N], TRUE)  # last element of each run of ties
  ks <- max(abs(z[last]))
  ends <- which(last)
  starts <- c(1L, ends[-length(ends)] + 1L)
  group <- cumsum(c(TRUE, last[-N]))
  rank_sorted <- ((starts + ends) / 2)[group]
  auc <- (sum(rank_sorted[first_x]) - n1 * (n1 + 1) / 2) / (as.double(n1) * n0)
  list(ks = ks, auc = auc)
}

overlap_thresholds <- list(edge = c(warn = 0.02, strong = 0.05), ks = c(0.30, 0.40),
                           auc = c(0.80, 0.90), auc_flip = 0.45, ess = c(0.30, 0.15),
                           clip = c(0.02, 0.05))

# Adds the flag columns, overall_flag and pass to the wide table.
grade_overlap <- function(table) {
  th <- overlap_thresholds
  edge_max <- pmax(table[["edge_0.01_below"]], table[["edge_0.01_above"]])
  flag_edge <- ifelse(edge_max > th$edge[2], "RED", ifelse(edge_max > th$edge[1], "YELLOW", "GREEN"))
  flag_edge[is.na(edge_max)] <- NA_character_
  flag_auc <- grade_below(pmax(table$auc, 1 - table$auc), th$auc[1], th$auc[2])
  flag_auc[!is.na(flag_auc) & flag_auc == "GREEN" & table$auc < th$auc_flip] <- "YELLOW"
  data.table::set(table, j = "flag_edge", value = as.character(flag_edge))
  data.table::set(table, j = "flag_ks", value = grade_below(table$ks, th$ks[1], th$ks[2]))
  data.table::set(table, j = "flag_auc", value = flag_auc)
  data.table::set(table, j = "flag_ess_treated",
                  value = grade_above(table$ess_ratio_treated, th$ess[1], th$ess[2]))
  data.table::set(table, j = "flag_ess_baseline",
                  value = grade_above(table$ess_ratio_baseline, th$ess[1], th$ess[2]))
  data.table::set(table, j = "flag_clip_m", value = grade_below(table$clip_m_total, th$clip[1], th$clip[2]))
  overall <- worst_flag(table$flag_edge, table$flag_ks, table$flag_auc, table$flag_ess_treated,
                        table$flag_ess_baseline, table$flag_clip_m)
  data.table::set(table, j = "overall_flag", value = overall)
  data.table::set(table, j = "pass", value = !is.na(overall) & overall == "GREEN")
  data.table::setcolorder(table, c(
    "comparison", "n_pair", "n_treated", "n_baseline", "edge_0.01_below", "edge_0.01_above",
    "flag_edge", "ks", "flag_ks", "auc", "flag_auc", "ess_ratio_treated", "flag_ess_treated",
    "ess_ratio_baseline", "flag_ess_baseline", "ess_ratio_treated_trimmed",
    "ess_ratio_baseline_trimmed", "clip_m_treated", "clip_m_baseline", "clip_m_total",
    "flag_clip_m", "overall_flag", "pass"))
  table[]
}

#' @export
print.fastdml_overlap <- function(x, digits = 3, ...) {
  check_digits(digits)
  cat(sprintf("<fastdml overlap> %d contrast%s vs %s; trim %g; overall %s (%s)\n",
              nrow(x$table), if (nrow(x$table) > 1L) "s" else "", x$arms[1L], x$trim,
              x$overall_flag, if (x$pass) "pass" else "fail"))
  tab <- x$table
  shown <- data.frame(
    comparison = tab$comparison,
    `edge<.01` = value_flag(tab[["edge_0.01_below"]], tab$flag_edge, digits),
    `edge>.99` = value_flag(tab[["edge_0.01_above"]], tab$flag_edge, digits),
    ks = value_flag(tab$ks, tab$flag_ks, digits),
    auc = value_flag(tab$auc, tab$flag_auc, digits),
    ess_arm = value_flag(tab$ess_ratio_treated, tab$flag_ess_treated, digits),
    ess_ctrl = value_flag(tab$ess_ratio_baseline, tab$flag_ess_baseline, digits),
    clip = value_flag(tab$clip_m_total, tab$flag_clip_m, digits),
    overall = tab$overall_flag, stringsAsFactors = FALSE, check.names = FALSE)
  print(shown, row.names = FALSE, right = FALSE)
  invisible(x)
}

# "0.123 G" style cells: the value and the flag's initial.
value_flag <- function(value, flag, digits) {
  paste(formatC(value, digits = digits, format = "fg"),
        ifelse(is.na(flag), "-", substring(flag, 1L, 1L)))
}

#' Propensity buckets: how many units of each arm sit where
#'
#' Counts the units of each contrast's pair (arm k and the controls) by bucket of the pair
#' score of [diagnose_overlap()] (the cross-fitted propensity for a binary fit): rows, treated
#' and control units, and the treated share per bucket. Buckets near 0 or 1 that hold units of
#' one arm only are where effects are extrapolated.
#'
#' @inheritParams diagnose_overlap
#' @param breaks Bucket limits in \[0, 1\], increasing (default 0, 0.1, 0.25, 0.5, 0.75, 0.9, 1).
#' @return A data.frame with `comparison`, `bucket`, `n`, `share` (of the pair units),
#'   `n_treated`, `n_control` and `treated_share`.
#' @family diagnostics
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")),
#'                learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' overlap_buckets(fit)
#' @export
overlap_buckets <- function(fit, breaks = c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1), rep = 1L) {
  if (!is.numeric(breaks) || length(breaks) < 2L || anyNA(breaks) || any(diff(breaks) <= 0) ||
      breaks[1L] > 0 || breaks[length(breaks)] < 1) {
    fd_abort("argument", c("{.arg breaks} must increase from 0 (or below) to 1 (or above).",
                           i = "For example {.code c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)}."))
  }
  scores <- diagnose_overlap(fit, rep)$scores
  control <- fit_arms(fit)[1L]
  do.call(rbind, lapply(levels(scores$comparison), function(k) {
    s <- scores[scores$comparison == k, ]
    bucket <- cut(s$score, breaks, include.lowest = TRUE)
    treated <- s$arm != control
    n <- as.vector(table(bucket))
    n_treated <- as.vector(table(bucket[treated]))
    data.frame(comparison = k, bucket = levels(bucket), n = n, share = n / nrow(s),
               n_treated = n_treated, n_control = n - n_treated,
               treated_share = ifelse(n > 0, n_treated / n, NA_real_))
  }))
}
