#' Specify the data of a causal analysis
#'
#' Collects the outcome, the treatment, the covariates and optional clusters and observation
#' weights into a validated object that every estimator of the package takes. Covariates are
#' stored once as a column-major double matrix that the C++ core reads without copying.
#'
#' Validation: missing or non-finite values, unknown or duplicated columns, constant
#' covariates or outcome, a treatment with a single level, a treatment that is also the outcome,
#' negative weights and similar problems stop with an error of class `fastdml_error_<what>`
#' (and `fastdml_error`) that names the column and the fix; a nearly constant outcome gives a
#' `fastdml_warning_constant_outcome`. Factor, character and logical covariates are
#' expanded into 0/1 indicator columns (the first level is the reference and is dropped), and a
#' message names the reference level.
#'
#' Formulas `outcome ~ treatment | covariates` are evaluated as R users expect: the outcome and
#' the treatment may be expressions (`log(y + 1) ~ I(dose > 0) | ...`), and the covariate part is
#' expanded by [stats::model.matrix()] when it holds anything but plain column names
#' (`I(x^2)`, `poly(x, 2)`, `x1:x2`, `x1 * x2`, factors), with the reference level of each factor
#' dropped; `.` stands for every column not otherwise used. Indicator columns never overwrite a
#' covariate of the same name: on a clash the indicator is renamed `<column>_<level>`.
#'
#' A numeric treatment with exactly two values other than 0/1 (e.g. -1/+1 or 1/2) is binary:
#' the smaller value is the control unless `control` says otherwise, and a message names it.
#'
#' @param data A data.frame, data.table or numeric matrix with column names; or a formula
#'   `outcome ~ treatment | covariates` (then pass the table as `data` by name, see examples).
#' @param outcome Name of the outcome column, or a formula `y ~ d | x1 + x2` (`y ~ d | .` uses
#'   every other column as a covariate).
#' @param treatment Name of the treatment column: binary (0/1, logical, two numeric values, or
#'   a factor/character with two levels), several mutually exclusive arms (a factor or
#'   character column with three or more levels, for [dml_multi_irm()]) or continuous
#'   (numeric, for [dml_plr()] only).
#' @param covariates Names of the covariate columns; `NULL` uses every column that is not the
#'   outcome, treatment, cluster or weights column.
#' @param cluster Optional name of a column (or a vector of length n) of cluster ids: folds
#'   are drawn by cluster and standard errors are cluster-robust.
#' @param weights Optional name of a column (or a vector of length n) of non-negative
#'   observation weights (normalised to mean one in the scores).
#' @param control The control value of a two-valued treatment or the control arm of a
#'   multi-arm one (default: the first level of a factor (the first in sorted order for a
#'   character column), the smaller of two numbers, `FALSE`, or 0 for a 0/1 treatment).
#' @return An object of class `fastdml_data`: a list with `X` (n x p double matrix of
#'   covariates), `y`, `d` (0/1 for a binary treatment), `cluster` (integer ids or `NULL`),
#'   `weights`, `outcome`, `treatment`, `covariates`, `treatment_type` ("binary", "multi" or
#'   "continuous"), `treatment_levels` (control first) and `n`. For a multi-arm treatment `d`
#'   holds the arm index 0..K-1 (0 = control) in the order of `treatment_levels`.
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
  formula <- NULL
  if (inherits(data, "formula")) {
    formula <- data
    data <- if (missing(outcome)) NULL else outcome
  } else if (!missing(outcome) && inherits(outcome, "formula")) {
    formula <- outcome
  }
  table <- as_column_list(data)
  n <- table$n
  columns <- table$columns
  if (!is.null(formula)) {
    if (!missing(treatment) || !is.null(covariates)) {
      fd_abort("argument", c("Give the treatment and covariates either in the formula or as {.arg treatment} and {.arg covariates}, not both.",
                             i = "The formula {.code y ~ d | x1 + x2} names all three."))
    }
    parts <- formula_columns(formula, columns, n, c(column_name_given(cluster), column_name_given(weights)))
    columns <- parts$columns
    outcome <- parts$outcome
    treatment <- parts$treatment
    covariates <- parts$covariates
  } else {
    if (missing(outcome)) fd_abort("argument", "Name the {.arg outcome} column (or give a formula {.code y ~ d | x1 + x2}).")
    if (missing(treatment)) fd_abort("argument", "Name the {.arg treatment} column.")
  }
  check_column_name(outcome, "outcome", columns)
  check_column_name(treatment, "treatment", columns)
  if (identical(outcome, treatment)) {
    fd_abort("column", c("The outcome and the treatment are the same column {.field {outcome}}.",
                         i = "Name two different columns."))
  }
  roles <- c(cluster = column_name_given(cluster), weights = column_name_given(weights))
  clash <- roles[roles %in% c(outcome, treatment)]
  if (length(clash)) {
    fd_abort("column", "Column {.field {clash[1]}} cannot be both the {names(clash)[1]} column and the outcome or treatment.")
  }
  covariates <- resolve_covariates(covariates, names(columns), c(outcome, treatment, roles))

  y <- numeric_column(columns[[outcome]], outcome, "outcome")
  check_outcome_variation(y, outcome)
  treat <- treatment_column(columns[[treatment]], treatment, control)
  cluster_ids <- if (is.null(cluster)) NULL else cluster_column(cluster, columns, n)
  w <- if (is.null(weights)) NULL else weights_column(weights, columns, n, treat)
  X <- covariate_matrix(columns, n, covariates)
  check_outcome_copies(X, y, outcome)

  structure(list(
    X = X, y = y, d = treat$d, cluster = cluster_ids, weights = w,
    outcome = outcome, treatment = treatment, covariates = colnames(X),
    treatment_type = treat$type, treatment_levels = treat$levels, n = n
  ), class = "fastdml_data")
}

