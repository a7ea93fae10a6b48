# Classed conditions (DESIGN.md §3): every error, warning and message of the package inherits
# fastdml_error / fastdml_warning / fastdml_message and a subclass naming what went wrong
# (fastdml_error_column, fastdml_warning_overlap, ...), so that reports can catch them with
# tryCatch() or withCallingHandlers(). Messages are cli bullets that name the argument or
# column and the fix. The call shown is the user-facing fastdml function that was called.

fd_abort <- function(what, message, ..., .envir = parent.frame()) {
  cli::cli_abort(message, ..., class = c(paste0("fastdml_error_", what), "fastdml_error"),
                 call = user_call(), .envir = .envir)
}

fd_warn <- function(what, message, ..., .envir = parent.frame()) {
  cli::cli_warn(message, ..., class = c(paste0("fastdml_warning_", what), "fastdml_warning"),
                .envir = .envir)
}

fd_inform <- function(what, message, ..., .envir = parent.frame()) {
  cli::cli_inform(message, ..., class = c(paste0("fastdml_message_", what), "fastdml_message"),
                  .envir = .envir)
}

# The outermost call on the stack to an exported fastdml function (NULL when there is none).
user_call <- function() {
  exported <- getNamespaceExports(topenv(environment()))
  for (call in sys.calls()) {
    fn <- call[[1L]]
    if (is.call(fn) && identical(fn[[1L]], as.name("::"))) fn <- fn[[3L]]
    if (is.name(fn) && as.character(fn) %in% exported) return(call)
  }
  NULL
}

# match.arg() with a classed error naming the argument and its choices.
arg_match <- function(value, choices, arg) {
  if (identical(value, choices)) return(choices[1L])
  if (!is.character(value) || length(value) != 1L || is.na(value) || !value %in% choices) {
    fd_abort("argument", c("{.arg {arg}} must be one of {.val {choices}}.",
                           x = "You supplied {.val {format_value(value)}}."))
  }
  value
}

# Scalar argument checks shared by every exported function.
check_flag <- function(x, arg) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    fd_abort("argument", "{.arg {arg}} must be TRUE or FALSE, not {.val {format_value(x)}}.")
  }
  invisible(x)
}

check_string <- function(x, arg) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    fd_abort("argument", "{.arg {arg}} must be a single non-empty string, not {.val {format_value(x)}}.")
  }
  invisible(x)
}

check_number <- function(x, arg, lower = -Inf, upper = Inf, open = TRUE, hint = NULL) {
  inside <- is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x) &&
    (if (open) x > lower && x < upper else x >= lower && x <= upper)
  if (!inside) {
    range <- if (open) sprintf("(%s, %s)", lower, upper) else sprintf("[%s, %s]", lower, upper)
    fd_abort("argument", c("{.arg {arg}} must be a single number in {range}, not {.val {format_value(x)}}.",
                           i = hint))
  }
  invisible(x)
}

# A short printable form of any argument value for error messages.
format_value <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.function(x)) return("a function")
  if (!is.atomic(x)) return(paste0("a ", class(x)[1L]))
  if (length(x) == 0L) return(paste0("an empty ", class(x)[1L]))
  shown <- paste(utils::head(format(x), 3L), collapse = ", ")
  if (length(x) > 3L) shown <- paste0(shown, ", ...")
  shown
}

# Calls into the C++ core: its invariants are validated in R first, so an error here is a bug
# in fastdml. It is re-raised as a classed internal error; interrupts pass through untouched.
core_call <- function(code) {
  tryCatch(code, error = function(e) {
    if (inherits(e, "fastdml_error")) stop(e)
    fd_abort("internal", c("Internal error in fastdml's C++ core.",
                           x = conditionMessage(e),
                           i = "This is a bug: please report it with the code that triggered it."))
  })
}
