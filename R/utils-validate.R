# Validation and conversion helpers of causal_data(): each error names the column and the fix.
# The table is handled as a named list of columns (a shallow view: the user's data.frame or
# data.table is never modified); formula terms are evaluated into new entries of that list.

as_column_list <- function(data) {
  if (is.null(data)) fd_abort("data", "Supply the table as {.arg data}.")
  if (is.matrix(data)) {
    if (is.null(colnames(data))) {
      fd_abort("data", c("The matrix {.arg data} has no column names.",
                         i = "Set them with {.code colnames(data) <- ...}."))
    }
    data <- as.data.frame(data, stringsAsFactors = FALSE)
  }
  if (!is.data.frame(data)) {
    fd_abort("data", c("{.arg data} must be a data.frame, data.table or numeric matrix.",
                       x = "It is a {.cls {class(data)}}."))
  }
  dup <- unique(names(data)[duplicated(names(data))])
  if (length(dup)) {
    fd_abort("column", c("{.arg data} has duplicated column names: {.field {dup}}.",
                         i = "Rename them, e.g. with {.code make.unique(names(data))}."))
  }
  if (nrow(data) < 2L) {
    fd_abort("data", "{.arg data} has {nrow(data)} row{?s}; a causal analysis needs at least 2.")
  }
  list(columns = stats::setNames(lapply(seq_along(data), function(j) data[[j]]), names(data)),
       n = nrow(data))
}

# A single string names a column (of `cluster` or `weights`); anything else (a vector of
# values, NULL) does not.
column_name_given <- function(x) if (is.character(x) && length(x) == 1L) x else NULL

# Formula `outcome ~ treatment | covariates`. Bare names stay column names; expressions are
# evaluated in the data (and the formula's environment) and added as columns named by their
# text; a covariate part with anything but bare names goes through model.matrix().
formula_columns <- function(formula, columns, n, role_columns) {
  if (length(formula) != 3L) {
    fd_abort("formula", "The formula needs an outcome: {.code y ~ d | x1 + x2}.")
  }
  rhs <- formula[[3L]]
  if (!is.call(rhs) || !identical(rhs[[1L]], as.name("|"))) {
    fd_abort("formula", c("The formula must separate treatment and covariates with {.code |}.",
                          i = "For example {.code y ~ d | x1 + x2} or {.code y ~ d | .}."))
  }
  env <- environment(formula)
  if (is.null(env)) env <- parent.frame()
  if (length(all.vars(rhs[[2L]])) != 1L) {
    fd_abort("formula", "The formula must name exactly one treatment, not {.code {deparse1(rhs[[2L]])}}.")
  }
  outcome <- formula_term(formula[[2L]], columns, n, env, "outcome")
  columns <- outcome$columns
  treatment <- formula_term(rhs[[2L]], columns, n, env, "treatment")
  columns <- treatment$columns
  defining <- unique(c(outcome$name, treatment$name, all.vars(formula[[2L]]), all.vars(rhs[[2L]])))
  covariates <- formula_covariates(rhs[[3L]], columns, n, env, c(defining, role_columns), defining)
  list(columns = covariates$columns, outcome = outcome$name, treatment = treatment$name,
       covariates = covariates$names)
}

formula_term <- function(expr, columns, n, env, what) {
  if (is.name(expr)) return(list(name = as.character(expr), columns = columns))
  label <- deparse1(expr)
  value <- evaluate_formula_part(eval(expr, columns, env), sprintf("%s %s", what, label))
  if (!is.atomic(value) || is.matrix(value) || length(value) != n) {
    fd_abort("formula", c("The {what} {.code {label}} must evaluate to one value per row ({n}).",
                          x = "It has length {length(value)}."))
  }
  columns[[label]] <- value
  list(name = label, columns = columns)
}

