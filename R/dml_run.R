#' Run a CI-DML configuration over every action
#'
#' Applies a [dml_config()] to a table: every action (a treatment column and its outcome
#' columns) is fitted with the configured learners, cross-fitting (hash folds of the id column,
#' see [hash_folds()]) and residual regression, on any back end of [dml_plr()]; with a
#' `baseline` in the configuration and `backend = "memory"`, [ci_po()] is fitted next to it.
#' On the scale-out back ends all actions share every pass over the data.
#'
#' @param data A data frame, or a source of [causal_table()] (DuckDB file with `table`, Parquet
#'   or CSV paths, a DBI connection, a dbplyr lazy table, a list of partitions for mirai).
#' @param config A [dml_config()] object, or what it reads (a JSON file or string).
#' @param backend One of `"memory"`, `"duckdb"`, `"dbplyr"`, `"mirai"` (see [dml_plr()]).
#' @param table Table name for a `.duckdb` file or a DBI connection.
#' @param baseline Fit the configuration's CI-PO baseline (memory back end only).
#' @param num.threads Threads, as in [dml_plr()].
#' @return A data.table (class `fastdml_run`) with one row per action and outcome: `action`,
#'   `treatment`, `outcome`, `estimate`, `std.error` (the configured `vcov`), `conf.low`,
#'   `conf.high`, `se_const` ... `se_HC3`, `n`, `n_retained`, `r2_l`, `auc_m`, and with the
#'   baseline `po_estimate`, `po_std.error`, `po_conf.low`, `po_conf.high`, `po_seconds`;
#'   attributes `seconds` (the DML fits' wall time) and `passes` (passes over the data of a
#'   scale-out back end).
#' @family estimators
#' @examples
#' if (requireNamespace("jsonlite", quietly = TRUE)) {
#'   d <- sim_customer_actions(3000, 2, seed = 1, n_features = 10)
#'   res <- dml_run(d, system.file("extdata", "ci_dml.json", package = "fastdml"), baseline = FALSE)
#'   res[, c("treatment", "outcome", "estimate", "std.error")]
#' }
#' @export
dml_run <- function(data, config, backend = "memory", table = NULL, baseline = TRUE,
                    num.threads = getOption("fastdml.num.threads", 2L)) {
  if (!inherits(config, "fastdml_config")) config <- dml_config(config)
  backend <- arg_match(backend, scale_backends, "backend")
  check_flag(baseline, "baseline")
  num_threads <- resolve_num_threads(num.threads)
  columns <- source_columns(data, backend, table)
  actions <- resolve_config(config, columns)
  covariates <- actions[[1L]]$covariates
  same_inputs <- vapply(actions, function(a) identical(a$covariates, covariates) &&
                          identical(a$outcome_covariates, covariates), logical(1))
  if (!all(same_inputs)) {
    fd_abort("config", c("The propensity and outcome stages must read the same covariates for every action.",
                         i = "Use the same {.field input} selector in both model stages."))
  }
  id <- if (is.null(config$id)) "id" else config$id
  res <- config$residualer
  options <- ci_dml_options(res$ipw, res$trim, res$trim_mode, res$rescale, res$intercept)
  seed <- if (is.null(config$cross_fitting$seed)) 1 else config$cross_fitting$seed
  treatments <- vapply(actions, `[[`, character(1), "treatment")
  outcomes <- lapply(actions, `[[`, "outcomes")
  tab <- causal_table(data, outcomes[[1L]][1L], treatments[1L], covariates, id = id, table = table)
  started <- proc.time()[["elapsed"]]
  fit <- dml_plr_table(tab, config$learners$outcome, config$learners$treatment,
                       config$cross_fitting$n_folds, seed, options, backend, num_threads,
                       treatments, outcomes)
  seconds <- proc.time()[["elapsed"]] - started
  out <- data.table::as.data.table(fit$table)
  keys <- vapply(actions, `[[`, character(1), "action")
  out$action <- keys[match(out$treatment, treatments)]
  vcov <- if (is.null(res$vcov)) "HC0" else res$vcov
  out$std.error <- out[[paste0("se_", vcov)]]
  out$conf.low <- out$estimate - stats::qnorm(0.975) * out$std.error
  out$conf.high <- out$estimate + stats::qnorm(0.975) * out$std.error
  data.table::setcolorder(out, c("action", "treatment", "outcome", "estimate", "std.error", "conf.low", "conf.high"))
  if (baseline && !is.null(config$baseline)) out <- add_ci_po(out, data, config, covariates, backend, num_threads)
  data.table::setattr(out, "seconds", seconds)
  data.table::setattr(out, "passes", fit$passes)
  data.table::setattr(out, "config", config)
  out[]
}

