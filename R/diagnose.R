# Design diagnostics of binary (dml_irm) and multi-arm (dml_multi_irm) fits: the combined
# report diagnose() and the helpers shared by diagnose_overlap(), diagnose_balance() and
# diagnose_scores() (traffic-light grading, argument checks). The statistics and thresholds
# are those of specs/cx-multitreatment.md §3-§4; the score diagnostics are documented in
# diagnose_scores.R.

flag_levels <- c("GREEN", "YELLOW", "RED")

# Lower is better: GREEN below `warn`, YELLOW below `strong`, RED otherwise (Inf is RED);
# NA/NaN values give NA.
grade_below <- function(value, warn, strong) {
  out <- ifelse(value < warn, "GREEN", ifelse(value < strong, "YELLOW", "RED"))
  out[is.na(value)] <- NA_character_
  as.character(out)
}

# Larger is better: GREEN at or above `warn`, YELLOW at or above `strong`, RED below.
grade_above <- function(value, warn, strong) {
  out <- ifelse(value >= warn, "GREEN", ifelse(value >= strong, "YELLOW", "RED"))
  out[is.na(value)] <- NA_character_
  as.character(out)
}

# Element-wise worst of several flag vectors of equal length (NA flags are ignored; all NA
# gives NA).
worst_flag <- function(...) {
  flags <- list(...)
  if (length(flags) == 1L && is.list(flags[[1L]])) flags <- flags[[1L]]
  level <- vapply(flags, function(f) match(f, flag_levels), integer(length(flags[[1L]])))
  level <- matrix(level, ncol = length(flags))
  out <- apply(level, 1L, function(l) if (all(is.na(l))) NA_integer_ else max(l, na.rm = TRUE))
  flag_levels[out]
}

# The worst flag of a whole vector.
overall_of <- function(flags) {
  if (!length(flags) || all(is.na(flags))) return(NA_character_)
  flag_levels[max(match(flags, flag_levels), na.rm = TRUE)]
}

# A fit whose design can be diagnosed: dml_irm or dml_multi_irm (`what` names the function).
check_irm_fit <- function(fit, what) {
  if (!inherits(fit, "fastdml_fit")) {
    fd_abort("argument", c("{.arg fit} must be a fit from {.fn dml_irm} or {.fn dml_multi_irm}.",
                           x = "It is a {.cls {class(fit)}}.",
                           i = "Fit the model first, e.g. {.code fit <- dml_irm(spec)}, then call {.fn {what}} on it."))
  }
  if (!inherits(fit, c("dml_irm", "dml_multi_irm"))) {
    fd_abort("argument", c("{.fn {what}} needs a binary or multi-arm IRM fit ({.fn dml_irm} or {.fn dml_multi_irm}).",
                           x = "{.arg fit} is a {.cls {class(fit)[1]}} fit, which has no propensities of treatment arms.",
                           i = "Refit with {.fn dml_irm} (binary treatment) or {.fn dml_multi_irm} (several arms)."))
  }
  invisible(fit)
}

check_rep <- function(rep, fit) {
  n_rep <- fit$n_rep
  ok <- is.numeric(rep) && length(rep) == 1L && !is.na(rep) && rep == round(rep) &&
    rep >= 1 && rep <= n_rep
  if (!ok) {
    fd_abort("argument", c("{.arg rep} must be a repetition number from 1 to {n_rep}, not {.val {format_value(rep)}}.",
                           i = "The fit has {n_rep} repetition{?s} of the cross-fitting; the default {.code rep = 1} is the first."))
  }
  as.integer(rep)
}

check_threshold <- function(threshold) {
  ok <- is.numeric(threshold) && length(threshold) == 1L && !is.na(threshold) &&
    is.finite(threshold) && threshold > 0
  if (!ok) {
    fd_abort("argument", c("{.arg threshold} must be a single positive number, not {.val {format_value(threshold)}}.",
                           i = "It is the largest acceptable standardised mean difference; 0.1 is customary."))
  }
  threshold
}

fit_estimand <- function(fit) if (is.null(fit$estimand)) "ATE" else fit$estimand

#' Diagnose the design of an IRM fit
#'
#' Runs the three design diagnostics of a binary ([dml_irm()]) or multi-arm
#' ([dml_multi_irm()]) fit and combines their traffic-light flags: [diagnose_overlap()]
#' (positivity of the propensities), [diagnose_balance()] (covariate balance after inverse
#' propensity weighting) and [diagnose_scores()] (tails and orthogonality of the influence
#' functions). The printed report fits on one screen: per diagnostic its flag, the worst
#' metrics and what to do about them.
#'
#' @param fit A fit from [dml_irm()] or [dml_multi_irm()].
#' @param threshold Balance threshold on the standardised mean difference, passed to
#'   [diagnose_balance()].
#' @param rep Repetition of the cross-fitting whose nuisances are diagnosed.
#' @return An object of class `fastdml_diagnosis`: a list with `overlap`, `balance`, `scores`
#'   (the three diagnostic objects), `summary` (a data.table with one row per diagnostic and
#'   comparison: `diagnostic`, `comparison`, `flag`, `pass`, `worst_metric`, `worst_value`;
#'   the balance diagnostic adds its pooled `"overall"` row), `overall_flag` (the worst flag,
#'   `"GREEN"`, `"YELLOW"` or `"RED"`) and `pass` (every diagnostic passes).
#' @family diagnostics
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")),
#'                learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' dx <- diagnose(fit)
#' dx
#' dx$summary
#' @export
diagnose <- function(fit, threshold = 0.10, rep = 1L) {
  check_irm_fit(fit, "diagnose")
  rep <- check_rep(rep, fit)
  check_threshold(threshold)
  ov <- diagnose_overlap(fit, rep = rep)
  bal <- diagnose_balance(fit, threshold = threshold, rep = rep)
  sc <- diagnose_scores(fit, rep = rep)
  summary <- data.table::rbindlist(list(
    worst_metrics("overlap", ov$summary[ov$summary$metric != "overlap_pass"], ov$table),
    worst_metrics("balance", balance_flags_long(bal$summary), bal$summary),
    worst_metrics("scores", sc$summary, sc$table)))
  structure(list(overlap = ov, balance = bal, scores = sc, summary = summary,
                 overall_flag = overall_of(c(ov$overall_flag, bal$overall_flag, sc$overall_flag)),
                 pass = isTRUE(ov$pass) && isTRUE(bal$pass) && isTRUE(sc$pass),
                 model = fit_title_short(fit), rep = rep),
            class = "fastdml_diagnosis")
}

