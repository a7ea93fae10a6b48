# A catalogue of bad or unusual inputs for every exported function.
#
# Each case is a row of a table: a label, a `setup()` that builds the case's inputs (small
# data, fixed seeds), a `run(i)` that makes the call on those inputs, the expected condition
# (an error of class fastdml_error_<what>, a warning fastdml_warning_<what>, a message
# fastdml_message_<what>, or "ok" with a check of the result) and a regular expression that the
# message must match: it names the argument or the column. For every case the harness checks
#   1. the class of the condition (and, for errors, the parent class fastdml_error);
#   2. that its message names the argument or column (regexp, whitespace-normalised);
#   3. that every input object (data.frame, data.table, matrix, vectors, folds, nuisance lists,
#      fits) is unchanged: a deep copy is taken before the call and compared with identical();
# and also that no internal message of the C++ core ("FoldPlan:", "LinearLearner:", ...,
# fastdml_error_internal) reaches the user and that no unclassed R warning escapes (unless the
# case says the warning comes from the user's own expression).
#
# Cases are written with the behaviour that SHOULD happen; a case that fails documents an input
# the package does not handle well yet.

# ---------------------------------------------------------------------------------------------
# Data and helpers

COVS <- c("age", "income", "tenure", "visits")

# make_test_data() with distinctive column names, so that messages can be checked for them.
bad_df <- function(n = 100, seed = 1, binary = TRUE, ...) {
  df <- make_test_data(n = n, p = 4, seed = seed, binary_d = binary, ...)
  names(df)[1:6] <- c(COVS, "promo", "spend")
  df
}

spec_of <- function(df, ...) causal_data(df, "spend", "promo", COVS, ...)

lm_fit <- function(x, y) stats::lm.fit(cbind(1, x), y)$coefficients
lm_pred <- function(model, x) drop(cbind(1, x) %*% model)
prob_pred <- function(model, x) pmin(pmax(lm_pred(model, x), 0.05), 0.95)

# A deep copy that shares no memory with `x` (so that in-place modification is detectable);
# data.tables, also inside lists, are copied with data.table::copy().
deep_copy <- function(x) {
  if (data.table::is.data.table(x)) return(data.table::copy(x))
  if (is.function(x) || is.environment(x)) return(x)
  if (is.list(x) && !is.data.frame(x)) {
    out <- lapply(x, deep_copy)
    attributes(out) <- attributes(x)
    return(out)
  }
  unserialize(serialize(x, NULL))
}

# Evaluates `expr`, recording (and muffling) every warning and message and catching the error.
capture_conditions <- function(expr) {
  warnings <- list()
  messages <- list()
  error <- NULL
  value <- tryCatch(
    withCallingHandlers(expr,
      warning = function(w) {
        warnings[[length(warnings) + 1L]] <<- w
        invokeRestart("muffleWarning")
      },
      message = function(m) {
        messages[[length(messages) + 1L]] <<- m
        invokeRestart("muffleMessage")
      }),
    error = function(e) {
      error <<- e
      NULL
    })
  list(value = value, error = error, warnings = warnings, messages = messages)
}

flat_message <- function(cnd) gsub("\\s+", " ", conditionMessage(cnd))

describe_condition <- function(cnd) {
  if (is.null(cnd)) return("no condition")
  sprintf("<%s> \"%s\"", paste(class(cnd), collapse = "/"), flat_message(cnd))
}

describe_all <- function(res) {
  parts <- c(if (!is.null(res$error)) paste("error", describe_condition(res$error)),
             vapply(res$warnings, function(w) paste("warning", describe_condition(w)), ""),
             vapply(res$messages, function(m) paste("message", describe_condition(m)), ""))
  if (length(parts) == 0L) "nothing (the call succeeded silently)" else paste(parts, collapse = "; ")
}

internal_pattern <- "FoldPlan:|LinearLearner:|LogisticLearner:|DmlInference:|Crossfit:|Internal error in fastdml"

run_case <- function(case) {
  inputs <- suppressWarnings(suppressMessages(case$setup()))
  before <- lapply(inputs, deep_copy)
  res <- capture_conditions(case$run(inputs))
  label <- case$label

  if (case$type == "error") {
    err <- res$error
    expect(inherits(err, case$class) && inherits(err, "fastdml_error"),
           sprintf("[%s] expected an error of class <%s>; got %s", label, case$class, describe_all(res)))
    if (!is.null(err)) {
      expect(grepl(case$regexp, flat_message(err)),
             sprintf("[%s] the error message does not match /%s/: %s", label, case$regexp, flat_message(err)))
    }
  } else if (case$type %in% c("warning", "message")) {
    found <- if (case$type == "warning") res$warnings else res$messages
    found <- Filter(function(cnd) inherits(cnd, case$class), found)
    expect(length(found) > 0L,
           sprintf("[%s] expected a %s of class <%s>; got %s", label, case$type, case$class, describe_all(res)))
    if (length(found)) {
      ok <- vapply(found, function(cnd) grepl(case$regexp, flat_message(cnd)), logical(1))
      expect(any(ok), sprintf("[%s] no %s of class <%s> matches /%s/: %s", label, case$type, case$class,
                              case$regexp, paste(vapply(found, flat_message, ""), collapse = " | ")))
    }
    expect(is.null(res$error), sprintf("[%s] unexpected error: %s", label, describe_condition(res$error)))
  } else {
    expect(is.null(res$error), sprintf("[%s] unexpected error: %s", label, describe_condition(res$error)))
    if (is.null(res$error) && !is.null(case$check)) case$check(res$value, inputs, res)
  }

  # No C++ internals reach the user.
  all_cnds <- c(list(res$error), res$warnings, res$messages)
  all_cnds <- Filter(Negate(is.null), all_cnds)
  leaked <- Filter(function(cnd) inherits(cnd, "fastdml_error_internal") ||
                     grepl(internal_pattern, flat_message(cnd)), all_cnds)
  expect(length(leaked) == 0L,
         sprintf("[%s] an internal message reached the user: %s", label,
                 paste(vapply(leaked, describe_condition, ""), collapse = "; ")))

  # Every warning is classed (except those the user's own expression raises).
  if (!isTRUE(case$base_warnings)) {
    stray <- Filter(function(w) !inherits(w, "fastdml_warning"), res$warnings)
    expect(length(stray) == 0L,
           sprintf("[%s] unclassed warning(s) escaped: %s", label,
                   paste(vapply(stray, describe_condition, ""), collapse = "; ")))
  }

  # Inputs are never modified.
  for (name in names(inputs)) {
    expect(identical(inputs[[name]], before[[name]]),
           sprintf("[%s] the input `%s` was modified by the call", label, name))
  }
  invisible(res)
}

# ---------------------------------------------------------------------------------------------
# The catalogue

cases <- list()

