# Health of the orthogonal scores (influence functions) per contrast: tails, the most
# influential rows and an orthogonality check, after Causalis' score diagnostics
# (causalis/scenarios/multi_unconfoundedness/refutation/score/score_validation.py).

#' Score (influence-function) diagnostics of an IRM fit
#'
#' Checks, for each contrast of a binary ([dml_irm()]) or multi-arm ([dml_multi_irm()]) fit,
#' whether the estimate rests on a few rows and whether the scores are orthogonal to the
#' nuisances, from the influence functions IF (`psi / -mean(psi_a)`, so that
#' theta_hat - theta ~ mean(IF)) and nuisances of repetition `rep`.
#'
#' **Tails** (with |IF| the absolute influence, n rows):
#' * `se`: sd(IF) / sqrt(n), the plug-in standard error (not cluster-robust).
#' * `kurtosis`: mean((IF - mean(IF))^4) / var(IF)^2 (var with n - 1; 3 for Gaussian
#'   scores): GREEN below 10, YELLOW below 30, RED otherwise.
#' * `p99_over_median`: the 0.99 quantile of |IF| (type 7) over its median (about 3.8 for
#'   Gaussian scores): GREEN below 10, YELLOW below 20, RED otherwise.
#' * `top1_share`: the share of sum |IF| due to the ceiling(n / 100) rows with the largest
#'   |IF| (about 0.036 for Gaussian scores): GREEN below 0.10, YELLOW below 0.20, RED
#'   otherwise.
#' * `max_abs_over_sd`: max |IF| / sd(IF), reported without a flag (for Gaussian scores it
#'   grows like sqrt(2 log n), about 4.8 at n = 1e5).
#'
#' **Top contributions** (`top`): the five rows with the largest |IF| per contrast, with their
#' arm, trimmed propensity of their own arm and outcome residual y - g of their own arm.
#'
#' **Orthogonality**: the empirical derivatives of the mean score in the directions of each
#' nuisance, multiplied by basis functions b(X) (the constant and every covariate standardised
#' to mean 0 and variance 1), each with its t-statistic mean / (sd / sqrt(n)). With trimmed
#' propensities m, h_a = D_a / m_a (divided by mean(w h_a) when the fit used
#' `normalize = TRUE`), residuals u_a = y - g_a and observation weights w (mean one), for the
#' ATE of arm k vs control 0 the directions are
#' `g_arm`: w (1 - h_k) b; `g_control`: w (h_0 - 1) b; `m_arm`: -w h_k u_k / m_k b;
#' `m_control`: w h_0 u_0 / m_0 b. For the ATT (p_k = mean(w D_k), no Hajek normalisation):
#' `g_control`: w (m_k D_0 / m_0 - D_k) / p_k b; `m_arm`: -w D_0 u_0 / (p_k m_0) b;
#' `m_control`: w m_k D_0 u_0 / (p_k m_0^2) b. Each has expectation zero when the other
#' nuisance is correct, so a large |t| points at a miscalibrated model (the g directions test
#' the propensity model, the m directions the outcome model). The flag grades the largest |t|
#' over the J = directions x basis functions t-statistics of a contrast against Bonferroni
#' critical values: GREEN below max(2, z(1 - 0.025 / J)), YELLOW below
#' max(4, z(1 - 0.0005 / J)), RED otherwise (z the normal quantile; Causalis uses 2 and 4 without the multiplicity
#' correction, which flags most fits with many covariates by chance).
#'
#' A contrast's `overall_flag` is the worst of its four flags and it passes when that is
#' GREEN; the diagnostic's flag is the worst over contrasts.
#'
#' @param fit A fit from [dml_irm()] or [dml_multi_irm()].
#' @param rep Repetition of the cross-fitting whose scores and nuisances are used (default 1).
#' @return An object of class `fastdml_scores`, a list with
#'   * `table`: a data.table with one row per contrast: `comparison` (arm label), `term` (the
#'     fit's term), `n`, `se`, `kurtosis`, `p99_over_median`, `top1_share`,
#'     `max_abs_over_sd`, `max_abs_t`, `t_warn`, `t_strong` (the orthogonality thresholds),
#'     `flag_kurtosis`, `flag_tail`, `flag_top1`, `flag_orthogonality`, `overall_flag`, `pass`;
#'   * `summary`: long form (`comparison`, `metric`, `value`, `flag`) of the graded metrics;
#'   * `orthogonality`: a data.table (`comparison`, `direction`, `basis`, `derivative`,
#'     `std.error`, `statistic`), basis `"(intercept)"` or a covariate name;
#'   * `top`: a data.table (`comparison`, `rank`, `row`, `arm`, `influence`, `share` of
#'     sum |IF|, `propensity`, `residual`);
#'   * `overall_flag`, `pass`, `estimand`, `rep`, `arms`.
#' @family diagnostics
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")),
#'                learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' sc <- diagnose_scores(fit)
#' sc
#' sc$orthogonality[sc$orthogonality$basis == "(intercept)"]
#' @export
diagnose_scores <- function(fit, rep = 1L) {
  check_irm_fit(fit, "diagnose_scores")
  rep <- check_rep(rep, fit)
  spec <- fit$spec
  out <- score_metrics(influence_functions(fit, rep), fit_arm_index(fit), spec$y,
                       arm_outcomes(fit, rep), arm_propensities(fit, rep, trimmed = TRUE),
                       spec$X, fit_arms(fit), spec$weights, isTRUE(fit$normalize),
                       fit_estimand(fit))
  out$rep <- rep
  out
}

