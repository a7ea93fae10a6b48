# Harness of the bad-input catalogue (test-bad-input.R, test-bad-input-fits.R): see the
# description atop test-bad-input.R.

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

# The cases of the test file being run: each test-bad-input*.R file starts a catalogue,
# adds its cases and runs them.
catalogue <- new.env()

start_catalogue <- function() catalogue$cases <- list()

add_case <- function(label, type, what, regexp, setup, run, check = NULL, base_warnings = FALSE) {
  if (label %in% names(catalogue$cases)) stop("duplicated case label: ", label)
  prefix <- switch(type, error = "fastdml_error", warning = "fastdml_warning",
                   message = "fastdml_message", ok = NA_character_)
  class <- if (is.null(what) || is.na(prefix)) prefix else paste0(prefix, "_", what)
  catalogue$cases[[label]] <- list(label = label, type = type, class = class, regexp = regexp,
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
dt_setup <- function(edit = identity) function() list(dt = edit(data.table::as.data.table(bad_df())))
spec_setup <- function(binary = TRUE, n = 100, seed = 1) {
  function() {
    df <- bad_df(n = n, seed = seed, binary = binary)
    list(df = df, spec = spec_of(df))
  }
}


# One test per case, named by its label, then a check of the catalogue's size.
run_catalogue <- function(min_cases) {
  for (case in catalogue$cases) {
    testthat::test_that(paste0("bad input: ", case$label), {
      run_case(case)
    })
  }
  testthat::test_that(sprintf("the catalogue covers at least %d cases", min_cases), {
    testthat::expect_gte(length(catalogue$cases), min_cases)
  })
}
