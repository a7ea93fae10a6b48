# Validation and conversion helpers of causal_data(): each error names the column and the fix.

parse_causal_formula <- function(formula) {
  if (length(formula) != 3L) {
    cli::cli_abort(c("The formula needs an outcome: {.code y ~ d | x1 + x2}."))
  }
  rhs <- formula[[3L]]
  if (!is.call(rhs) || !identical(rhs[[1L]], as.name("|"))) {
    cli::cli_abort(c("The formula must separate treatment and covariates with {.code |}.",
                     i = "For example {.code y ~ d | x1 + x2} or {.code y ~ d | .}."))
  }
  treatment <- all.vars(rhs[[2L]])
  if (length(treatment) != 1L) cli::cli_abort("The formula must name exactly one treatment.")
  covariates <- all.vars(rhs[[3L]])
  if ("." %in% covariates) covariates <- NULL
  list(outcome = all.vars(formula[[2L]]), treatment = treatment, covariates = covariates)
}

check_column_name <- function(name, what, data) {
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    cli::cli_abort("{.arg {what}} must be a single column name.")
  }
  if (!name %in% names(data)) {
    cli::cli_abort(c("The {what} column {.field {name}} is not in {.arg data}.",
                     i = "Available columns: {.field {names(data)}}."))
  }
}

abort_non_finite <- function(x, name, what) {
  bad <- sum(!is.finite(x))
  if (bad > 0L) {
    cli::cli_abort(c("The {what} column {.field {name}} has {bad} missing or non-finite value{?s} (NA, NaN or Inf).",
                     i = "Impute or drop those rows first, e.g. {.code data[is.finite(data${name}), ]}."))
  }
}

numeric_column <- function(x, name, what) {
  if (is.logical(x)) x <- as.numeric(x)
  if (!is.numeric(x)) {
    cli::cli_abort(c("The {what} column {.field {name}} must be numeric.",
                     x = "It is a {.cls {class(x)}}.",
                     i = "Convert it first, e.g. {.code as.numeric()}."))
  }
  x <- as.double(x)
  abort_non_finite(x, name, what)
  x
}

treatment_column <- function(x, name, control) {
  if (anyNA(x)) {
    cli::cli_abort(c("The treatment column {.field {name}} has {sum(is.na(x))} missing value{?s}.",
                     i = "Drop those rows first."))
  }
  if (is.factor(x) || is.character(x) || is.logical(x)) {
    levels <- if (is.factor(x)) levels(droplevels(x)) else sort(unique(as.character(x)))
    if (is.logical(x)) levels <- c("FALSE", "TRUE")[c("FALSE", "TRUE") %in% as.character(x)]
    if (length(levels) < 2L) {
      cli::cli_abort(c("The treatment column {.field {name}} has a single level ({.val {levels}}).",
                       i = "A causal contrast needs treated and control rows."))
    }
    if (length(levels) > 2L) {
      cli::cli_abort(c("The treatment column {.field {name}} has {length(levels)} levels.",
                       i = "Binary models need two levels; recode it or keep two arms."))
    }
    if (!is.null(control)) {
      if (!control %in% levels) {
        cli::cli_abort("{.arg control} = {.val {control}} is not a level of {.field {name}} ({.val {levels}}).")
      }
      levels <- c(control, setdiff(levels, control))
    }
    return(list(d = as.double(as.character(x) == levels[2L]), type = "binary", levels = levels))
  }
  if (!is.numeric(x)) {
    cli::cli_abort(c("The treatment column {.field {name}} must be numeric, logical, factor or character.",
                     x = "It is a {.cls {class(x)}}."))
  }
  x <- as.double(x)
  abort_non_finite(x, name, "treatment")
  values <- unique(x)
  if (length(values) < 2L) {
    cli::cli_abort(c("The treatment column {.field {name}} has a single value ({.val {values}}).",
                     i = "A causal contrast needs variation in the treatment."))
  }
  if (all(values %in% c(0, 1))) {
    return(list(d = x, type = "binary", levels = c("0", "1")))
  }
  list(d = x, type = "continuous", levels = NULL)
}