score_thresholds <- list(kurtosis = c(warn = 10, strong = 30), tail = c(10, 20),
                         top1 = c(0.10, 0.20), t_level = c(0.05, 0.001), t_floor = c(2, 4))

# Orthogonality thresholds for J t-statistics (Bonferroni, floored at 2 and 4).
t_thresholds <- function(J) {
  th <- score_thresholds
  c(warn = max(th$t_floor[1], stats::qnorm(1 - th$t_level[1] / (2 * J))),
    strong = max(th$t_floor[2], stats::qnorm(1 - th$t_level[2] / (2 * J))))
}

# The score diagnostic from the n x (K - 1) influence functions (columns = terms), the arm
# index, outcome, n x K outcome regressions and trimmed propensities (control first), the
# covariates, arm labels, observation weights, Hajek normalisation and estimand.
score_metrics <- function(IF, d, y, G, M_trim, X, arms, weights = NULL, normalize = FALSE,
                          estimand = "ATE", n_top = 5L) {
  K <- length(arms)
  n <- length(d)
  terms <- colnames(IF)
  if (is.null(terms)) terms <- arms[-1L]
  tails <- data.table::rbindlist(lapply(seq_len(K - 1L), function(k) if_tails(IF[, k])))
  top <- data.table::rbindlist(lapply(seq_len(K - 1L), function(k) {
    psi <- IF[, k]
    a <- abs(psi)
    rows <- utils::head(order(a, decreasing = TRUE), n_top)
    own <- cbind(rows, d[rows] + 1L)
    data.table::data.table(comparison = arms[k + 1L], rank = seq_along(rows), row = rows,
                           arm = arms[d[rows] + 1L], influence = psi[rows],
                           share = a[rows] / sum(a), propensity = M_trim[own],
                           residual = y[rows] - G[own])
  }))
  ortho <- orthogonality_derivatives(d, y, G, M_trim, X, arms, weights, normalize, estimand)
  table <- cbind(data.table::data.table(comparison = arms[-1L], term = terms, n = n), tails)
  max_t <- vapply(arms[-1L], function(cmp) {
    t <- ortho$statistic[ortho$comparison == cmp]
    if (all(is.na(t))) NA_real_ else max(abs(t), na.rm = TRUE)
  }, numeric(1))
  n_t <- vapply(arms[-1L], function(cmp) sum(ortho$comparison == cmp), numeric(1))
  th_t <- vapply(n_t, t_thresholds, numeric(2))
  table$max_abs_t <- unname(max_t)
  table$t_warn <- unname(th_t["warn", ])
  table$t_strong <- unname(th_t["strong", ])
  table <- grade_scores(table)
  metrics <- c("kurtosis", "p99_over_median", "top1_share", "max_abs_t")
  flags <- c("flag_kurtosis", "flag_tail", "flag_top1", "flag_orthogonality")
  summary <- data.table::rbindlist(lapply(seq_len(nrow(table)), function(i) {
    data.table::data.table(comparison = table$comparison[i], metric = metrics,
                           value = vapply(metrics, function(m) table[[m]][i], numeric(1)),
                           flag = vapply(flags, function(f) table[[f]][i], character(1)))
  }))
  structure(list(table = table, summary = summary, orthogonality = ortho, top = top,
                 overall_flag = overall_of(table$overall_flag), pass = all(table$pass),
                 estimand = estimand, arms = arms),
            class = "fastdml_scores")
}

# Adds the flag columns, overall_flag and pass to the per-contrast table (which holds
# kurtosis, p99_over_median, top1_share, max_abs_t, t_warn and t_strong).
grade_scores <- function(table) {
  th <- score_thresholds
  table$flag_kurtosis <- grade_below(table$kurtosis, th$kurtosis[1], th$kurtosis[2])
  table$flag_tail <- grade_below(table$p99_over_median, th$tail[1], th$tail[2])
  table$flag_top1 <- grade_below(table$top1_share, th$top1[1], th$top1[2])
  table$flag_orthogonality <- vapply(seq_len(nrow(table)), function(i) {
    grade_below(table$max_abs_t[i], table$t_warn[i], table$t_strong[i])
  }, character(1))
  table$overall_flag <- worst_flag(table$flag_kurtosis, table$flag_tail, table$flag_top1,
                                   table$flag_orthogonality)
  table$pass <- !is.na(table$overall_flag) & table$overall_flag == "GREEN"
  table
}