formula_covariates <- function(expr, columns, n, env, used, defining) {
  others <- setdiff(names(columns), used)
  expr <- expand_dot(expr, others)
  if (is.null(expr)) return(list(names = others, columns = columns))
  leaked <- intersect(all.vars(expr), defining)
  if (length(leaked)) {
    fd_abort("column", c("The covariates of the formula use {.field {leaked}}, which define{?s/} the outcome or the treatment.",
                         i = "Covariates must be measured before the treatment; drop {.field {leaked}} from them."))
  }
  terms <- tryCatch(stats::terms(stats::as.formula(call("~", expr), env = env)),
                    error = function(e) {
                      fd_abort("formula", c("The covariate part of the formula is not valid.",
                                            x = conditionMessage(e)))
                    })
  labels <- attr(terms, "term.labels")
  if (length(labels) == 0L) {
    fd_abort("formula", "The formula names no covariates after {.code |}.")
  }
  if (attr(terms, "intercept") == 1L && all(labels %in% names(columns))) {
    return(list(names = labels, columns = columns))
  }
  missing_vars <- setdiff(all.vars(expr), c(names(columns), ls(env, all.names = TRUE)))
  if (length(missing_vars)) {
    fd_abort("column", c("Covariate column{?s} {.field {missing_vars}} not found in {.arg data}.",
                         i = "Available columns: {.field {names(columns)}}."))
  }
  design <- evaluate_formula_part({
    frame <- stats::model.frame(terms, data = columns, na.action = stats::na.pass)
    stats::model.matrix(terms, frame)
  }, sprintf("covariates %s", deparse1(expr)))
  design <- design[, colnames(design) != "(Intercept)", drop = FALSE]
  if (nrow(design) != n) {
    fd_abort("formula", "The covariate part {.code {deparse1(expr)}} gave {nrow(design)} rows for {n}.")
  }
  clash <- intersect(colnames(design), c(used, names(columns)))
  same_column <- function(nm) {
    x <- columns[[nm]]
    (is.numeric(x) || is.logical(x)) && identical(unname(design[, nm]), as.double(x))
  }
  clash <- clash[!vapply(clash, same_column, logical(1))]
  if (length(clash)) {
    fd_abort("formula", "Expanded covariate{?s} {.field {clash}} would overwrite column{?s} of {.arg data}; rename {?it/them}.")
  }
  for (j in seq_len(ncol(design))) columns[[colnames(design)[j]]] <- unname(design[, j])
  list(names = colnames(design), columns = columns)
}

# Evaluates a part of the user's formula: its errors and warnings come back classed.
evaluate_formula_part <- function(code, label) {
  tryCatch(withCallingHandlers(code, warning = function(w) {
    fd_warn("formula", "Evaluating the {label} of the formula: {conditionMessage(w)}.")
    invokeRestart("muffleWarning")
  }), error = function(e) {
    fd_abort("formula", c("The {label} of the formula could not be evaluated.",
                          x = conditionMessage(e)))
  })
}

# Replaces `.` in a covariate expression by the sum of the other columns; NULL for a lone `.`
# with nothing else (every other column, handled by resolve_covariates()).
expand_dot <- function(expr, others) {
  if (identical(expr, as.name("."))) return(NULL)
  if (!"." %in% all.names(expr)) return(expr)
  if (!length(others)) fd_abort("formula", "{.code .} in the formula matches no column.")
  dot <- str2lang(paste(sprintf("`%s`", others), collapse = " + "))
  substitute_dot <- function(e) {
    if (identical(e, as.name("."))) return(dot)
    if (is.call(e)) for (i in seq_along(e)[-1L]) e[[i]] <- substitute_dot(e[[i]])
    e
  }
  substitute_dot(expr)
}

check_column_name <- function(name, what, columns) {
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    fd_abort("argument", "{.arg {what}} must be a single column name, not {.val {format_value(name)}}.")
  }
  if (!name %in% names(columns)) {
    fd_abort("column", c("The {what} column {.field {name}} is not in {.arg data}.",
                         i = "Available columns: {.field {names(columns)}}."))
  }
}

resolve_covariates <- function(covariates, available, used) {
  if (is.null(covariates) || identical(covariates, ".")) covariates <- setdiff(available, used)
  if (!is.character(covariates) || length(covariates) == 0L || anyNA(covariates)) {
    fd_abort("argument", c("No covariates: {.arg covariates} must name at least one column.",
                           x = "It is {.val {format_value(covariates)}}."))
  }
  dup <- unique(covariates[duplicated(covariates)])
  if (length(dup)) fd_abort("column", "Covariate{?s} {.field {dup}} {?is/are} listed twice.")
  unknown <- setdiff(covariates, available)
  if (length(unknown)) {
    fd_abort("column", c("Covariate column{?s} {.field {unknown}} not found in {.arg data}.",
                         i = "Available columns: {.field {available}}."))
  }
  overlap <- intersect(covariates, used[1:2])
  if (length(overlap)) {
    fd_abort("column", c("{.field {overlap}} cannot be both a covariate and the outcome or treatment.",
                         i = "Drop {.field {overlap}} from {.arg covariates}."))
  }
  covariates
}

