# The multi-arm fit: per-contrast inference, the joint covariance of all contrasts and their
# baselines from the influence functions, relative effects, and the methods that differ from
# the single-coefficient fits (print, summary, vcov).

# scores: n x (S (K - 1)) matrices psi_a, psi_b, baseline_psi_a, baseline_psi_b, contrast-major.
new_multi_fit <- function(spec, scores, fitted, setup, info) {
  arms <- spec$treatment_levels
  n_contrasts <- length(arms) - 1L
  n_rep <- ncol(scores$psi_a) %/% n_contrasts
  cluster <- if (is.null(spec$cluster)) NULL else spec$cluster - 1L
  n_clusters <- if (is.null(cluster)) 0L else max(spec$cluster)
  columns <- function(k) (k - 1L) * n_rep + seq_len(n_rep)
  infer <- function(psi_a, psi_b) {
    lapply(seq_len(n_contrasts), function(k) {
      core_call(.fastdml_inference(psi_a[, columns(k), drop = FALSE], psi_b[, columns(k), drop = FALSE],
                                   cluster, n_clusters, setup$cluster_correction, setup$num_threads))
    })
  }
  contrasts <- infer(scores$psi_a, scores$psi_b)
  baselines <- infer(scores$baseline_psi_a, scores$baseline_psi_b)
  terms <- sprintf("%s vs %s", arms[-1L], arms[1L])
  field <- function(parts, name) vapply(parts, `[[`, numeric(1), name)
  rep_matrix <- function(parts, name) {
    matrix(vapply(parts, `[[`, numeric(n_rep), name), n_rep, n_contrasts, dimnames = list(NULL, terms))
  }
  joint <- joint_vcov(scores, rep_matrix(contrasts, "theta_rep"), rep_matrix(baselines, "theta_rep"),
                      c(field(contrasts, "theta"), field(baselines, "theta")), spec, setup)
  dimnames(joint) <- rep(list(c(terms, paste0("baseline: ", terms))), 2L)
  counts <- tabulate(spec$d + 1L, length(arms))
  fit <- c(list(
    coefficients = stats::setNames(field(contrasts, "theta"), terms),
    se = field(contrasts, "se"),
    theta_rep = rep_matrix(contrasts, "theta_rep"),
    se_rep = rep_matrix(contrasts, "se_rep"),
    psi_a = scores$psi_a,
    psi_b = scores$psi_b,
    baseline = data.frame(term = terms, estimate = field(baselines, "theta"),
                          std.error = field(baselines, "se"), stringsAsFactors = FALSE),
    vcov_joint = joint,
    arms = data.frame(arm = arms, n = counts,
                      mean_outcome = as.numeric(rowsum(spec$y, spec$d)) / counts,
                      stringsAsFactors = FALSE)
  ), fit_common_fields(spec, fitted, setup, n_rep), info)
  finish_fit(fit, "dml_multi_irm", fitted)
}

# Joint covariance of (theta_1..theta_{K-1}, mu_1..mu_{K-1}) from the influence functions
# IF = -(psi_a theta_s + psi_b) / mean(psi_a) of each repetition: crossprod(IF) / n^2 (cluster
# sums of IF with clusters, times G / (G - 1) with the correction); repetitions are aggregated
# elementwise as the standard errors are: median_s(V_s + (t_s - t)(t_s - t)' / n).
joint_vcov <- function(scores, theta_rep, baseline_rep, estimate, spec, setup) {
  n <- spec$n
  n_contrasts <- ncol(theta_rep)
  n_rep <- nrow(theta_rep)
  per_rep <- lapply(seq_len(n_rep), function(s) {
    index <- (seq_len(n_contrasts) - 1L) * n_rep + s
    influence <- function(psi_a, psi_b, theta) {
      a <- psi_a[, index, drop = FALSE]
      -(a * rep(theta, each = n) + psi_b[, index, drop = FALSE]) / rep(colMeans(a), each = n)
    }
    IF <- cbind(influence(scores$psi_a, scores$psi_b, theta_rep[s, ]),
                influence(scores$baseline_psi_a, scores$baseline_psi_b, baseline_rep[s, ]))
    if (!is.null(spec$cluster)) {
      IF <- rowsum(IF, spec$cluster, reorder = FALSE)
      if (isTRUE(setup$cluster_correction)) IF <- IF * sqrt(nrow(IF) / (nrow(IF) - 1))
    }
    deviation <- c(theta_rep[s, ], baseline_rep[s, ]) - estimate
    crossprod(IF) / n^2 + tcrossprod(deviation) / n
  })
  if (n_rep == 1L) return(per_rep[[1L]])
  stacked <- simplify2array(per_rep)
  apply(stacked, c(1L, 2L), stats::median)
}