add_case <- function(label, type, what, regexp, setup, run, check = NULL, base_warnings = FALSE) {
  if (label %in% names(cases)) stop("duplicated case label: ", label)
  prefix <- switch(type, error = "fastdml_error", warning = "fastdml_warning",
                   message = "fastdml_message", ok = NA_character_)
  class <- if (is.null(what) || is.na(prefix)) prefix else paste0(prefix, "_", what)
  cases[[label]] <<- list(label = label, type = type, class = class, regexp = regexp,
                          setup = setup, run = run, check = check, base_warnings = base_warnings)
}

err <- function(label, what, regexp, setup, run, ...) add_case(label, "error", what, regexp, setup, run, ...)
warn <- function(label, what, regexp, setup, run, ...) add_case(label, "warning", what, regexp, setup, run, ...)
inform <- function(label, what, regexp, setup, run, ...) add_case(label, "message", what, regexp, setup, run, ...)
ok <- function(label, setup, run, check, ...) add_case(label, "ok", NULL, NA_character_, setup, run, check = check, ...)

# Common setups
with_df <- function(edit = identity, ...) {
  force(edit)
  args <- list(...)
  function() list(df = edit(do.call(bad_df, args)))
}
edit_col <- function(col, fun) function(df) {
  df[[col]] <- fun(df[[col]], df)
  df
}
cd <- function(...) {
  extra <- list(...)
  function(i) do.call(causal_data, c(list(i$df, "spend", "promo", COVS), extra))
}
spec_setup <- function(binary = TRUE, n = 100, seed = 1) {
  function() {
    df <- bad_df(n = n, seed = seed, binary = binary)
    list(df = df, spec = spec_of(df))
  }
}

# ---- causal_data(): data.frame input ----------------------------------------------------------

err("outcome with NA", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 3, NA))), cd())
err("outcome with NaN", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 5, NaN))), cd())
err("outcome with Inf", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 7, -Inf))), cd())
err("binary treatment with NA", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x, 2, NA))), cd())
err("logical treatment with NA", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x == 1, 4, NA))), cd())
err("continuous treatment with Inf", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x, 9, Inf)), binary = FALSE), cd())
err("continuous treatment with NaN", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x, 9, NaN)), binary = FALSE), cd())
err("covariate with NA", "non_finite", "income",
    with_df(edit_col("income", function(x, df) replace(x, c(3, 8), NA))), cd())
err("covariates with NaN and Inf", "non_finite", "age.*visits",
    with_df(function(df) {
      df$age[1] <- NaN
      df$visits[2] <- Inf
      df
    }), cd())
err("factor covariate with NA", "non_finite", "region",
    with_df(function(df) {
      df$region <- factor(rep(c("north", "south"), length.out = nrow(df)))
      df$region[6] <- NA
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "region")))
err("character outcome", "type", "spend",
    with_df(edit_col("spend", function(x, df) format(x))), cd())
err("factor outcome", "type", "spend",
    with_df(edit_col("spend", function(x, df) factor(x > 0))), cd())
err("Date treatment", "type", "promo",
    with_df(edit_col("promo", function(x, df) as.Date("2024-01-01") + x)), cd())
err("complex treatment", "type", "promo",
    with_df(edit_col("promo", function(x, df) complex(real = x)), binary = FALSE), cd())
err("Date covariate", "type", "signup",
    with_df(function(df) {
      df$signup <- as.Date("2020-01-01") + seq_len(nrow(df))
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "signup")))
err("list column as covariate", "type", "tenure",
    with_df(function(df) {
      df$tenure <- as.list(df$tenure)
      df
    }), cd())
err("constant outcome", "constant", "spend",
    with_df(edit_col("spend", function(x, df) rep(2.5, length(x)))), cd())
err("treatment with a single value", "constant", "promo",
    with_df(edit_col("promo", function(x, df) rep(1, length(x)))), cd())
err("character treatment with one level", "constant", "promo",
    with_df(edit_col("promo", function(x, df) rep("email", length(x)))), cd())
err("factor treatment with one level in use", "constant", "promo",
    with_df(edit_col("promo", function(x, df) factor(rep("email", length(x)), levels = c("none", "email")))),
    cd())
err("constant numeric covariate", "constant", "tenure",
    with_df(edit_col("tenure", function(x, df) rep(3, length(x)))), cd())
err("constant character covariate", "constant", "region",
    with_df(function(df) {
      df$region <- "north"
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "region")))
err("factor treatment with three levels", "treatment", "promo",
    with_df(edit_col("promo", function(x, df) factor(rep(c("none", "email", "sms"), length.out = length(x))))),
    cd())
err("outcome equal to treatment", "column", "spend",
    with_df(), function(i) causal_data(i$df, "spend", "spend", COVS))
err("covariate is the outcome", "column", "spend",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "spend")))
err("covariate is the treatment", "column", "promo",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "promo")))
err("covariate listed twice", "column", "income",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "income", "income")))
err("unknown covariate", "column", "salary",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "salary")))
err("unknown outcome", "column", "revenue",
    with_df(), function(i) causal_data(i$df, "revenue", "promo", COVS))
err("unknown treatment", "column", "coupon",
    with_df(), function(i) causal_data(i$df, "spend", "coupon", COVS))
err("two outcome names", "argument", "`outcome`",
    with_df(), function(i) causal_data(i$df, c("spend", "age"), "promo", c("income", "tenure")))
err("outcome not given", "argument", "`outcome`",
    with_df(), function(i) causal_data(i$df, treatment = "promo", covariates = COVS))
err("covariates as column numbers", "argument", "`covariates`",
    with_df(), function(i) causal_data(i$df, "spend", "promo", 1:2))
err("empty covariates", "argument", "`covariates`",
    with_df(), function(i) causal_data(i$df, "spend", "promo", character()))
err("no covariate left after outcome and treatment", "argument", "`covariates`",
    with_df(function(df) df[, c("spend", "promo")]), function(i) causal_data(i$df, "spend", "promo"))
err("duplicated column names in a data.frame", "column", "income",
    with_df(function(df) {
      names(df)[3] <- "income"
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "visits")))
err("data is a plain list", "data", "`data`",
    function() list(lst = as.list(bad_df())), function(i) causal_data(i$lst, "spend", "promo", COVS))
err("data with a single row", "data", "`data`.*1 row",
    with_df(function(df) df[1, ]), cd())
err("data is NULL", "data", "`data`",
    function() list(), function(i) causal_data(NULL, "spend", "promo", COVS))
err("control that is not a level", "argument", "`control`",
    with_df(), cd(control = 5))
err("control with a continuous treatment", "argument", "`control`",
    with_df(binary = FALSE), cd(control = 0))
err("control NA", "argument", "`control`",
    with_df(), cd(control = NA))

# ---- causal_data(): weights and clusters ------------------------------------------------------

weights_setup <- function(edit) function() {
  df <- bad_df()
  list(df = df, w = edit(seq(0.5, 2, length.out = nrow(df)), df))
}
err("weights vector with NA", "non_finite", "weights",
    weights_setup(function(w, df) replace(w, 3, NA)), function(i) spec_of(i$df, weights = i$w))
err("weights vector with Inf", "non_finite", "weights",
    weights_setup(function(w, df) replace(w, 3, Inf)), function(i) spec_of(i$df, weights = i$w))