abort_non_finite <- function(x, name, what) {
  bad <- sum(!is.finite(x))
  if (bad > 0L) {
    hint <- if (identical(make.names(name), name)) {
      "Impute or drop those rows first, e.g. {.code data[is.finite(data${name}), ]}."
    } else {
      "Impute or drop those rows first."
    }
    fd_abort("non_finite", c("The {what} column {.field {name}} has {bad} missing or non-finite value{?s} (NA, NaN or Inf).",
                             i = hint))
  }
}

numeric_column <- function(x, name, what) {
  if (is.logical(x)) x <- as.numeric(x)
  if (!is.numeric(x)) {
    fd_abort("type", c("The {what} column {.field {name}} must be numeric.",
                       x = "It is a {.cls {class(x)}}.",
                       i = "Convert it first, e.g. {.code as.numeric()}."))
  }
  x <- as.double(x)
  abort_non_finite(x, name, what)
  x
}

# A constant outcome carries no effect to estimate; one with almost every row equal is warned.
check_outcome_variation <- function(y, name) {
  # A value shared by more than half the rows is the median, so for n >= 20 the rows that
  # differ from the mode are counted without tabulating every value.
  if (length(y) >= 20L) {
    mode <- stats::median(y)
    others <- sum(y != mode)
    if (others >= 10L) return(invisible())
  } else {
    values <- unique(y)
    counts <- tabulate(match(y, values))
    mode <- values[which.max(counts)]
    others <- length(y) - max(counts)
  }
  if (others == 0L) {
    fd_abort("constant", c("The outcome column {.field {name}} is constant ({.val {y[1]}}).",
                           i = "An effect on a constant outcome cannot be estimated; check the column."))
  }
  if (others < 10L) {
    fd_warn("constant_outcome", c("The outcome column {.field {name}} is nearly constant: only {others} row{?s} differ{?s/} from {.val {mode}}.",
                                  i = "Estimates and standard errors will be unreliable; collect more events or use another outcome."))
  }
}

treatment_column <- function(x, name, control) {
  if (!is.null(control) && (!is.atomic(control) || length(control) != 1L || is.na(control))) {
    fd_abort("argument", "{.arg control} must be a single value of the treatment, not {.val {format_value(control)}}.")
  }
  if (anyNA(x)) {
    fd_abort("non_finite", c("The treatment column {.field {name}} has {sum(is.na(x))} missing value{?s}.",
                             i = "Drop those rows first."))
  }
  if (is.factor(x) || is.character(x) || is.logical(x)) {
    levels <- if (is.factor(x)) levels(droplevels(x)) else sort(unique(as.character(x)))
    if (is.logical(x)) levels <- c("FALSE", "TRUE")[c("FALSE", "TRUE") %in% as.character(x)]
    return(binary_treatment(as.character(x), levels, name, control))
  }
  if (!is.numeric(x)) {
    fd_abort("type", c("The treatment column {.field {name}} must be numeric, logical, factor or character.",
                       x = "It is a {.cls {class(x)}}."))
  }
  x <- as.double(x)
  abort_non_finite(x, name, "treatment")
  values <- sort(unique(x))
  if (length(values) == 2L) {
    if (is.null(control) && !all(values == c(0, 1))) {
      fd_inform("binary_treatment", c(i = "Treatment {.field {name}} has two values ({.val {values}}): taken as binary with control {.val {values[1]}} and treated {.val {values[2]}}.",
                                      " " = "Pass {.code control =} to choose the control value."))
    }
    labels <- format(values, digits = 15, trim = TRUE)
    out <- binary_treatment(labels, labels, name,
                            if (is.null(control)) NULL else format(control, digits = 15, trim = TRUE))
    out$d <- as.double(x == values[match(out$levels[2L], labels)])
    return(out)
  }
  if (length(values) < 2L) {
    fd_abort("constant", c("The treatment column {.field {name}} has a single value ({.val {values}}).",
                           i = "A causal contrast needs variation in the treatment."))
  }
  if (!is.null(control)) {
    fd_abort("argument", c("{.arg control} applies to a two-valued treatment; {.field {name}} is continuous ({length(values)} values).",
                           i = "Drop {.arg control}, or recode the treatment."))
  }
  list(d = x, type = "continuous", levels = NULL)
}