#' @export
print.fastdml_data <- function(x, ...) {
  line <- function(...) cat(cli::format_inline(..., .envir = parent.frame()), "\n", sep = "")
  line("{.cls fastdml_data}: {x$n} rows, {length(x$covariates)} covariate{?s}")
  arms <- if (x$treatment_type == "binary") {
    sprintf(": %d treated (%s), %d control (%s)", sum(x$d), x$treatment_levels[2],
            x$n - sum(x$d), x$treatment_levels[1])
  } else if (x$treatment_type == "multi") {
    counts <- tabulate(x$d + 1L, length(x$treatment_levels))
    sprintf(", %d arms, control %s: %s", length(counts), x$treatment_levels[1],
            paste(sprintf("%d %s", counts, x$treatment_levels), collapse = ", "))
  } else ""
  line("Outcome {.field {x$outcome}}; treatment {.field {x$treatment}} ({x$treatment_type}{arms})")
  cov <- x$covariates
  shown <- if (length(cov) > 8) c(utils::head(cov, 8), "...") else cov
  line("Covariates: {.field {shown}}")
  if (!is.null(x$cluster)) line("Clusters: {max(x$cluster)}")
  if (!is.null(x$weights)) line("Observation weights: yes")
  invisible(x)
}

valid_arm_index <- function(d, n_arms) {
  all(d == round(d)) && min(d) == 0 && max(d) == n_arms - 1 && length(unique(d)) == n_arms
}

#' @export
nobs.fastdml_data <- function(object, ...) object$n

is_causal_data <- function(x) inherits(x, "fastdml_data")

check_spec <- function(spec, arg = "spec") {
  if (!is_causal_data(spec)) {
    fd_abort("argument", c("{.arg {arg}} must be made by {.fn causal_data}.",
                     i = "For example: {.code causal_data(df, outcome = \"y\", treatment = \"d\")}."))
  }
  check_spec_fields(spec, arg)
  invisible(spec)
}

# A fastdml_data object edited by hand must still hold what causal_data() guarantees (X is
# scanned for NA only, the cheapest pass; an infinite value gives a non-finite result, which
# is warned after the fit).
check_spec_fields <- function(spec, arg) {
  n <- spec$n
  all_finite <- function(x) is.finite(sum(x)) || all(is.finite(x))  # one cheap pass usually
  finite_vector <- function(x) is.double(x) && length(x) == n && all_finite(x)
  problem <- if (!is.numeric(n) || length(n) != 1L || !is.finite(n) || n < 2) {
    "n"
  } else if (!is.matrix(spec$X) || !is.double(spec$X) || nrow(spec$X) != n || ncol(spec$X) < 1L ||
             anyNA(spec$X)) {
    "X"
  } else if (!finite_vector(spec$y)) {
    "y"
  } else if (!finite_vector(spec$d) || (identical(spec$treatment_type, "binary") && !all(spec$d == 0 | spec$d == 1)) ||
             (identical(spec$treatment_type, "multi") && !valid_arm_index(spec$d, length(spec$treatment_levels)))) {
    "d"
  } else if (!is.null(spec$weights) && (!finite_vector(spec$weights) || any(spec$weights < 0))) {
    "weights"
  } else if (!is.null(spec$cluster) && (!is.integer(spec$cluster) || length(spec$cluster) != n ||
                                        anyNA(spec$cluster) || min(spec$cluster) < 1L)) {
    "cluster"
  } else if (!spec$treatment_type %in% c("binary", "multi", "continuous")) {
    "treatment_type"
  }
  if (!is.null(problem)) {
    fd_abort("data", c("{.arg {arg}} was modified after {.fn causal_data}: its field {.field {problem}} is no longer valid.",
                       i = "Build it again with {.fn causal_data} instead of editing it."))
  }
}