# Column names of a source without reading its rows.
source_columns <- function(data, backend, table) {
  if (is.data.frame(data)) return(names(data))
  if (backend == "mirai" && is.list(data)) {
    first <- data[[1L]]
    if (is.data.frame(first)) return(names(first))
    if (grepl("\\.csv$", first) && !requireNamespace("duckdb", quietly = TRUE)) return(names(utils::read.csv(first, nrows = 1L)))
    data <- first
    backend <- "duckdb"
  }
  relation <- db_relation(list(source = data, table = table), backend)
  on.exit(relation$close())
  names(DBI::dbGetQuery(relation$con, sprintf("SELECT * FROM %s LIMIT 0", relation$from)))
}

# The CI-PO baseline of every (treatment, outcome) row, with its wall time.
add_ci_po <- function(out, data, config, covariates, backend, num_threads) {
  if (backend != "memory" || !is.data.frame(data)) {
    fd_inform("baseline", "The CI-PO baseline runs in memory only; skipped on the {backend} back end.")
    return(out)
  }
  base <- config$baseline
  rows <- lapply(seq_len(nrow(out)), function(r) {
    spec <- causal_data(data, out$outcome[r], out$treatment[r], covariates)
    po <- ci_po(spec, n_bins = base$n_bins, bootstrap = base$bootstrap,
                seed = config$cross_fitting$seed, num.threads = num_threads)
    ci <- stats::confint(po)
    data.frame(po_estimate = unname(stats::coef(po)), po_std.error = po$se, po_conf.low = ci[1L, 1L],
               po_conf.high = ci[1L, 2L], po_seconds = po$elapsed)
  })
  data.table::as.data.table(cbind(as.data.frame(out), do.call(rbind, rows)))
}

#' Placebo table: selection bias of DML and CI-PO on placebo outcomes
#'
#' On placebo outcomes (true effect 0) an estimate is pure selection bias ("placebo error").
#' Per action: both errors and the improvement 100 (|PO| - |DML|) / |PO|; overall, the pooled
#' improvement 100 (1 - sum |DML| / sum |PO|) and the mean of the per-action improvements (the
#' spec's "2.2% gain" is the pooled figure).
#'
#' @param res A [dml_run()] result with the CI-PO baseline.
#' @param outcome Regular expression selecting the placebo outcome columns.
#' @return A data.table (class `fastdml_placebo`) with `action`, `outcome`, `dml_error`,
#'   `po_error`, `improvement_pct`; attributes `pooled_pct` and `mean_pct`.
#' @family estimators
#' @export
placebo_table <- function(res, outcome = "^placebo_") {
  if (!inherits(res, "data.table") || is.null(res$outcome)) fd_abort("argument", "{.arg res} must be a {.fn dml_run} result.")
  check_string(outcome, "outcome")
  if (is.null(res$po_estimate)) {
    fd_abort("argument", c("{.arg res} has no CI-PO baseline columns.",
                           i = "Run {.fn dml_run} with a {.field baseline} in the configuration and {.code baseline = TRUE}."))
  }
  rows <- as.data.frame(res)[grepl(outcome, res[["outcome"]], perl = TRUE), , drop = FALSE]
  if (!nrow(rows)) fd_abort("argument", "No outcome of {.arg res} matches {.val {outcome}}.")
  out <- data.table::data.table(action = rows$action, outcome = rows$outcome, dml_error = rows$estimate,
                                po_error = rows$po_estimate)
  out$improvement_pct <- 100 * (abs(out$po_error) - abs(out$dml_error)) / abs(out$po_error)
  data.table::setattr(out, "pooled_pct", 100 * (1 - sum(abs(out$dml_error)) / sum(abs(out$po_error))))
  data.table::setattr(out, "mean_pct", mean(out$improvement_pct))
  data.table::setattr(out, "class", c("fastdml_placebo", class(out)))
  out[]
}

#' @export
print.fastdml_placebo <- function(x, ...) {
  cat(sprintf("Placebo errors (true effect 0) of %d action%s: pooled improvement of DML over CI-PO %.2f%%, mean %.2f%%\n",
              nrow(x), if (nrow(x) == 1L) "" else "s", attr(x, "pooled_pct"), attr(x, "mean_pct")))
  table <- data.table::copy(x)
  data.table::setattr(table, "class", c("data.table", "data.frame"))
  print(table)
  invisible(x)
}