# A treatment of two or more levels as arm indices 0..K-1 with the control level first (0/1
# for two levels, type "binary"; type "multi" for more).
binary_treatment <- function(labels, levels, name, control) {
  if (length(levels) < 2L) {
    fd_abort("constant", c("The treatment column {.field {name}} has a single level ({.val {levels}}).",
                           i = "A causal contrast needs treated and control rows."))
  }
  if (!is.null(control)) {
    if (!is.atomic(control) || length(control) != 1L || is.na(control) || !as.character(control) %in% levels) {
      fd_abort("argument", "{.arg control} = {.val {format_value(control)}} is not a level of {.field {name}} ({.val {levels}}).")
    }
    levels <- c(as.character(control), setdiff(levels, as.character(control)))
  }
  if (length(levels) > 2L) {
    return(list(d = as.double(match(labels, levels) - 1L), type = "multi", levels = levels))
  }
  list(d = as.double(labels == levels[2L]), type = "binary", levels = levels)
}

# `x` names a column of the table or holds the values (length n); returns the values and a label.
column_or_vector <- function(x, what, columns, n) {
  if (!is.null(column_name_given(x))) {
    check_column_name(x, what, columns)
    if (!is.atomic(columns[[x]])) {
      fd_abort("type", c("The {what} column {.field {x}} must hold one value per row.",
                         x = "It is a {.cls {class(columns[[x]])}} column."))
    }
    return(list(values = columns[[x]], name = x))
  }
  if (!is.atomic(x) || is.null(x)) {
    fd_abort("argument", c("{.arg {what}} must be a column name or a vector of one value per row.",
                           x = "It is a {.cls {class(x)}}."))
  }
  if (length(x) != n) {
    fd_abort("length", c("{.arg {what}} has length {length(x)} but {.arg data} has {n} rows.",
                         i = "Give a column name or one value per row."))
  }
  list(values = x, name = what)
}

cluster_column <- function(cluster, columns, n) {
  column <- column_or_vector(cluster, "cluster", columns, n)
  cluster <- column$values
  name <- column$name
  if (anyNA(cluster)) {
    fd_abort("non_finite", c("The cluster column {.field {name}} has {sum(is.na(cluster))} missing value{?s}.",
                             i = "Give every row a cluster id."))
  }
  ids <- as.integer(factor(cluster))
  if (max(ids) < 2L) {
    fd_abort("constant", c("The cluster column {.field {name}} has a single cluster.",
                           i = "Cluster-robust inference needs many clusters; drop {.arg cluster}."))
  }
  ids
}

weights_column <- function(weights, columns, n, treat) {
  column <- column_or_vector(weights, "weights", columns, n)
  name <- column$name
  w <- numeric_column(column$values, name, "weights")
  if (any(w < 0)) {
    fd_abort("weights", c("The weights column {.field {name}} has {sum(w < 0)} negative value{?s}.",
                          i = "Observation weights must be >= 0."))
  }
  if (treat$type != "continuous") {
    for (arm in seq_along(treat$levels) - 1L) {
      if (!any(w[treat$d == arm] > 0)) {
        fd_abort("weights", c("The weights column {.field {name}} is zero on every row of arm {.val {treat$levels[arm + 1L]}}.",
                              i = "Each arm needs rows with positive weight."))
      }
    }
  } else if (!any(w > 0)) {
    fd_abort("weights", "The weights column {.field {name}} is zero everywhere.")
  }
  w
}