err("weights column with NaN", "non_finite", "wt",
    with_df(function(df) {
      df$wt <- replace(rep(1, nrow(df)), 10, NaN)
      df
    }), function(i) spec_of(i$df, weights = "wt"))
err("negative weights", "weights", "weights",
    weights_setup(function(w, df) replace(w, c(2, 4), -1)), function(i) spec_of(i$df, weights = i$w))
err("zero weights on the whole treated arm", "weights", "weights.*arm",
    weights_setup(function(w, df) w * (df$promo == 0)), function(i) spec_of(i$df, weights = i$w))
err("zero weights everywhere with a continuous treatment", "weights", "weights",
    function() {
      df <- bad_df(binary = FALSE)
      list(df = df, w = numeric(nrow(df)))
    }, function(i) spec_of(i$df, weights = i$w))
err("weights vector of the wrong length", "length", "`weights`",
    weights_setup(function(w, df) w[-1]), function(i) spec_of(i$df, weights = i$w))
err("weights naming an unknown column", "column", "wt2",
    with_df(), function(i) spec_of(i$df, weights = "wt2"))
err("character weights column", "type", "wt",
    with_df(function(df) {
      df$wt <- as.character(seq_len(nrow(df)))
      df
    }), function(i) spec_of(i$df, weights = "wt"))
err("weights column that is the outcome", "column", "spend",
    with_df(), function(i) spec_of(i$df, weights = "spend"))

cluster_setup <- function(edit) function() {
  df <- bad_df()
  list(df = df, cl = edit(rep_len(1:20, nrow(df)), df))
}
err("clusters with NA", "non_finite", "cluster",
    cluster_setup(function(cl, df) replace(cl, 5, NA)), function(i) spec_of(i$df, cluster = i$cl))
err("cluster vector of the wrong length", "length", "`cluster`",
    cluster_setup(function(cl, df) cl[-(1:3)]), function(i) spec_of(i$df, cluster = i$cl))
err("a single cluster", "constant", "cluster",
    cluster_setup(function(cl, df) rep(7L, length(cl))), function(i) spec_of(i$df, cluster = i$cl))
err("cluster naming an unknown column", "column", "store",
    with_df(), function(i) spec_of(i$df, cluster = "store"))
err("cluster column that is the treatment", "column", "promo",
    with_df(), function(i) spec_of(i$df, cluster = "promo"))
err("clusters given as a list of the right length", NULL, "`cluster`.*(atomic|vector|list)",
    cluster_setup(function(cl, df) as.list(cl)), function(i) spec_of(i$df, cluster = i$cl))

# ---- causal_data(): data.table input ----------------------------------------------------------

dt_setup <- function(edit = identity) function() list(dt = edit(data.table::as.data.table(bad_df())))
err("data.table outcome with NA", "non_finite", "spend",
    dt_setup(function(dt) {
      data.table::set(dt, 4L, "spend", NA_real_)
      dt
    }), function(i) causal_data(i$dt, "spend", "promo", COVS))
err("data.table with duplicated column names", "column", "income",
    dt_setup(function(dt) data.table::setnames(dt, "tenure", "income")),
    function(i) causal_data(i$dt, "spend", "promo", c("age", "visits")))
err("data.table unknown covariate", "column", "salary",
    dt_setup(), function(i) causal_data(i$dt, "spend", "promo", c("age", "salary")))
err("data.table formula with unknown covariate", "column", "salary",
    dt_setup(), function(i) causal_data(spend ~ promo | age + salary, data = i$dt))
err("data.table negative weights column", "weights", "wt",
    dt_setup(function(dt) data.table::set(dt, j = "wt", value = c(-1, rep(1, nrow(dt) - 1)))),
    function(i) causal_data(i$dt, "spend", "promo", COVS, weights = "wt"))
err("data.table constant covariate via formula", "constant", "tenure",
    dt_setup(function(dt) data.table::set(dt, j = "tenure", value = 1)),
    function(i) causal_data(spend ~ promo | age + tenure, data = i$dt))

# ---- causal_data(): matrix input --------------------------------------------------------------

mat_setup <- function(edit = identity) function() list(m = edit(as.matrix(bad_df())))
err("matrix without column names", "data", "column names",
    mat_setup(unname), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with duplicated column names", "column", "income",
    mat_setup(function(m) {
      colnames(m)[3] <- "income"
      m
    }), function(i) causal_data(i$m, "spend", "promo", c("age", "visits")))
err("character matrix", "type", "spend",
    mat_setup(function(m) {
      out <- matrix(format(m), nrow(m), dimnames = dimnames(m))
      out
    }), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with NaN in a covariate", "non_finite", "visits",
    mat_setup(function(m) {
      m[3, "visits"] <- NaN
      m
    }), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with Inf in the outcome", "non_finite", "spend",
    mat_setup(function(m) {
      m[1, "spend"] <- Inf
      m
    }), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with a single-valued treatment", "constant", "promo",
    mat_setup(function(m) {
      m[, "promo"] <- 0
      m
    }), function(i) causal_data(i$m, "spend", "promo", COVS))

# ---- causal_data(): formula interface ---------------------------------------------------------

err("formula without |", "formula", "\\|",
    with_df(), function(i) causal_data(spend ~ promo + age, data = i$df))
err("formula with two treatments", "formula", "treatment",
    with_df(), function(i) causal_data(spend ~ promo + age | income, data = i$df))
err("formula with an unknown covariate", "column", "salary",
    with_df(), function(i) causal_data(spend ~ promo | age + salary, data = i$df))
err("formula with an unknown variable inside a transform", "column", "salary",
    with_df(), function(i) causal_data(spend ~ promo | age + log(salary), data = i$df))
err("formula with an unknown treatment", "column", "coupon",
    with_df(), function(i) causal_data(spend ~ coupon | age, data = i$df))
err("formula with an outcome transform of an unknown variable", "formula", "log\\(revenue\\)",
    with_df(), function(i) causal_data(log(revenue) ~ promo | age, data = i$df))
err("formula with a failing covariate transform", "formula", "poly\\(age, 200\\)",
    with_df(), function(i) causal_data(spend ~ promo | poly(age, 200), data = i$df))
err("formula with a covariate transform that stops", "formula", "explode\\(age\\)",
    with_df(), function(i) {
      explode <- function(x) stop("cannot transform")
      causal_data(spend ~ promo | explode(age), data = i$df)
    })
err("formula with an outcome transform giving NaN", "non_finite", "log\\(spend\\)",
    with_df(), function(i) causal_data(log(spend) ~ promo | age, data = i$df))
warn("formula whose covariate transform warns", "formula", "coarse\\(income\\)",
     with_df(), function(i) {
       coarse <- function(x) {
         warning("values rounded")
         round(x)
       }
       causal_data(spend ~ promo | age + coarse(income), data = i$df)
     })
err("formula with a covariate term of the wrong length", "formula", "I\\(1:3\\)",
    with_df(), function(i) causal_data(spend ~ promo | age + I(1:3), data = i$df))
