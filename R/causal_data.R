#' Specify the data of a causal analysis
#'
#' Collects the outcome, the treatment, the covariates and optional clusters and observation
#' weights into a validated object that every estimator of the package takes. Covariates are
#' stored once as a column-major double matrix that the C++ core reads without copying.
#'
#' Validation: missing or non-finite values, unknown or duplicated columns, constant
#' covariates, a treatment with a single level, negative weights and similar problems stop with
#' an error that names the column and the fix. Factor, character and logical covariates are
#' expanded into 0/1 indicator columns (the first level is the reference and is dropped), and a
#' message names the reference level.
#'
#' @param data A data.frame, data.table or numeric matrix with column names; or a formula
#'   `outcome ~ treatment | covariates` (then pass the table as `data` by name, see examples).
#' @param outcome Name of the outcome column, or a formula `y ~ d | x1 + x2` (`y ~ d | .` uses
#'   every other column as a covariate).
#' @param treatment Name of the treatment column: binary (0/1, logical, or a factor/character
#'   with two levels) or continuous (numeric, for [dml_plr()] only).
#' @param covariates Names of the covariate columns; `NULL` uses every column that is not the
#'   outcome, treatment, cluster or weights column.
#' @param cluster Optional name of a column (or a vector of length n) of cluster ids: folds
#'   are drawn by cluster and standard errors are cluster-robust.
#' @param weights Optional name of a column (or a vector of length n) of non-negative
#'   observation weights (normalised to mean one in the scores).
#' @param control For a factor or character treatment, the level taken as control
#'   (default: the first level). A numeric 0/1 treatment has control 0.
#' @return An object of class `fastdml_data`: a list with `X` (n x p double matrix of
#'   covariates), `y`, `d` (0/1 for a binary treatment), `cluster` (integer ids or `NULL`),
#'   `weights`, `outcome`, `treatment`, `covariates`, `treatment_type` ("binary" or
#'   "continuous"), `treatment_levels` (control first) and `n`.
#' @family data
#' @examples
#' df <- sim_lesson(n = 300, seed = 1)
#' spec <- causal_data(df, outcome = "outcome", treatment = "treatment",
#'                     covariates = c("age", "browsing_time", "income"))
#' spec
#' causal_data(outcome ~ treatment | age + browsing_time + income, data = df)
#' @export
causal_data <- function(data, outcome, treatment, covariates = NULL, cluster = NULL,
                        weights = NULL, control = NULL) {
  if (inherits(data, "formula")) {
    formula <- data
    data <- if (missing(outcome)) NULL else outcome
    parts <- parse_causal_formula(formula)
  } else if (!missing(outcome) && inherits(outcome, "formula")) {
    parts <- parse_causal_formula(outcome)
  } else {
    parts <- NULL
  }
  if (is.null(data)) cli::cli_abort("Supply the table as {.arg data}.")
  if (is.matrix(data)) {
    if (is.null(colnames(data))) {
      cli::cli_abort(c("The matrix {.arg data} has no column names.",
                       i = "Set them with {.code colnames(data) <- ...}."))
    }
    data <- as.data.frame(data)
  }
  if (!is.data.frame(data)) {
    cli::cli_abort(c("{.arg data} must be a data.frame, data.table or numeric matrix.",
                     x = "It is a {.cls {class(data)}}."))
  }
  dup <- unique(names(data)[duplicated(names(data))])
  if (length(dup)) {
    cli::cli_abort(c("{.arg data} has duplicated column names: {.field {dup}}.",
                     i = "Rename them, e.g. with {.code make.unique(names(data))}."))
  }
  if (!is.null(parts)) {
    outcome <- parts$outcome
    treatment <- parts$treatment
    covariates <- parts$covariates
  }
  check_column_name(outcome, "outcome", data)
  check_column_name(treatment, "treatment", data)
  n <- nrow(data)
  cluster_col <- if (is.character(cluster) && length(cluster) == 1L && n != 1L) cluster else NULL
  weights_col <- if (is.character(weights) && length(weights) == 1L && n != 1L) weights else NULL
  if (is.null(covariates) || identical(covariates, ".")) {
    covariates <- setdiff(names(data), c(outcome, treatment, cluster_col, weights_col))
  }
  if (!is.character(covariates) || length(covariates) == 0L) {
    cli::cli_abort(c("No covariates: {.arg covariates} must name at least one column."))
  }
  dup <- unique(covariates[duplicated(covariates)])
  if (length(dup)) cli::cli_abort("Covariate{?s} {.field {dup}} {?is/are} listed twice.")
  unknown <- setdiff(covariates, names(data))
  if (length(unknown)) {
    cli::cli_abort(c("Covariate column{?s} {.field {unknown}} not found in {.arg data}.",
                     i = "Available columns: {.field {names(data)}}."))
  }
  overlap <- intersect(covariates, c(outcome, treatment))
  if (length(overlap)) {
    cli::cli_abort("{.field {overlap}} cannot be both a covariate and the outcome or treatment.")
  }

  y <- numeric_column(data[[outcome]], outcome, "outcome")
  treat <- treatment_column(data[[treatment]], treatment, control)
  cluster_ids <- if (is.null(cluster)) NULL else cluster_column(cluster, data, n)
  w <- if (is.null(weights)) NULL else weights_column(weights, data, n)
  X <- covariate_matrix(data, covariates)

  structure(list(
    X = X, y = y, d = treat$d, cluster = cluster_ids, weights = w,
    outcome = outcome, treatment = treatment, covariates = colnames(X),
    treatment_type = treat$type, treatment_levels = treat$levels, n = n
  ), class = "fastdml_data")
}

#' @export
print.fastdml_data <- function(x, ...) {
  cli::cli_text("{.cls fastdml_data}: {x$n} rows, {length(x$covariates)} covariate{?s}")
  cli::cli_text("Outcome {.field {x$outcome}}; treatment {.field {x$treatment}} ({x$treatment_type}",
                if (x$treatment_type == "binary") {
                  ": {sum(x$d)} treated ({.val {x$treatment_levels[2]}}), {x$n - sum(x$d)} control ({.val {x$treatment_levels[1]}}))"
                } else ")")
  cov <- x$covariates
  shown <- if (length(cov) > 8) c(utils::head(cov, 8), "...") else cov
  cli::cli_text("Covariates: {.field {shown}}")
  if (!is.null(x$cluster)) cli::cli_text("Clusters: {max(x$cluster)}")
  if (!is.null(x$weights)) cli::cli_text("Observation weights: yes")
  invisible(x)
}

#' @export
nobs.fastdml_data <- function(object, ...) object$n

is_causal_data <- function(x) inherits(x, "fastdml_data")

check_spec <- function(spec, arg = "spec") {
  if (!is_causal_data(spec)) {
    cli::cli_abort(c("{.arg {arg}} must be made by {.fn causal_data}.",
                     i = "For example: {.code causal_data(df, outcome = \"y\", treatment = \"d\")}."))
  }
  invisible(spec)
}
