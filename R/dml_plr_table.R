# dml_plr() on a causal_table(): CI-DML in memory (today's path on hash folds) or through the
# sufficient-statistics passes of R/scale-engine.R on DuckDB, dbplyr or mirai back ends.

scale_backends <- c("memory", "duckdb", "dbplyr", "mirai")

# `treatments` and `outcomes` (a list: the outcomes of each treatment) default to the table's.
dml_plr_table <- function(table, learner_outcome, learner_treatment, n_folds, seed, options,
                          backend, num_threads, treatments = table$treatment,
                          outcomes = rep(list(table$outcome), length(treatments))) {
  backend <- arg_match(backend, scale_backends, "backend")
  check_count(n_folds, "n_folds", 2L)
  if (is.null(seed)) seed <- sample.int(.Machine$integer.max, 1L)
  if (!is.numeric(seed) || length(seed) != 1L || !is.finite(seed) || seed != floor(seed)) {
    fd_abort("argument", "{.arg seed} must be a whole number: hash folds need it.")
  }
  if (backend == "memory") {
    rows <- memory_table_fit(table, learner_outcome, learner_treatment, n_folds, seed, options,
                             num_threads, treatments, outcomes)
  } else {
    check_scale_learners(learner_outcome, learner_treatment)
    if (options$ipw != "none" || options$trim > 0 || options$rescale) options$active <- TRUE
    plan <- scale_plan(table$covariates, treatments, outcomes, table$id, n_folds, seed, options,
                       learner_outcome$ridge, learner_treatment$ridge, num_threads)
    unique_outcomes <- unique(unlist(outcomes))
    pairs <- do.call(rbind, lapply(seq_along(treatments), function(a) {
      data.frame(treatment_index = a, outcome_index = match(outcomes[[a]], unique_outcomes))
    }))
    reducer <- scale_reducer(table, plan, backend)
    on.exit(reducer$close(), add = TRUE)
    passes <- 0L
    rows <- scale_fit(function(pass) {
      passes <<- passes + 1L
      reducer$reduce(pass)
    }, plan, pairs)
  }
  structure(list(table = rows, backend = backend, n_folds = as.integer(n_folds), seed = seed,
                 passes = if (backend == "memory") NA_integer_ else passes,
                 options = options, learners = c(outcome = learner_outcome$label,
                                                 treatment = learner_treatment$label)),
            class = "dml_plr_scaled")
}

check_scale_learners <- function(learner_outcome, learner_treatment) {
  if (!identical(learner_outcome$kind, "linear") || !identical(learner_treatment$kind, "logistic")) {
    fd_abort("learner", c("The scale-out back ends fit {.fn lrn_linear} outcome and {.fn lrn_logistic} treatment models (sums of Gram matrices and IRLS gradients).",
                          x = "Got {.val {learner_outcome$label}} and {.val {learner_treatment$label}}.",
                          i = "Use {.code backend = \"memory\"} for other learners."))
  }
}

# Today's in-memory fit of every (treatment, outcome) pair on the hash folds.
memory_table_fit <- function(table, learner_outcome, learner_treatment, n_folds, seed, options,
                             num_threads, treatments, outcomes) {
  data <- table$source
  if (!is.data.frame(data)) {
    fd_abort("argument", c("{.code backend = \"memory\"} needs a data frame as the table's source.",
                           i = "Use {.code backend = \"duckdb\"} (files, .duckdb) or {.code \"dbplyr\"} (lazy tables)."))
  }
  if (is.null(data[[table$id]])) fd_abort("column", "The data have no id column {.field {table$id}}; hash folds need it.")
  folds <- hash_folds(as.double(data[[table$id]]), n_folds, seed)
  rows <- lapply(seq_along(treatments), function(a) lapply(outcomes[[a]], function(outcome) {
    spec <- causal_data(data, outcome, treatments[a], table$covariates)
    fit <- dml_plr(spec, learner_outcome, learner_treatment, folds = folds, ipw = options$ipw,
                   trim = options$trim, trim_mode = options$trim_mode, rescale = options$rescale,
                   intercept = options$intercept, num.threads = num_threads)
    ses <- tidy(fit, vcov = ci_dml_types)
    q <- fit$quality[is.na(fit$quality$fold)]
    row <- data.frame(treatment = treatments[a], outcome = outcome, estimate = unname(coef(fit)),
                      std.error = fit$se, stringsAsFactors = FALSE)
    for (type in ci_dml_types) row[[paste0("se_", type)]] <- ses$std.error[ses$vcov == type]
    row$n <- fit$n
    row$n_retained <- round(fit$n * if (is.null(fit$ci_dml)) 1 else fit$ci_dml$retained_share)
    row$r2_l <- q$r2[q$nuisance == "l"]
    row$auc_m <- q$auc[q$nuisance == "m"]
    row$log_loss_m <- q$log_loss[q$nuisance == "m"]
    row
  }))
  do.call(rbind, unlist(rows, recursive = FALSE))
}