err("formula with a one-value outcome", "formula", "mean\\(spend\\)",
    with_df(), function(i) causal_data(mean(spend) ~ promo | age, data = i$df))
err("one-sided formula", "formula", "outcome",
    with_df(), function(i) causal_data(~ promo | age, data = i$df))
err("formula without covariates", "formula", "covariates",
    with_df(), function(i) causal_data(spend ~ promo | 1, data = i$df))
err("formula without data", "data", "`data`",
    function() list(), function(i) causal_data(spend ~ promo | age))
err("formula with the same outcome and treatment", "column", "spend",
    with_df(), function(i) causal_data(spend ~ spend | age, data = i$df))
err("formula with the outcome as a covariate", "column", "spend",
    with_df(), function(i) causal_data(spend ~ promo | age + spend, data = i$df))
err("formula with the treatment as a covariate", "column", "promo",
    with_df(), function(i) causal_data(spend ~ promo | age + promo, data = i$df))
err("formula with a covariate computed from the outcome", "column", "spend",
    with_df(), function(i) causal_data(spend ~ promo | age + I(spend^2), data = i$df))
err("formula with a covariate interacting with the treatment", "column", "promo",
    with_df(), function(i) causal_data(spend ~ promo | age + income:promo, data = i$df))
ok("formula `.` after a transformed outcome leaves the raw outcome out",
   with_df(), function(i) causal_data(log(spend + 20) ~ promo | ., data = i$df),
   check = function(spec, i, res) {
     expect(!"spend" %in% spec$covariates,
            sprintf("the raw outcome `spend` became a covariate: %s", paste(spec$covariates, collapse = ", ")))
   })
err("formula and an explicit treatment argument that disagrees", "argument", "`treatment`",
    with_df(), function(i) causal_data(i$df, spend ~ promo | age, treatment = "visits"))

# ---- causal_data(): messages and warnings -------------------------------------------------------

inform("-1/+1 treatment is binary with a note", "binary_treatment", "promo.*-1",
       with_df(edit_col("promo", function(x, df) 2 * x - 1)), cd())
inform("1/2 treatment is binary with a note", "binary_treatment", "promo.*control 1",
       with_df(edit_col("promo", function(x, df) x + 1)), cd())
inform("character covariate is expanded", "expanded", "region.*east",
       with_df(function(df) {
         df$region <- rep(c("north", "south", "east"), length.out = nrow(df))
         df
       }), function(i) causal_data(i$df, "spend", "promo", c("age", "region")))
inform("logical covariate is expanded", "expanded", "member",
       with_df(function(df) {
         df$member <- df$age > 0
         df
       }), function(i) causal_data(i$df, "spend", "promo", c("income", "member")))
inform("factor covariate in a formula on a data.table is expanded", "expanded", "plan",
       function() {
         dt <- data.table::as.data.table(bad_df())
         data.table::set(dt, j = "plan", value = factor(rep(c("basic", "pro"), length.out = nrow(dt))))
         list(dt = dt)
       }, function(i) causal_data(spend ~ promo | age + plan, data = i$dt))
inform("indicator renamed when its name is taken", "renamed", "region_b",
       with_df(function(df) {
         df$region <- rep(c("a", "b"), length.out = nrow(df))
         df$regionb <- df$age * 2
         df
       }), function(i) causal_data(i$df, "spend", "promo", c("regionb", "region")))
warn("nearly constant outcome", "constant_outcome", "spend",
     with_df(edit_col("spend", function(x, df) replace(numeric(length(x)), 1:4, 1))), cd())

# ---- make_folds() ----------------------------------------------------------------------------

err("make_folds with spec = 1", "argument", "`spec`", function() list(), function(i) make_folds(1))
err("make_folds with a data.frame as spec", "argument", "`spec`",
    with_df(), function(i) make_folds(i$df))
err("make_folds with spec beyond the integer range", "argument", "`spec`",
    function() list(), function(i) make_folds(1e10))
err("make_folds with n_folds larger than n", "folds", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 101))
err("make_folds with n_folds beyond the integer range", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 1e10))
err("make_folds with more folds than clusters", "folds", "`n_folds`.*clusters",
    function() {
      df <- bad_df()
      list(df = df, cl = rep_len(1:3, nrow(df)))
    }, function(i) make_folds(spec_of(i$df, cluster = i$cl), n_folds = 5))
err("make_folds with n_folds = 1", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 1))
err("make_folds with n_folds = 2.5", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 2.5))
err("make_folds with n_folds = NA", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = NA))
err("make_folds with n_rep = 0", "argument", "`n_rep`",
    spec_setup(), function(i) make_folds(i$spec, n_rep = 0))
err("make_folds with stratify = NA", "argument", "`stratify`",
    spec_setup(), function(i) make_folds(i$spec, stratify = NA))
err("make_folds with stratify = 'yes'", "argument", "`stratify`",
    spec_setup(), function(i) make_folds(i$spec, stratify = "yes"))
err("make_folds with a character seed", "argument", "`seed`",
    spec_setup(), function(i) make_folds(i$spec, seed = "a"))
err("make_folds with a seed beyond the integer range", "argument", "`seed`",
    spec_setup(), function(i) make_folds(i$spec, seed = 1e12))

# ---- dml_plr(): arguments ---------------------------------------------------------------------

err("dml_plr on a data.frame instead of a spec", "argument", "`spec`",
    with_df(), function(i) dml_plr(i$df))
err("dml_plr with n_folds larger than n", "folds", "`n_folds`",
    spec_setup(), function(i) dml_plr(i$spec, n_folds = 101))
err("dml_irm with n_folds larger than n", "folds", "`n_folds`",
    spec_setup(), function(i) dml_irm(i$spec, n_folds = 101))
err("option fastdml.num.threads = 0", "argument", "`num.threads`",
    spec_setup(), function(i) {
      old <- options(fastdml.num.threads = 0)
      on.exit(options(old))
      dml_plr(i$spec)
    })
err("dml_plr with n_rep = 1.5", "argument", "`n_rep`",
    spec_setup(), function(i) dml_plr(i$spec, n_rep = 1.5))
err("dml_plr with seed = NA", "argument", "`seed`",
    spec_setup(), function(i) dml_plr(i$spec, seed = NA))
err("dml_plr with a seed beyond the integer range", "argument", "`seed`",
    spec_setup(), function(i) dml_plr(i$spec, n_folds = 2, seed = 2^31))
err("dml_plr with an unknown score", "argument", "`score`",
    spec_setup(), function(i) dml_plr(i$spec, score = "IV"))
err("dml_plr with num.threads = 0", "argument", "`num.threads`",
    spec_setup(), function(i) dml_plr(i$spec, num.threads = 0))
err("dml_plr with num.threads = '2'", "argument", "`num.threads`",
    spec_setup(), function(i) dml_plr(i$spec, num.threads = "2"))
err("dml_plr with num.threads = 1.5", "argument", "`num.threads`",
    spec_setup(), function(i) dml_plr(i$spec, num.threads = 1.5))