# Tail statistics of one influence function.
if_tails <- function(psi) {
  n <- length(psi)
  s <- stats::sd(psi)
  a <- abs(psi)
  m <- ceiling(n / 100)
  top <- sort(a, partial = n - m + 1L)[(n - m + 1L):n]
  data.table::data.table(
    se = s / sqrt(n),
    kurtosis = mean((psi - mean(psi))^4) / s^4,
    p99_over_median = stats::quantile(a, 0.99, names = FALSE, type = 7) / stats::median(a),
    top1_share = sum(top) / sum(a),
    max_abs_over_sd = max(a) / s)
}

# Empirical derivatives of the mean score per contrast, direction and basis function, with
# standard errors sd / sqrt(n) and t-statistics (see diagnose_scores()). The basis is the
# constant and the covariates standardised by their mean and population sd (constant
# covariates are left out).
orthogonality_derivatives <- function(d, y, G, M_trim, X, arms, weights = NULL,
                                      normalize = FALSE, estimand = "ATE") {
  n <- length(d)
  K <- length(arms)
  w <- if (is.null(weights)) rep(1, n) else as.numeric(weights) / mean(weights)
  D <- vapply(seq_len(K) - 1L, function(a) as.numeric(d == a), numeric(n))
  D <- matrix(D, nrow = n)
  U <- y - G
  H <- D / M_trim
  if (normalize && estimand == "ATE") H <- sweep(H, 2L, colMeans(w * H), "/")
  A <- list()
  comparison <- direction <- character()
  for (k in seq_len(K - 1L)) {
    dir <- if (estimand == "ATE") {
      list(g_arm = w * (1 - H[, k + 1L]), g_control = w * (H[, 1L] - 1),
           m_arm = -w * H[, k + 1L] * U[, k + 1L] / M_trim[, k + 1L],
           m_control = w * H[, 1L] * U[, 1L] / M_trim[, 1L])
    } else {
      p <- mean(w * D[, k + 1L])
      list(g_control = w * (M_trim[, k + 1L] * H[, 1L] - D[, k + 1L]) / p,
           m_arm = -w * H[, 1L] * U[, 1L] / p,
           m_control = w * M_trim[, k + 1L] * H[, 1L] * U[, 1L] / (p * M_trim[, 1L]))
    }
    comparison <- c(comparison, rep(arms[k + 1L], length(dir)))
    direction <- c(direction, names(dir))
    A <- c(A, unname(dir))
  }
  A <- matrix(unlist(A), nrow = n)
  Z <- matrix(0, n, ncol(X))
  keep <- logical(ncol(X))
  for (j in seq_len(ncol(X))) {  # column by column: no n x p temporaries
    xc <- X[, j] - mean(X[, j])
    s <- sqrt(sum(xc * xc) / n)
    keep[j] <- s > 0
    if (keep[j]) Z[, j] <- xc / s
  }
  Z <- Z[, keep, drop = FALSE]
  basis <- c("(intercept)", colnames(X)[keep])
  if (is.null(colnames(X))) basis <- c("(intercept)", paste0("x", which(keep)))
  first <- rbind(colMeans(A), crossprod(Z, A) / n)
  Z <- Z * Z
  A <- A * A
  second <- rbind(colMeans(A), crossprod(Z, A) / n)
  se <- sqrt(pmax(second - first^2, 0) * n / (n - 1)) / sqrt(n)
  J <- ncol(A)
  data.table::data.table(
    comparison = rep(comparison, each = length(basis)),
    direction = rep(direction, each = length(basis)),
    basis = rep(basis, times = J),
    derivative = as.vector(first), std.error = as.vector(se),
    statistic = as.vector(first) / pmax(as.vector(se), 1e-12))
}

#' @export
print.fastdml_scores <- function(x, digits = 3, ...) {
  check_digits(digits)
  cat(sprintf("<fastdml scores> %s influence functions; overall %s (%s)\n", x$estimand,
              x$overall_flag, if (x$pass) "pass" else "fail"))
  tab <- x$table
  print(data.frame(comparison = tab$comparison, se = signif(tab$se, digits),
                   kurtosis = value_flag(tab$kurtosis, tab$flag_kurtosis, digits),
                   p99_over_median = value_flag(tab$p99_over_median, tab$flag_tail, digits),
                   top1_share = value_flag(tab$top1_share, tab$flag_top1, digits),
                   max_abs_t = value_flag(tab$max_abs_t, tab$flag_orthogonality, digits),
                   overall = tab$overall_flag, stringsAsFactors = FALSE),
        row.names = FALSE, right = FALSE)
  top <- x$top[x$top$rank == 1L]
  cat("Largest contribution per contrast:\n")
  print(data.frame(comparison = top$comparison, row = top$row, arm = top$arm,
                   influence = signif(top$influence, digits), share = signif(top$share, digits),
                   propensity = signif(top$propensity, digits), stringsAsFactors = FALSE),
        row.names = FALSE, right = FALSE)
  invisible(x)
}
