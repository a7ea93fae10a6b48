#' Value of a treatment rule
#'
#' The doubly robust value of a targeting rule from the fit's cross-fitted nuisances (nothing
#' is refitted): each row's score for arm k is Gamma_i(k) = g_k(X_i) + 1{D_i = k}(Y_i -
#' g_k(X_i)) / e_k(X_i) (propensities as the scores use them, averaged over repetitions), and
#' the value of a rule pi is the (weighted) mean of Gamma_i(pi_i) - cost(pi_i). Reported per
#' rule: the `value`, the `net value` against treating no one (the gain of the rule, mean of
#' pi (Gamma(1) - Gamma(0) - cost) for a binary treatment) and, for a binary treatment, the
#' difference against treating everyone. Standard errors come from the influence functions
#' (summed within clusters when the fit has clusters) and, with `n_boot > 0`, percentile
#' intervals from a Gaussian multiplier bootstrap drawn in C++ from R's RNG and streamed
#' (memory O(n + B)), with the same multipliers for every rule and quantity.
#'
#' @param fit A fit from [dml_irm()] or [dml_multi_irm()].
#' @param rule The rule, or a named list of rules: a logical or 0/1 vector (binary fits), arm
#'   labels (multi-arm fits), a function of the covariates (a data frame of the fit's
#'   covariates) returning either, a CATE object (treat where the estimate exceeds the cost),
#'   or a [policy_tree()] (its out-of-fold actions).
#' @param cost Cost of treating one row in outcome units: a number (binary fits), or one per
#'   treated arm (named by arm) for a multi-arm fit.
#' @param n_boot Multiplier-bootstrap draws (0: analytic intervals only).
#' @param level Confidence level.
#' @param seed Seed of the bootstrap (`NULL`: the current RNG stream).
#' @return A `fastdml_policy_value` object: `$table` (rule, term, estimate, std.error,
#'   conf.low, conf.high and, with the bootstrap, boot.low, boot.high), `$rules` (rule,
#'   treated share), `$actions`; with `print`, `tidy` and `autoplot` methods.
#' @family policy
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' policy_value(fit, list(young = df$age < 40, all = rep(TRUE, 800)), cost = 0.1,
#'              n_boot = 200, seed = 1)
#' @export
policy_value <- function(fit, rule, cost = 0, n_boot = 0L, level = 0.95, seed = NULL) {
  check_cate_fit(fit, "policy_value")
  costs <- arm_costs(fit, cost)
  check_count(n_boot, "n_boot", 0L)
  check_level(level)
  rules <- if (is.list(rule) && !inherits(rule, c("fastdml_cate", "fastdml_policy_tree"))) rule else list(rule = rule)
  if (is.null(names(rules)) || any(!nzchar(names(rules))) || anyDuplicated(names(rules))) {
    fd_abort("argument", "A list of rules must have distinct names (one per rule).")
  }
  actions <- lapply(stats::setNames(names(rules), names(rules)), function(name) {
    resolve_rule(fit, rules[[name]], costs, name)
  })
  scores <- policy_scores(fit) - rep(costs, each = fit$n)
  binary <- ncol(scores) == 2L
  parts <- lapply(names(actions), function(name) {
    chosen <- scores[cbind(seq_len(fit$n), actions[[name]] + 1L)]
    columns <- list(value = chosen, `net value` = chosen - scores[, 1L])
    if (binary) columns$`vs treat-all` <- chosen - scores[, 2L]
    list(rule = name, terms = names(columns), values = do.call(cbind, columns))
  })
  values <- do.call(cbind, lapply(parts, `[[`, "values"))
  table <- data.frame(rule = rep(vapply(parts, `[[`, "", "rule"), lengths(lapply(parts, `[[`, "terms"))),
                      term = unlist(lapply(parts, `[[`, "terms")))
  table <- cbind(table, mean_inference(values, fit$spec, level, n_boot, seed))
  arms <- fit_arms(fit)
  structure(list(table = table,
                 rules = data.frame(rule = names(actions),
                                    treated_share = vapply(actions, function(a) mean(a > 0), numeric(1))),
                 actions = lapply(actions, function(a) factor(arms[a + 1L], levels = arms)),
                 cost = costs, level = level, n_boot = n_boot, n = fit$n),
            class = "fastdml_policy_value")
}