# `x` names a column of data or holds the values (length n); returns the values and a label.
column_or_vector <- function(x, what, data, n) {
  if (is.character(x) && length(x) == 1L && n != 1L) {
    check_column_name(x, what, data)
    return(list(values = data[[x]], name = x))
  }
  if (length(x) != n) {
    cli::cli_abort("{.arg {what}} has length {length(x)} but {.arg data} has {n} rows.")
  }
  list(values = x, name = what)
}

cluster_column <- function(cluster, data, n) {
  column <- column_or_vector(cluster, "cluster", data, n)
  cluster <- column$values
  name <- column$name
  if (anyNA(cluster)) {
    cli::cli_abort(c("The cluster column {.field {name}} has {sum(is.na(cluster))} missing value{?s}.",
                     i = "Give every row a cluster id."))
  }
  ids <- as.integer(factor(cluster))
  if (max(ids) < 2L) cli::cli_abort("The cluster column {.field {name}} has a single cluster.")
  ids
}

weights_column <- function(weights, data, n) {
  column <- column_or_vector(weights, "weights", data, n)
  name <- column$name
  weights <- column$values
  w <- numeric_column(weights, name, "weights")
  if (any(w < 0)) {
    cli::cli_abort(c("The weights column {.field {name}} has {sum(w < 0)} negative value{?s}.",
                     i = "Observation weights must be >= 0."))
  }
  if (!any(w > 0)) cli::cli_abort("The weights column {.field {name}} is zero everywhere.")
  w
}

# The covariate matrix: numeric columns as double, factor/character/logical columns expanded
# into indicators of every level but the first. One allocation of n x p doubles.
covariate_matrix <- function(data, covariates) {
  n <- nrow(data)
  non_finite <- vapply(covariates, function(col) {
    x <- data[[col]]
    if (is.numeric(x)) sum(!is.finite(x)) else sum(is.na(x))
  }, numeric(1))
  if (any(non_finite > 0)) {
    bad <- non_finite[non_finite > 0]
    detail <- paste0(names(bad), ": ", bad, " row", ifelse(bad == 1, "", "s"), collapse = ", ")
    cli::cli_abort(c("Covariate{?s} {.field {names(bad)}} {?has/have} missing or non-finite values (NA, NaN or Inf).",
                     x = "{detail}.",
                     i = "Impute or drop those rows first (e.g. {.code na.omit()})."))
  }
  expanded <- list()
  for (col in covariates) {
    x <- data[[col]]
    if (is.factor(x) || is.character(x) || is.logical(x)) {
      lev <- if (is.factor(x)) levels(droplevels(x)) else sort(unique(as.character(x)))
      if (length(lev) < 2L) {
        cli::cli_abort(c("Covariate {.field {col}} is constant (single level {.val {lev}}).",
                         i = "Drop it from {.arg covariates}."))
      }
      cli::cli_inform(c(i = "Covariate {.field {col}} expanded into {length(lev) - 1} indicator{?s}; reference level {.val {lev[1]}}."))
      for (l in lev[-1L]) expanded[[paste0(col, l)]] <- list(col = col, level = l)
    } else if (is.numeric(x)) {
      expanded[[col]] <- list(col = col, level = NULL)
    } else {
      cli::cli_abort(c("Covariate {.field {col}} is not numeric (class {.cls {class(x)}}).",
                       i = "Convert it, or build numeric columns with {.fn model.matrix}."))
    }
  }
  X <- matrix(0, nrow = n, ncol = length(expanded), dimnames = list(NULL, names(expanded)))
  for (j in seq_along(expanded)) {
    e <- expanded[[j]]
    x <- data[[e$col]]
    X[, j] <- if (is.null(e$level)) as.double(x) else as.double(as.character(x) == e$level)
  }
  constant <- colnames(X)[vapply(seq_len(ncol(X)), function(j) {
    v <- X[, j]
    all(v == v[1L])
  }, logical(1))]
  if (length(constant)) {
    cli::cli_abort(c("Covariate{?s} {.field {constant}} {?is/are} constant.",
                     i = "Drop {cli::qty(length(constant))}{?it/them} from {.arg covariates}: a constant carries no information."))
  }
  X
}
