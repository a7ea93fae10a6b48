# Uniform access to the pieces of binary (dml_irm) and multi-arm (dml_multi_irm) fits that
# diagnostics, sensitivity and heterogeneity read: arm indices, per-arm propensities and outcome
# regressions, and the influence functions of the estimated contrasts. A binary fit is the
# two-arm case: arm 0 = control (m_control = 1 - m), arm 1 = treated.

# Arm labels, control first.
fit_arms <- function(fit) fit$spec$treatment_levels

# Arm index of every row, 0 (control) .. K - 1.
fit_arm_index <- function(fit) as.integer(fit$spec$d)

# n x K matrix of propensities of repetition `rep`, columns named by arm (control first):
# raw (as predicted, `trimmed = FALSE`) or as used in the scores before any Hajek
# normalisation (`trimmed = TRUE`: binary fits clip to [trim, 1 - trim]; multi-arm fits floor
# every arm at trim and rescale the others, see trim_arm_propensities()).
arm_propensities <- function(fit, rep = 1L, trimmed = FALSE) {
  arms <- fit_arms(fit)
  nu <- fit$nuisances
  if (inherits(fit, "dml_multi_irm")) {
    M <- vapply(arms, function(arm) nu[[paste0("m_", arm)]][, rep], numeric(fit$n))
    if (trimmed) M <- trim_arm_propensities(M, fit$trim)
  } else if (inherits(fit, "dml_irm")) {
    m <- nu$m[, rep]
    if (trimmed) m <- pmin(pmax(m, fit$trim), 1 - fit$trim)
    M <- cbind(1 - m, m)
  } else {
    fd_abort("argument", c("This needs a fit from {.fn dml_irm} or {.fn dml_multi_irm}.",
                           x = "It got a {.cls {class(fit)}}."))
  }
  matrix(M, ncol = length(arms), dimnames = list(NULL, arms))
}

# n x K matrix of outcome regressions g_k(X) of repetition `rep` (binary: g0, g1). For an ATT
# fit without g1, that column is NA.
arm_outcomes <- function(fit, rep = 1L) {
  arms <- fit_arms(fit)
  nu <- fit$nuisances
  G <- if (inherits(fit, "dml_multi_irm")) {
    vapply(arms, function(arm) nu[[paste0("g_", arm)]][, rep], numeric(fit$n))
  } else {
    cbind(nu$g0[, rep], if (is.null(nu$g1)) NA_real_ else nu$g1[, rep])
  }
  matrix(G, ncol = length(arms), dimnames = list(NULL, arms))
}

# n x (K - 1) matrix of the influence functions of the contrasts in repetition `rep`:
# IF_i = -(psi_a,i theta_s + psi_b,i) / mean(psi_a), so that theta_s - theta_0 ~ mean(IF).
influence_functions <- function(fit, rep = 1L) {
  terms <- names(fit$coefficients)
  psi_a <- matrix(fit$psi_a, nrow = fit$n)
  psi_b <- matrix(fit$psi_b, nrow = fit$n)
  n_rep <- fit$n_rep
  columns <- (seq_along(terms) - 1L) * n_rep + rep
  theta <- matrix(fit$theta_rep, nrow = n_rep)[rep, ]
  out <- vapply(seq_along(terms), function(k) {
    a <- psi_a[, columns[k]]
    -(a * theta[k] + psi_b[, columns[k]]) / mean(a)
  }, numeric(fit$n))
  matrix(out, ncol = length(terms), dimnames = list(NULL, terms))
}

# Floors every arm's propensity (n x K matrix) at trim and rescales the other arms to fill the
# rest, as the multi-arm scores do (MultiIrmScore, in C++).
trim_arm_propensities <- function(M, trim) {
  storage.mode(M) <- "double"
  out <- core_call(.fastdml_trim_arms(M, trim))
  dimnames(out) <- dimnames(M)
  out
}