# Weighted means of the columns of `values` with influence-function standard errors and
# normal intervals, plus percentile intervals of the multiplier bootstrap when n_boot > 0.
mean_inference <- function(values, spec, level, n_boot, seed) {
  w <- unit_weights(spec$weights, nrow(values))
  n <- nrow(values)
  estimate <- colSums(w * values) / n
  phi <- w * (values - rep(estimate, each = n))
  cluster <- spec$cluster
  unit_sums <- if (is.null(cluster)) phi else rowsum(phi, cluster, reorder = FALSE)
  se <- sqrt(colSums(unit_sums^2)) / n
  z <- stats::qnorm((1 + level) / 2)
  out <- data.frame(estimate = unname(estimate), std.error = unname(se),
                    conf.low = unname(estimate - z * se), conf.high = unname(estimate + z * se))
  if (n_boot > 0L) {
    draws <- multiplier_draws(phi, cluster, n_boot, seed)
    limits <- percentile_limits(draws, level)
    out$boot.low <- unname(estimate + limits[1L, ])
    out$boot.high <- unname(estimate + limits[2L, ])
  }
  out
}

# B x K Gaussian multiplier-bootstrap deviations of the means of the columns of phi.
multiplier_draws <- function(phi, cluster, n_boot, seed) {
  if (storage.mode(phi) != "double") storage.mode(phi) <- "double"
  ids <- if (is.null(cluster)) NULL else as.integer(cluster) - 1L
  with_seed(seed, core_call(.fastdml_multiplier_bootstrap(phi, ids, if (is.null(ids)) 0L else max(cluster),
                                                        as.integer(n_boot))))
}

# n x K doubly robust scores of every arm (control first), averaged over repetitions.
policy_scores <- function(fit) {
  y <- fit$spec$y
  d <- fit_arm_index(fit)
  arms <- fit_arms(fit)
  total <- 0
  for (rep in seq_len(fit$n_rep)) {
    E <- arm_propensities(fit, rep, trimmed = TRUE)
    G <- arm_outcomes(fit, rep)
    indicator <- outer(d, seq_along(arms) - 1L, `==`)
    total <- total + G + indicator * (y - G) / E
  }
  out <- total / fit$n_rep
  colnames(out) <- arms
  out
}

# Costs of every arm (control first, cost 0): a number for a binary fit, one per treated arm
# (named) for a multi-arm fit.
arm_costs <- function(fit, cost) {
  arms <- fit_arms(fit)
  treated <- arms[-1L]
  if (!is.numeric(cost) || anyNA(cost) || any(!is.finite(cost))) {
    fd_abort("argument", c("{.arg cost} must be finite numbers, not {.val {format_value(cost)}}.",
                           i = "Give the cost of treating one row in outcome units, e.g. {.code cost = 0.18}."))
  }
  if (length(cost) == 1L && is.null(names(cost))) return(c(0, rep(cost, length(treated))))
  if (length(cost) != length(treated) || is.null(names(cost)) || !setequal(names(cost), treated)) {
    fd_abort("argument", c("{.arg cost} must be one number, or one per treated arm named by arm.",
                           i = "The treated arms are {.val {treated}}."))
  }
  c(0, unname(cost[treated]))
}