# The covariate matrix: numeric columns as double, factor/character/logical columns expanded
# into indicators of every level but the first (renamed `<column>_<level>` when the plain
# name is taken). One allocation of n x p doubles.
covariate_matrix <- function(columns, n, covariates) {
  non_finite <- vapply(covariates, function(col) {
    x <- columns[[col]]
    if (is.numeric(x)) sum(!is.finite(x)) else sum(is.na(x))
  }, numeric(1))
  if (any(non_finite > 0)) {
    bad <- non_finite[non_finite > 0]
    detail <- paste0(names(bad), ": ", bad, " row", ifelse(bad == 1, "", "s"), collapse = ", ")
    fd_abort("non_finite", c("Covariate{?s} {.field {names(bad)}} {?has/have} missing or non-finite values (NA, NaN or Inf).",
                             x = "{detail}.",
                             i = "Impute or drop those rows first (e.g. {.code na.omit()})."))
  }
  expanded <- list()
  taken <- covariates[vapply(covariates, function(col) is.numeric(columns[[col]]), logical(1))]
  for (col in covariates) {
    x <- columns[[col]]
    if (is.factor(x) || is.character(x) || is.logical(x)) {
      lev <- if (is.factor(x)) levels(droplevels(x)) else sort(unique(as.character(x)))
      if (length(lev) < 2L) {
        fd_abort("constant", c("Covariate {.field {col}} is constant (single level {.val {lev}}).",
                               i = "Drop it from {.arg covariates}."))
      }
      fd_inform("expanded", c(i = "Covariate {.field {col}} expanded into {length(lev) - 1} indicator{?s}; reference level {.val {lev[1]}}."))
      for (l in lev[-1L]) {
        label <- indicator_name(col, l, c(taken, names(expanded)))
        taken <- c(taken, label)
        expanded[[label]] <- list(col = col, level = l)
      }
    } else if (is.numeric(x)) {
      expanded[[col]] <- list(col = col, level = NULL)
    } else {
      fd_abort("type", c("Covariate {.field {col}} is not numeric (class {.cls {class(x)}}).",
                         i = "Convert it, or build numeric columns with {.fn model.matrix}."))
    }
  }
  X <- matrix(0, nrow = n, ncol = length(expanded), dimnames = list(NULL, names(expanded)))
  for (j in seq_along(expanded)) {
    e <- expanded[[j]]
    x <- columns[[e$col]]
    X[, j] <- if (is.null(e$level)) as.double(x) else as.double(as.character(x) == e$level)
  }
  constant <- colnames(X)[vapply(seq_len(ncol(X)), function(j) {
    v <- X[, j]
    all(v == v[1L])
  }, logical(1))]
  if (length(constant)) {
    fd_abort("constant", c("Covariate{?s} {.field {constant}} {?is/are} constant.",
                           i = "Drop {cli::qty(length(constant))}{?it/them} from {.arg covariates}: a constant carries no information."))
  }
  X
}

indicator_name <- function(col, level, taken) {
  label <- paste0(col, level)
  if (!label %in% taken) return(label)
  label <- make.unique(c(taken, paste0(col, "_", level)), sep = "_")[length(taken) + 1L]
  fd_inform("renamed", c(i = "The indicator of level {.val {level}} of {.field {col}} is named {.field {label}}: {.field {paste0(col, level)}} is taken."))
  label
}

# A covariate that is (almost) a copy of the outcome makes every effect vanish: it is measured
# after the outcome or derived from it. Screened on at most 100,000 rows, confirmed on all.
check_outcome_copies <- function(X, y, outcome) {
  n <- length(y)
  rows <- if (n > 1e5) unique(round(seq(1, n, length.out = 1e5))) else seq_len(n)
  screen <- suppressWarnings(abs(stats::cor(X[rows, , drop = FALSE], y[rows])))
  candidates <- which(!is.na(screen) & screen > 0.9999)
  copies <- candidates[vapply(candidates, function(j) {
    isTRUE(abs(suppressWarnings(stats::cor(X[, j], y))) > 0.9999)
  }, logical(1))]
  if (length(copies)) {
    k <- length(copies)
    fd_warn("outcome_copy", c("Covariate{cli::qty(k)}{?s} {.field {colnames(X)[copies]}} {cli::qty(k)}{?is/are} (almost) a copy of the outcome {.field {outcome}} (correlation above 0.9999).",
                              i = "A covariate measured after the outcome or derived from it absorbs the effect; drop it."))
  }
}

# An estimator's treatment types (of "binary", "multi", "continuous"): a named error naming the
# estimator that fits the treatment otherwise.
check_treatment_type <- function(spec, what, allowed = "binary") {
  type <- spec$treatment_type
  if (type %in% allowed) return(invisible(spec))
  what <- if (startsWith(what, "dml_")) cli::format_inline("{.fn {what}}") else what
  needs <- paste(c(binary = "binary", multi = "multi-arm", continuous = "continuous")[allowed],
                 collapse = " or ")
  if (type == "multi") {
    fd_abort("treatment", c("{what} needs a {needs} treatment; {.field {spec$treatment}} has {length(spec$treatment_levels)} arms.",
                            i = "Use {.fn dml_multi_irm} for several arms against a control."))
  }
  fd_abort("treatment", c("{what} needs a {needs} treatment; {.field {spec$treatment}} is continuous.",
                          i = "Use {.fn dml_plr} for a continuous treatment."))
}