err("dml_plr with cluster_correction = NA", "argument", "`cluster_correction`",
    spec_setup(), function(i) dml_plr(i$spec, cluster_correction = NA))
err("dml_plr with a string as learner", "argument", "`learner_outcome`",
    spec_setup(), function(i) dml_plr(i$spec, learner_outcome = "linear"))
err("dml_plr with a classifier for a continuous treatment", "learner", "\\bm\\b.*promo",
    spec_setup(binary = FALSE), function(i) dml_plr(i$spec, learner_treatment = lrn_logistic(), n_folds = 2))
err("dml_plr with a classifier for the outcome", "learner", "\\bl\\b.*spend",
    spec_setup(), function(i) dml_plr(i$spec, learner_outcome = lrn_logistic(), n_folds = 2))
err("dml_plr with a treatment that is a linear function of a covariate", "degenerate", "promo",
    with_df(edit_col("promo", function(x, df) 2 * df$income + 1), binary = FALSE),
    function(i) dml_plr(spec_of(i$df), n_folds = 2))
err("dml_plr with a copy of the treatment among the covariates", "degenerate", "promo",
    with_df(function(df) {
      df$promo_copy <- df$promo
      df
    }, binary = FALSE),
    function(i) dml_plr(causal_data(i$df, "spend", "promo", c("age", "promo_copy")), n_folds = 2))

# ---- user folds ---------------------------------------------------------------------------------

folds_setup <- function(edit, binary = TRUE) function() {
  df <- bad_df(binary = binary)
  list(df = df, folds = edit(rep_len(1:4, nrow(df)), df))
}
plr_folds <- function(...) {
  extra <- list(...)
  function(i) do.call(dml_plr, c(list(spec_of(i$df), folds = i$folds), extra))
}
err("folds with NA", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, NA)), plr_folds())
err("folds with a 0 id", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, 0L)), plr_folds())
err("folds with a non-integer id", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, 1.5)), plr_folds())
err("folds with Inf", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, Inf)), plr_folds())
err("folds of the wrong length", "folds", "`folds`.*99", folds_setup(function(f, df) f[-1]), plr_folds())
err("folds with a single fold", "folds", "`folds`.*single fold", folds_setup(function(f, df) rep(1L, length(f))), plr_folds())
err("folds with an empty fold id", "folds", "`folds`.*fold 2", folds_setup(function(f, df) ifelse(f == 2L, 4L, f)), plr_folds())
err("folds disagreeing with an explicit n_folds", "folds", "`n_folds`", folds_setup(function(f, df) f), plr_folds(n_folds = 5))
err("folds disagreeing with an explicit n_rep", "folds", "`n_rep`", folds_setup(function(f, df) f), plr_folds(n_rep = 2))
err("fold matrix with a broken second column", "folds", "`folds`.*column 2",
    folds_setup(function(f, df) cbind(f, 1L)), plr_folds())
err("folds as a character vector", "folds", "`folds`", folds_setup(function(f, df) as.character(f)), plr_folds())
err("folds whose training sample lacks the treated arm (IRM)", "folds", "fold 1.*treated",
    folds_setup(function(f, df) ifelse(df$promo == 1, 1L, 2L)),
    function(i) dml_irm(spec_of(i$df), folds = i$folds))
err("folds whose training sample lacks the treated arm (PLR, logistic propensity)", "folds", "fold 1",
    folds_setup(function(f, df) ifelse(df$promo == 1, 1L, 2L)),
    function(i) dml_plr(spec_of(i$df), learner_treatment = lrn_logistic(), folds = i$folds))
warn("folds that split clusters", "folds", "`folds`.*split",
     function() {
       df <- bad_df()
       list(df = df, cl = rep_len(1:20, nrow(df)), folds = rep(1:2, each = nrow(df) / 2))
     }, function(i) dml_plr(spec_of(i$df, cluster = i$cl), folds = i$folds))
ok("folds given as a data.frame, integer fold matrix left untouched",
   function() {
     df <- bad_df()
     f <- make_folds(spec_of(df), n_folds = 3, n_rep = 2, seed = 1)
     list(df = df, folds = f, folds_df = as.data.frame(f))
   }, function(i) list(a = dml_plr(spec_of(i$df), folds = i$folds_df), b = dml_irm(spec_of(i$df), folds = i$folds)),
   check = function(fits, i, res) {
     expect_identical(fits$a$n_rep, 2L)
     expect_true(all(nuisances(fits$b)$folds == i$folds))
   })
ok("make_folds returns the documented integer matrix for a double n_folds",
   spec_setup(), function(i) make_folds(i$spec, n_folds = 3, n_rep = 2, seed = 1),
   check = function(folds, i, res) {
     expect_true(is.matrix(folds) && is.integer(folds))
     expect_identical(dim(folds), c(100L, 2L))
   })

# ---- external nuisances -------------------------------------------------------------------------

plr_nuisances <- function(edit, binary = FALSE) function() {
  df <- bad_df(binary = binary)
  fit <- dml_plr(spec_of(df), n_folds = 2, seed = 1)
  nu <- nuisances(fit)[c("l", "m")]
  list(df = df, nu = edit(nu, df))
}
plr_ext <- function(...) {
  extra <- list(...)
  function(i) do.call(dml_plr, c(list(spec_of(i$df), nuisances = i$nu), extra))
}
err("nuisances that are not a list", "nuisances", "`nuisances`",
    plr_nuisances(function(nu, df) cbind(nu$l, nu$m)), plr_ext())
err("nuisances without names", "nuisances", "`nuisances`",
    plr_nuisances(function(nu, df) unname(nu)), plr_ext())
err("nuisances missing m", "nuisances", "lacks m",
    plr_nuisances(function(nu, df) nu["l"]), plr_ext())
err("nuisance of the wrong length", "nuisances", "Nuisance l",
    plr_nuisances(function(nu, df) {
      nu$l <- nu$l[-1, , drop = FALSE]
      nu
    }), plr_ext())
err("nuisance with NA", "nuisances", "Nuisance m",
    plr_nuisances(function(nu, df) {
      nu$m[2, 1] <- NA
      nu
    }), plr_ext())
err("character nuisance", "nuisances", "Nuisance l",
    plr_nuisances(function(nu, df) {
      nu$l <- format(nu$l)
      nu
    }), plr_ext())
err("nuisances with different numbers of columns", "nuisances", "nuisances",
    plr_nuisances(function(nu, df) {
      nu$l <- cbind(nu$l, nu$l)
      nu
    }), plr_ext())
err("nuisances disagreeing with an explicit n_rep", "nuisances", "`n_rep`",
    plr_nuisances(function(nu, df) nu), plr_ext(n_rep = 2))
err("nuisances with an explicit n_folds but no folds", "nuisances", "`n_folds`",
    plr_nuisances(function(nu, df) nu), plr_ext(n_folds = 2))
err("nuisances with broken folds", "folds", "`folds`",
    plr_nuisances(function(nu, df) c(nu, list(folds = rep(1L, nrow(df))))), plr_ext())