#' Relative effects of a multi-arm fit
#'
#' The effect of each arm relative to its baseline, `100 theta_k / mu` in percent, where mu is
#' the AIPW estimate of the mean outcome under control (E\[Y(0)\] for the ATE; E\[Y(0) | arm
#' k\] for the ATT), with a delta-method standard error from the joint influence functions of
#' theta_k and mu: Var = (100 / mu)^2 Var(theta) + (100 theta / mu^2)^2 Var(mu) -
#' 2 (100 / mu)(100 theta / mu^2) Cov(theta, mu).
#'
#' @param fit A fit from [dml_multi_irm()].
#' @param level Confidence level.
#' @return A data.frame with `term`, `baseline` (mu), `baseline_se`, `estimate` (percent),
#'   `std.error`, `conf.low`, `conf.high`.
#' @family methods
#' @examples
#' d <- sim_cx(n = 3000, seed = 1)
#' spec <- causal_data(d, "y", "arm", c("age", "risk_latent", "prev_apps", "prev_util"),
#'                     control = "control")
#' fit <- dml_multi_irm(spec, learner_outcome = lrn_logistic(),
#'                      learner_treatment = lrn_logistic(), seed = 1)
#' relative_effects(fit)
#' @export
relative_effects <- function(fit, level = 0.95) {
  if (!inherits(fit, "dml_multi_irm")) {
    fd_abort("argument", c("{.fn relative_effects} needs a fit from {.fn dml_multi_irm}.",
                           x = "It got a {.cls {class(fit)}}."))
  }
  check_level(level)
  z <- stats::qnorm(1 - (1 - level) / 2)
  theta <- unname(fit$coefficients)
  k <- length(theta)
  mu <- fit$baseline$estimate
  V <- fit$vcov_joint
  var_theta <- diag(V)[seq_len(k)]
  var_mu <- diag(V)[k + seq_len(k)]
  covariance <- V[cbind(seq_len(k), k + seq_len(k))]
  relative <- 100 * theta / mu
  d_theta <- 100 / mu
  d_mu <- 100 * theta / mu^2
  se <- sqrt(pmax(d_theta^2 * var_theta + d_mu^2 * var_mu - 2 * d_theta * d_mu * covariance, 0))
  data.frame(term = names(fit$coefficients), baseline = mu, baseline_se = fit$baseline$std.error,
             estimate = relative, std.error = unname(se), conf.low = relative - z * unname(se),
             conf.high = relative + z * unname(se), stringsAsFactors = FALSE)
}

#' @export
vcov.dml_multi_irm <- function(object, ...) {
  k <- length(object$coefficients)
  object$vcov_joint[seq_len(k), seq_len(k), drop = FALSE]
}

# The case study's table: estimate, CI, relative effect and CI, p, Bonferroni significance.
multi_estimate_table <- function(x, level = 0.95) {
  tab <- estimate_table(x, level)
  rel <- relative_effects(x, level)
  alpha <- 1 - level
  data.frame(term = tab$term, estimate = tab$estimate, std.error = tab$std.error,
             conf.low = tab$conf.low, conf.high = tab$conf.high, relative = rel$estimate,
             relative.low = rel$conf.low, relative.high = rel$conf.high, p.value = tab$p.value,
             significant = tab$p.value < alpha / nrow(tab), stringsAsFactors = FALSE)
}

#' @export
print.dml_multi_irm <- function(x, digits = 4, ...) {
  check_digits(digits)
  cat("<fastdml> ", fit_title(x), "\n", sep = "")
  print_multi_body(multi_estimate_table(x), x, digits)
  cat("Nuisances: ", quality_line(x), "\n", sep = "")
  if (!is.null(x$stacking) && nrow(x$stacking)) cat(stacking_lines(x$stacking), sep = "\n")
  if (any(x$clipped_share > 0)) {
    cat(sprintf("Rows with an arm's propensity below the floor %g: %.2f%%\n", x$trim, 100 * mean(x$clipped_share)))
  }
  if (!is.na(x$n_clusters)) cat("Cluster-robust SE over", x$n_clusters, "clusters\n")
  invisible(x)
}

print_multi_body <- function(tab, x, digits, level = 0.95) {
  shown <- tab[, -1L]
  rownames(shown) <- tab$term
  shown$significant <- ifelse(tab$significant, "*", "")
  names(shown)[match(c("significant", "relative.low", "relative.high"), names(shown))] <-
    c("bonf.", "rel.low", "rel.high")
  print(format(shown, digits = digits), quote = FALSE)
  cat(sprintf("relative: %% of the estimated %s; bonf.: p < %g / %d (Bonferroni)\n",
              if (x$estimand == "ATE") "E[Y(0)]" else "E[Y(0) | arm]", 1 - level, nrow(tab)))
  arms <- x$arms
  cat("Arms: ", paste(sprintf("%s n = %d, mean %s = %s", arms$arm, arms$n, x$spec$outcome,
                              format(arms$mean_outcome, digits = digits, trim = TRUE)), collapse = "; "),
      "\n", sep = "")
}

#' @export
summary.dml_multi_irm <- function(object, level = 0.95, ...) {
  out <- summary.fastdml_fit(object, level = level)
  out$table <- multi_estimate_table(object, level)
  out$repetitions <- data.frame(rep = rep(seq_len(object$n_rep), ncol(object$theta_rep)),
                                term = rep(colnames(object$theta_rep), each = object$n_rep),
                                estimate = as.vector(object$theta_rep),
                                std.error = as.vector(object$se_rep), stringsAsFactors = FALSE)
  out$fit <- object
  class(out) <- c("summary.dml_multi_irm", class(out))
  out
}

#' @export
print.summary.dml_multi_irm <- function(x, digits = 4, ...) {
  check_digits(digits)
  cat("<fastdml> ", x$title, "\n\n", sep = "")
  print_multi_body(x$table, x$fit, digits, x$level)
  if (x$fit$n_rep > 1) {
    cat("\nRepetitions (aggregated by the median):\n")
    print(format(x$repetitions, digits = digits), row.names = FALSE)
  }
  cat("\nOut-of-fold nuisance quality:\n")
  q <- as.data.frame(x$quality)[, c("nuisance", "learner", "rep", "n", "rmse", "r2", "log_loss", "auc")]
  print(format(q, digits = digits), row.names = FALSE)
  cat(sprintf("\nRows with an arm's propensity below the floor %g: %.2f%%%s\n", x$trim, 100 * mean(x$clipped_share),
              if (isTRUE(x$normalize)) "; Hajek-normalised weights" else ""))
  if (!is.na(x$n_clusters)) cat("Cluster-robust standard errors over", x$n_clusters, "clusters\n")
  if (x$weighted) cat("Observation weights used in the scores\n")
  invisible(x)
}