#' @export
print.dml_plr_scaled <- function(x, digits = 4, ...) {
  check_digits(digits)
  cat(sprintf("<fastdml> CI-DML (%s back end, %d hash folds, seed %s): %s\n", x$backend, x$n_folds,
              format(x$seed), ci_dml_label(c(x$options, list(retained_share = mean(x$table$n_retained / x$table$n)))) %||% "plain PLR"))
  tab <- x$table[, c("treatment", "outcome", "estimate", "se_const", "se_HC0", "se_HC1", "se_HC2",
                     "se_HC3", "n_retained", "r2_l", "auc_m")]
  print(format(tab, digits = digits), row.names = FALSE)
  invisible(x)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

#' @export
coef.dml_plr_scaled <- function(object, ...) {
  stats::setNames(object$table$estimate, scaled_terms(object))
}

scaled_terms <- function(x) {
  if (nrow(x$table) == 1L) x$table$treatment else paste(x$table$treatment, x$table$outcome, sep = ":")
}

#' @export
vcov.dml_plr_scaled <- function(object, type = "HC0", ...) {
  type <- arg_match(type, ci_dml_types, "type")
  se <- object$table[[paste0("se_", type)]]
  out <- diag(se^2, length(se))
  dimnames(out) <- list(scaled_terms(object), scaled_terms(object))
  out
}

#' @export
confint.dml_plr_scaled <- function(object, parm, level = 0.95, ...) {
  check_level(level)
  tab <- tidy.dml_plr_scaled(object, conf.level = level)
  out <- cbind(tab$conf.low, tab$conf.high)
  dimnames(out) <- list(tab$term, sprintf("%s %%", format(100 * c((1 - level) / 2, 1 - (1 - level) / 2), trim = TRUE)))
  out
}

#' @export
nobs.dml_plr_scaled <- function(object, ...) object$table$n[1L]

#' @export
tidy.dml_plr_scaled <- function(x, vcov = "HC0", conf.int = TRUE, conf.level = 0.95, ...) {
  check_level(conf.level, "conf.level")
  types <- unique(vapply(vcov, arg_match, character(1), ci_dml_types, "vcov"))
  z <- stats::qnorm(1 - (1 - conf.level) / 2)
  do.call(rbind, lapply(types, function(type) {
    se <- x$table[[paste0("se_", type)]]
    est <- x$table$estimate
    out <- data.frame(term = scaled_terms(x), estimate = est, std.error = se, statistic = est / se,
                      p.value = 2 * stats::pnorm(-abs(est / se)), stringsAsFactors = FALSE)
    if (conf.int) {
      out$conf.low <- est - z * se
      out$conf.high <- est + z * se
    }
    out$vcov <- type
    out
  }))
}

#' @export
glance.dml_plr_scaled <- function(x, ...) {
  data.frame(nobs = x$table$n[1L], backend = x$backend, n_folds = x$n_folds, seed = x$seed,
             n_fits = nrow(x$table), learner_outcome = x$learners[["outcome"]],
             learner_treatment = x$learners[["treatment"]], stringsAsFactors = FALSE)
}