err("IV-type score with nuisances lacking g", "nuisances", "lacks g",
    plr_nuisances(function(nu, df) nu), plr_ext(score = "IV-type"))

irm_nuisances <- function(edit) function() {
  df <- bad_df()
  fit <- dml_irm(spec_of(df), n_folds = 2, seed = 1)
  nu <- nuisances(fit)[c("g0", "g1", "m")]
  list(df = df, nu = edit(nu, df))
}
irm_ext <- function(...) {
  extra <- list(...)
  function(i) do.call(dml_irm, c(list(spec_of(i$df), nuisances = i$nu), extra))
}
err("external propensity above 1", "nuisances", "\\bm\\b.*outside",
    irm_nuisances(function(nu, df) {
      nu$m[1, 1] <- 1.2
      nu
    }), irm_ext())
err("external propensity below 0", "nuisances", "\\bm\\b.*outside",
    irm_nuisances(function(nu, df) {
      nu$m[1, 1] <- -0.2
      nu
    }), irm_ext())
err("external propensity with NaN", "nuisances", "Nuisance m",
    irm_nuisances(function(nu, df) {
      nu$m[3, 1] <- NaN
      nu
    }), irm_ext())
err("ATE with external nuisances lacking g1", "nuisances", "g1",
    irm_nuisances(function(nu, df) nu[c("g0", "m")]), irm_ext(estimand = "ATE"))
ok("ATT with external nuisances without g1; extreme propensities leave the list untouched",
   irm_nuisances(function(nu, df) {
     nu <- nu[c("g0", "m")]
     nu$m[1:3, 1] <- c(0, 1e-4, 0.001)
     nu
   }), function(i) suppressWarnings(dml_irm(spec_of(i$df), estimand = "ATT", nuisances = i$nu, trim = 0.05)),
   check = function(fit, i, res) {
     expect_true(is.finite(coef(fit)))
     expect_identical(nuisances(fit)$m, i$nu$m)
   })

# ---- custom learners ------------------------------------------------------------------------------

err("lrn_custom with fit not a function", "argument", "`fit`",
    function() list(), function(i) lrn_custom(fit = 1, predict = lm_pred))
err("lrn_custom without predict", "argument", "`predict`",
    function() list(), function(i) lrn_custom(fit = lm_fit))
err("lrn_custom with an empty name", "argument", "`name`",
    function() list(), function(i) lrn_custom(lm_fit, lm_pred, name = ""))
err("lrn_custom with name NA", "argument", "`name`",
    function() list(), function(i) lrn_custom(lm_fit, lm_pred, name = NA_character_))
err("lrn_custom with two names", "argument", "`name`",
    function() list(), function(i) lrn_custom(lm_fit, lm_pred, name = c("a", "b")))

custom_plr <- function(predict, which = "outcome", fit = lm_fit, ...) {
  extra <- list(...)
  function(i) {
    lrn <- lrn_custom(fit, predict, name = "mine")
    args <- c(list(spec_of(i$df), n_folds = 2), extra)
    args[[paste0("learner_", which)]] <- lrn
    do.call(dml_plr, args)
  }
}
err("custom learner returning the wrong length", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) lm_pred(model, x)[-1]))
err("custom learner returning NA", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) replace(lm_pred(model, x), 2, NA)))
err("custom learner returning Inf", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) rep(Inf, nrow(x)), which = "treatment"))
err("custom learner returning a character vector", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) format(lm_pred(model, x)), which = "treatment"))
err("custom learner returning a factor", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) factor(lm_pred(model, x) > 0)))
err("custom learner returning NULL", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) NULL))
err("custom learner returning a 3-column matrix", "learner", "3 columns.*nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) {
      p <- lm_pred(model, x)
      cbind(p, p, p)
    }))
err("custom classifier returning an unnamed 2-column matrix", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), function(i) {
      lrn <- lrn_custom(lm_fit, function(model, x) {
        p <- prob_pred(model, x)
        cbind(1 - p, p)
      })
      dml_irm(spec_of(i$df), learner_treatment = lrn, n_folds = 2)
    })
ok("custom classifier returning columns named 0/1 for the propensity",
   with_df(), function(i) {
     lrn <- lrn_custom(lm_fit, function(model, x) {
       p <- prob_pred(model, x)
       cbind(`0` = 1 - p, `1` = p)
     })
     suppressWarnings(dml_irm(spec_of(i$df), learner_treatment = lrn, n_folds = 2, seed = 1))
   }, check = function(fit, i, res) {
     expect_true(all(nuisances(fit)$m >= 0.05 & nuisances(fit)$m <= 0.95))
   })
err("custom learner whose fit throws (PLR)", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), custom_plr(lm_pred, which = "treatment", fit = function(x, y) stop("singular fit")))
err("custom learner whose predict throws in the second repetition", "learner",
    "nuisance l, fold 1, repetition 2",
    with_df(), function(i) {
      calls <- 0
      lrn <- lrn_custom(lm_fit, function(model, x) {
        calls <<- calls + 1
        if (calls > 3) stop("out of memory")
        lm_pred(model, x)
      })
      dml_plr(spec_of(i$df), learner_outcome = lrn, n_folds = 3, n_rep = 2, seed = 1)
    })
err("custom learner whose fit throws (IRM)", "learner", "nuisance g0, fold 1, repetition 1",
    with_df(), function(i) {
      dml_irm(spec_of(i$df), learner_outcome = lrn_custom(function(x, y) stop("no"), lm_pred), n_folds = 2)
    })
warn("custom learner worse than a constant", "nuisance_fit", "Nuisance l",
     with_df(binary = FALSE), custom_plr(function(model, x) stats::rnorm(nrow(x), 0, 10), seed = 1))

# ---- built-in learners ----------------------------------------------------------------------------

err("lrn_linear with negative ridge", "argument", "`ridge`", function() list(), function(i) lrn_linear(ridge = -1))
err("lrn_linear with ridge NA", "argument", "`ridge`", function() list(), function(i) lrn_linear(ridge = NA))
err("lrn_linear with two ridge values", "argument", "`ridge`", function() list(), function(i) lrn_linear(ridge = c(1, 2)))
err("lrn_logistic with ridge Inf", "argument", "`ridge`", function() list(), function(i) lrn_logistic(ridge = Inf))
err("lrn_logistic with ridge as a string", "argument", "`ridge`", function() list(), function(i) lrn_logistic(ridge = "1"))

# ---- dml_irm() ------------------------------------------------------------------------------------