# One row per comparison: its overall flag and pass, and the metric with the worst flag (the
# first of the long table's order among ties).
worst_metrics <- function(diagnostic, long, wide) {
  rows <- lapply(seq_len(nrow(wide)), function(i) {
    metrics <- long[which(long$comparison == wide$comparison[i])]
    level <- match(metrics$flag, flag_levels)
    at <- if (all(is.na(level))) 1L else which.max(replace(level, is.na(level), 0L))
    data.table::data.table(diagnostic = diagnostic, comparison = wide$comparison[i],
                           flag = wide$overall_flag[i], pass = wide$pass[i],
                           worst_metric = metrics$metric[at], worst_value = metrics$value[at])
  })
  data.table::rbindlist(rows)
}

fit_title_short <- function(fit) {
  arms <- fit_arms(fit)
  sprintf("%s %s of %s (%s vs %s), n = %d", fit$model, fit_estimand(fit), fit$spec$treatment,
          paste(arms[-1L], collapse = ", "), arms[1L], fit$n)
}

diagnosis_advice <- c(
  overlap = paste("arms are (nearly) separable by the covariates: restrict the sample to the",
                  "common support, drop covariates that decide the arm but not the outcome, or",
                  "target the ATT; more trimming only hides the problem."),
  balance = paste("weighted covariate means still differ between arms: use a more flexible",
                  "propensity learner (interactions, boosting), check overlap, and see",
                  "autoplot(diagnose_balance(fit))."),
  scores = paste("a few rows drive the estimate or a nuisance is miscalibrated: inspect",
                 "$scores$top (extreme 1/m weights), consider normalize = TRUE or a larger trim,",
                 "and improve the model flagged in $scores$orthogonality."))

#' @export
print.fastdml_diagnosis <- function(x, digits = 3, ...) {
  check_digits(digits)
  cat("<fastdml diagnosis> ", x$model, if (x$rep > 1L) sprintf(", repetition %d", x$rep), "\n", sep = "")
  cat(sprintf("Overall: %s (%s)\n", x$overall_flag, if (x$pass) "pass" else "fail"))
  for (what in c("overlap", "balance", "scores")) {
    obj <- x[[what]]
    rows <- x$summary[x$summary$diagnostic == what & x$summary$comparison != "overall"]
    rows <- rows[order(-match(rows$flag, flag_levels, nomatch = 0L))]
    detail <- vapply(seq_len(min(2L, nrow(rows))), function(i) {
      sprintf("%s: %s %s (%s)", abbreviate_label(rows$comparison[i]), rows$worst_metric[i],
              format(signif(rows$worst_value[i], digits)), rows$flag[i])
    }, character(1))
    if (nrow(rows) > 2L) detail <- c(detail, sprintf("+%d more", nrow(rows) - 2L))
    prefix <- sprintf("%-9s%-7s%-6s", paste0(tools_title(what), ":"), obj$overall_flag,
                      if (isTRUE(obj$pass)) "pass" else "fail")
    body <- strwrap(paste("worst:", paste(detail, collapse = "; ")), width = 92 - nchar(prefix))
    cat(paste0(c(prefix, rep(strrep(" ", nchar(prefix)), length(body) - 1L)), body), sep = "\n")
  }
  bad <- c(overlap = x$overlap$overall_flag, balance = x$balance$overall_flag,
           scores = x$scores$overall_flag)
  bad <- bad[!is.na(bad) & bad != "GREEN"]
  if (length(bad)) {
    cat("What to do:\n")
    for (what in names(bad)) {
      cat(strwrap(sprintf("%s (%s): %s", what, bad[[what]], diagnosis_advice[[what]]),
                  width = 92, indent = 2, exdent = 4), sep = "\n")
    }
  } else {
    cat("All design diagnostics are GREEN.\n")
  }
  cat("Details: $overlap, $balance, $scores; autoplot($overlap), autoplot($balance).\n")
  invisible(x)
}

abbreviate_label <- function(x, width = 24L) {
  ifelse(nchar(x) > width, paste0(substring(x, 1L, width - 1L), "\u2026"), x)
}

tools_title <- function(x) paste0(toupper(substring(x, 1L, 1L)), substring(x, 2L))