# The action (arm index 0..K-1) of every row under a rule.
resolve_rule <- function(fit, rule, costs, name) {
  arms <- fit_arms(fit)
  n <- fit$n
  if (is.function(rule)) rule <- rule(as.data.frame(fit$spec$X))
  if (inherits(rule, "fastdml_policy_tree")) return(rule$oof_actions)
  if (inherits(rule, "fastdml_cate")) {
    return(ifelse(rule$estimates > costs[rule$arm + 1L], rule$arm, 0L))
  }
  if (length(rule) != n || !is.atomic(rule)) {
    fd_abort("length", c("Rule {.val {name}} gives {length(rule)} action{?s}; the fit has {n} rows.",
                         i = "Give one action per row of the fit, in the same order."))
  }
  if (anyNA(rule)) {
    fd_abort("non_finite", c("Rule {.val {name}} has {sum(is.na(rule))} missing action{?s}.",
                             i = "Decide every row: use {.code FALSE} (or the control arm) where the rule does not treat."))
  }
  if (is.logical(rule)) rule <- as.integer(rule)
  if (is.numeric(rule) && length(arms) == 2L && all(rule %in% c(0, 1))) return(as.integer(rule))
  labels <- as.character(rule)
  unknown <- setdiff(unique(labels), arms)
  if (length(unknown)) {
    fd_abort("argument", c("Rule {.val {name}} uses unknown arm{?s} {.val {unknown}}.",
                           i = "Use the arms {.val {arms}} (or TRUE/FALSE, 0/1 for a binary treatment)."))
  }
  match(labels, arms) - 1L
}

#' Treat each row with the arm of highest predicted net effect
#'
#' Turns CATE estimates of every contrast of a multi-arm fit (one CATE object per treated arm,
#' e.g. from [cate_dr()] with `contrast =`) into a rule for [policy_value()]: each row gets the
#' arm whose estimated effect minus its cost is largest, or the control when none is positive.
#'
#' @param cates A list of CATE objects, one per treated arm (any order).
#' @param cost The cost of each treated arm (one number for all, or named by arm).
#' @return A factor of arm labels, one per row.
#' @family policy
#' @export
best_arm <- function(cates, cost = 0) {
  if (!is.list(cates) || !length(cates) || !all(vapply(cates, inherits, logical(1), "fastdml_cate"))) {
    fd_abort("argument", "{.arg cates} must be a list of CATE objects (e.g. from {.fn cate_dr}), one per treated arm.")
  }
  arms <- vapply(cates, `[[`, integer(1), "arm")
  if (anyDuplicated(arms)) fd_abort("argument", "{.arg cates} has two estimates of the same contrast.")
  labels <- vapply(cates, function(x) x$arms[x$arm + 1L], character(1))
  n <- cates[[1L]]$n
  if (!is.numeric(cost) || any(!is.finite(cost))) fd_abort("argument", "{.arg cost} must be finite numbers.")
  cost <- if (length(cost) == 1L && is.null(names(cost))) rep(cost, length(labels)) else {
    if (!all(labels %in% names(cost))) fd_abort("argument", "{.arg cost} must name every arm of {.arg cates}: {.val {labels}}.")
    unname(cost[labels])
  }
  net <- vapply(cates, function(x) x$estimates, numeric(n)) - rep(cost, each = n)
  net <- matrix(net, nrow = n)
  best <- max.col(cbind(0, net), ties.method = "first")
  all_arms <- cates[[1L]]$arms
  factor(c(all_arms[1L], labels)[best], levels = all_arms)
}

#' @export
print.fastdml_policy_value <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_policy_value}: doubly robust value of {nrow(x$rules)} rule{?s}, {x$n} rows"), "\n", sep = "")
  tab <- merge(x$table, x$rules, by = "rule", sort = FALSE)
  print(format_coefficient_table(tab), row.names = FALSE)
  if (x$n_boot > 0) cat(sprintf("boot.*: %d-draw multiplier bootstrap percentile interval\n", x$n_boot))
  invisible(x)
}

#' @export
tidy.fastdml_policy_value <- function(x, ...) x$table