err("dml_irm with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) dml_irm(i$spec))
err("dml_irm with a three-valued numeric treatment", "treatment", "promo",
    with_df(edit_col("promo", function(x, df) rep_len(0:2, length(x)))), function(i) dml_irm(spec_of(i$df)))
err("dml_irm with estimand ATC", "argument", "`estimand`",
    spec_setup(), function(i) dml_irm(i$spec, estimand = "ATC"))
err("dml_irm with trim = 0", "argument", "`trim`", spec_setup(), function(i) dml_irm(i$spec, trim = 0))
err("dml_irm with trim = 0.5", "argument", "`trim`", spec_setup(), function(i) dml_irm(i$spec, trim = 0.5))
err("dml_irm with trim = NA", "argument", "`trim`", spec_setup(), function(i) dml_irm(i$spec, trim = NA))
err("dml_irm with normalize = NA", "argument", "`normalize`", spec_setup(), function(i) dml_irm(i$spec, normalize = NA))
err("dml_irm with normalize = 'yes'", "argument", "`normalize`", spec_setup(), function(i) dml_irm(i$spec, normalize = "yes"))
err("dml_irm with a classifier for a continuous outcome", "learner", "g0.*spend",
    spec_setup(), function(i) dml_irm(i$spec, learner_outcome = lrn_logistic(), n_folds = 2))
err("dml_irm with fewer treated rows than folds", "folds", "treated",
    with_df(edit_col("promo", function(x, df) replace(numeric(length(x)), 1:3, 1))),
    function(i) dml_irm(spec_of(i$df), n_folds = 5))
warn("dml_irm with a regression learner for the propensity", "propensity", "`learner_treatment`",
     with_df(edit_col("promo", function(x, df) {
       set.seed(5)
       stats::rbinom(length(x), 1, stats::plogis(3 * df$age))
     })), function(i) dml_irm(spec_of(i$df), learner_treatment = lrn_linear(), n_folds = 2, seed = 1))

# ---- fit-time warnings ---------------------------------------------------------------------------

warn("few clusters in dml_plr", "few_clusters", "4 clusters",
     function() {
       df <- bad_df()
       list(df = df, cl = rep_len(1:4, nrow(df)))
     }, function(i) dml_plr(spec_of(i$df, cluster = i$cl), n_folds = 2, seed = 1))
warn("few clusters in diff_in_means", "few_clusters", "3 clusters",
     function() {
       df <- bad_df()
       list(df = df, cl = rep_len(1:3, nrow(df)))
     }, function(i) diff_in_means(spec_of(i$df, cluster = i$cl)))
warn("high-dimensional covariates switch to ridge", "high_dimensional", "Nuisance l.*lrn_linear",
     function() {
       set.seed(3)
       df <- as.data.frame(matrix(stats::rnorm(60 * 40), 60, dimnames = list(NULL, paste0("v", 1:40))))
       df$spend <- stats::rnorm(60)
       df$promo <- stats::rnorm(60)
       list(df = df)
     }, function(i) dml_plr(causal_data(i$df, "spend", "promo"), n_folds = 2, seed = 1))
warn("weak treatment", "weak_treatment", "promo",
     with_df(edit_col("promo", function(x, df) {
       set.seed(2)
       2 * df$income + 1 + stats::rnorm(length(x), sd = 0.1)
     }), binary = FALSE), function(i) dml_plr(spec_of(i$df), n_folds = 2, seed = 1))
warn("poor overlap", "overlap", "ATE",
     with_df(edit_col("promo", function(x, df) {
       set.seed(4)
       stats::rbinom(length(x), 1, stats::plogis(6 * df$age))
     })), function(i) dml_irm(spec_of(i$df), n_folds = 2, seed = 1))
warn("separation of the propensity", "separation", "Nuisance m",
     with_df(edit_col("promo", function(x, df) as.numeric(df$age > 0))),
     function(i) dml_irm(spec_of(i$df), n_folds = 2, seed = 1))
warn("a copy of the outcome among the covariates", NULL, "spend_copy",
     with_df(function(df) {
       df$spend_copy <- df$spend
       df
     }), function(i) dml_plr(causal_data(i$df, "spend", "promo", c("age", "spend_copy")), n_folds = 2, seed = 1))

# ---- baselines ---------------------------------------------------------------------------------

err("diff_in_means with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) diff_in_means(i$spec))
err("ipw with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) ipw(i$spec))
err("t_learner with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) t_learner(i$spec))
err("diff_in_means with level = 1", "argument", "`level`", spec_setup(), function(i) diff_in_means(i$spec, level = 1))
err("diff_in_means with level = 95", "argument", "`level`", spec_setup(), function(i) diff_in_means(i$spec, level = 95))
err("diff_in_means with a misspelled argument", "argument", "levle",
    spec_setup(), function(i) diff_in_means(i$spec, levle = 0.9))
err("diff_in_means on a table with NA in the outcome", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 1, NA))),
    function(i) diff_in_means(i$df, outcome = "spend", treatment = "promo", covariates = COVS))
err("diff_in_means on a plain list", "data", "`data`",
    function() list(lst = list(a = 1)), function(i) diff_in_means(i$lst))
err("ipw with trim = 0.6", "argument", "`trim`", spec_setup(), function(i) ipw(i$spec, trim = 0.6))
err("ipw with a string as learner", "argument", "`learner`", spec_setup(), function(i) ipw(i$spec, learner = "logistic"))
err("ipw with num.threads = -1", "argument", "`num.threads`", spec_setup(), function(i) ipw(i$spec, num.threads = -1))
err("ipw on a data.table with zero weights on the control arm", "weights", "wt.*arm",
    dt_setup(function(dt) data.table::set(dt, j = "wt", value = as.numeric(dt$promo == 1))),
    function(i) ipw(i$dt, outcome = "spend", treatment = "promo", covariates = COVS, weights = "wt"))
err("ipw with a custom learner that throws", "learner", "propensity",
    spec_setup(), function(i) ipw(i$spec, learner = lrn_custom(function(x, y) stop("no"), lm_pred)))
warn("ipw with a regression learner for the propensity", "propensity", "`learner`",
     with_df(edit_col("promo", function(x, df) {
       set.seed(5)
       stats::rbinom(length(x), 1, stats::plogis(3 * df$age))
     })), function(i) ipw(spec_of(i$df), learner = lrn_linear()))
err("t_learner with n_boot = -1", "argument", "`n_boot`", spec_setup(), function(i) t_learner(i$spec, n_boot = -1))
err("t_learner with a character seed", "argument", "`seed`",
    spec_setup(), function(i) t_learner(i$spec, n_boot = 2, seed = "a"))
err("t_learner with a seed beyond the integer range", "argument", "`seed`",
    spec_setup(), function(i) t_learner(i$spec, n_boot = 2, seed = 1e12))
err("t_learner with a classifier for a continuous outcome", "learner", "g1.*spend",
    spec_setup(), function(i) t_learner(i$spec, learner = lrn_logistic()))
err("t_learner with a custom learner of the wrong length", "learner", "nuisance g1",
    spec_setup(), function(i) t_learner(i$spec, learner = lrn_custom(lm_fit, function(model, x) 1)))
ok("baselines on a matrix with weight and cluster vectors leave the inputs untouched",
   function() {
     df <- bad_df()
     list(m = as.matrix(df), w = seq(0.5, 2, length.out = nrow(df)), cl = rep_len(1:20, nrow(df)))
   }, function(i) {
     args <- list(i$m, "spend", "promo", COVS, weights = i$w, cluster = i$cl)
     list(dim = do.call(diff_in_means, args), ipw = do.call(ipw, args),
          tl = do.call(t_learner, c(args, n_boot = 3, seed = 1)))
   }, check = function(fits, i, res) {
     for (fit in fits) expect_true(is.finite(coef(fit)))
   })

# ---- sim_lesson() ------------------------------------------------------------------------------

err("sim_lesson with n = 1", "argument", "`n`", function() list(), function(i) sim_lesson(1))
err("sim_lesson with n = 'a'", "argument", "`n`", function() list(), function(i) sim_lesson("a"))
err("sim_lesson with n = 2.5", "argument", "`n`", function() list(), function(i) sim_lesson(2.5))
err("sim_lesson with two values of n", "argument", "`n`", function() list(), function(i) sim_lesson(c(10, 20)))
err("sim_lesson with n = Inf", "argument", "`n`", function() list(), function(i) sim_lesson(Inf))
err("sim_lesson with a character seed", "argument", "`seed`", function() list(), function(i) sim_lesson(10, seed = "a"))
err("sim_lesson with a seed beyond the integer range", "argument", "`seed`",
    function() list(), function(i) sim_lesson(10, seed = 1e12))

# ---- methods -----------------------------------------------------------------------------------

fit_setup <- function(model = "plr", binary = TRUE) function() {
  df <- bad_df(binary = binary)
  spec <- spec_of(df)
  fit <- if (model == "plr") dml_plr(spec, n_folds = 2, seed = 1) else dml_irm(spec, n_folds = 2, seed = 1)
  list(df = df, fit = fit, est = if (binary) diff_in_means(spec) else NULL)
}
err("confint with an unknown parm", "argument", "`parm`", fit_setup(), function(i) confint(i$fit, parm = "coupon"))
err("confint with parm = 2", "argument", "`parm`", fit_setup(), function(i) confint(i$fit, parm = 2))
err("confint with level = 0", "argument", "`level`", fit_setup(), function(i) confint(i$fit, level = 0))
err("confint with a character level", "argument", "`level`", fit_setup("irm"), function(i) confint(i$fit, level = "0.9"))
err("confint of a baseline with an unknown parm", "argument", "`parm`", fit_setup(), function(i) confint(i$est, parm = "coupon"))
err("tidy with conf.int = NA", "argument", "`conf.int`", fit_setup(), function(i) tidy(i$fit, conf.int = NA))
err("tidy with conf.level = 1.5", "argument", "`conf.level`", fit_setup(), function(i) tidy(i$fit, conf.level = 1.5))
err("tidy of a baseline with conf.int = 1", "argument", "`conf.int`", fit_setup(), function(i) tidy(i$est, conf.int = 1))
err("summary with level = -0.1", "argument", "`level`", fit_setup("irm"), function(i) summary(i$fit, level = -0.1))
err("summary with two levels", "argument", "`level`", fit_setup(), function(i) summary(i$fit, level = c(0.9, 0.95)))
err("autoplot with an unknown type", "argument", "`type`", fit_setup(), function(i) ggplot2::autoplot(i$fit, type = "foo"))
err("autoplot with type = NA", "argument", "`type`", fit_setup(), function(i) ggplot2::autoplot(i$fit, type = NA))
err("autoplot with level = 2", "argument", "`level`", fit_setup("irm"), function(i) ggplot2::autoplot(i$fit, level = 2))
err("overlap plot of a continuous treatment", "argument", "overlap",
    fit_setup(binary = FALSE), function(i) ggplot2::autoplot(i$fit, type = "overlap"))
err("nuisances() of a data.frame", "argument", "nuisances\\(\\)", fit_setup(), function(i) nuisances(i$df))
err("nuisances() of a baseline estimate", "argument", "nuisances\\(\\)", fit_setup(), function(i) nuisances(i$est))
ok("methods leave the fit untouched",
   fit_setup("irm"), function(i) {
     list(confint(i$fit, level = 0.9), tidy(i$fit, conf.int = FALSE), summary(i$fit), glance(i$fit),
          nuisances(i$fit), ggplot2::autoplot(i$fit, type = "overlap"),
          ggplot2::autoplot(i$fit, type = "nuisances"), tidy(i$est), glance(i$est))
   }, check = function(value, i, res) {
     expect_identical(nrow(value[[4]]), 1L)
   })
ok("glance and summary of a fit from external nuisances without folds",
   plr_nuisances(function(nu, df) nu), function(i) {
     fit <- dml_plr(spec_of(i$df), nuisances = i$nu)
     list(glance = glance(fit), summary = summary(fit), tidy = tidy(fit))
   }, check = function(value, i, res) {
     expect_true(is.na(value$glance$n_folds))
     expect_identical(value$glance$n_rep, 1L)
   })

# ---- in-place modification of inputs across full pipelines -----------------------------------------

ok("full pipeline on a data.table with weights and clusters leaves it untouched",
   function() {
     df <- bad_df(n = 120)
     df$wt <- seq(0.5, 2, length.out = 120)
     df$store <- rep_len(1:12, 120)
     list(dt = data.table::as.data.table(df))
   }, function(i) {
     spec <- causal_data(spend ~ promo | age + income + I(tenure^2), data = i$dt, weights = "wt", cluster = "store")
     list(plr = dml_plr(spec, n_folds = 3, seed = 1, score = "IV-type"),
          irm = dml_irm(spec, n_folds = 3, seed = 1, trim = 0.05, normalize = TRUE))
   }, check = function(fits, i, res) {
     expect_true(all(is.finite(vapply(fits, coef, numeric(1)))))
   })
ok("full pipeline on vectors of weights and clusters leaves them untouched",
   function() {
     df <- bad_df(n = 120)
     list(df = df, w = seq(0.5, 2, length.out = 120), cl = rep_len(1:12, 120))
   }, function(i) {
     spec <- spec_of(i$df, weights = i$w, cluster = i$cl)
     list(dml_plr(spec, n_folds = 3, seed = 1), dml_irm(spec, n_folds = 3, seed = 1, estimand = "ATT"))
   }, check = function(fits, i, res) {
     expect_true(all(is.finite(vapply(fits, coef, numeric(1)))))
   })
ok("integer and logical columns are accepted",
   with_df(function(df) {
     df$promo <- df$promo == 1
     df$spend <- as.integer(round(df$spend * 10))
     df$age <- as.integer(round(df$age * 10))
     df
   }), function(i) dml_irm(spec_of(i$df), n_folds = 2, seed = 1),
   check = function(fit, i, res) {
     expect_identical(fit$spec$treatment_levels, c("FALSE", "TRUE"))
   })

# ---------------------------------------------------------------------------------------------
# Run the catalogue: one test per case, named by its label.

for (case in cases) {
  test_that(paste0("bad input: ", case$label), {
    run_case(case)
  })
}

test_that("the catalogue covers at least 90 cases", {
  expect_gte(length(cases), 90L)
  expect_identical(anyDuplicated(names(cases)), 0L)
})
