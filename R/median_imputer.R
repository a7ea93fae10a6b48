#' Train-only median imputation with missingness flags
#'
#' Learns, on the training rows only, the median of every numeric column with missing values
#' (or of `columns`), and fills the gaps of any table with those medians, adding a 0/1 column
#' `<column>_missing` per imputed column so that models can use the missingness itself. Fitting
#' on the training rows and applying to the test rows keeps test information out of training
#' (`vignette("onboarding-targeting")`).
#'
#' @param data The training table (a data frame).
#' @param columns Columns to impute; default every numeric column with a missing value.
#' @return A `fastdml_median_imputer` with the medians and missing counts; `predict(imputer,
#'   newdata)` returns `newdata` imputed with the flag columns; `print` shows the missingness.
#' @family data preparation
#' @examples
#' d <- sim_onboarding(1000, seed = 1)
#' train <- d[1:700, ]
#' imputer <- median_imputer(train)
#' imputer
#' test <- predict(imputer, d[701:1000, ])
#' colSums(is.na(test))[1:6]
#' @export
median_imputer <- function(data, columns = NULL) {
  if (!is.data.frame(data)) fd_abort("argument", "{.arg data} must be a data frame.")
  if (is.null(columns)) {
    columns <- names(data)[vapply(data, function(x) is.numeric(x) && anyNA(x), logical(1))]
  }
  unknown <- setdiff(columns, names(data))
  if (length(unknown)) fd_abort("column", "Unknown column{?s} {.field {unknown}} in {.arg columns}.")
  not_numeric <- columns[!vapply(data[columns], is.numeric, logical(1))]
  if (length(not_numeric)) {
    fd_abort("column", c("Column{?s} {.field {not_numeric}} {?is/are} not numeric: medians need numbers.",
                         i = "Impute factors with their most frequent level, or add a level for missing values."))
  }
  medians <- vapply(data[columns], stats::median, numeric(1), na.rm = TRUE)
  empty <- columns[is.na(medians)]
  if (length(empty)) {
    fd_abort("non_finite", c("Column{?s} {.field {empty}} {?has/have} no observed value in the training rows.",
                          i = "Drop those columns."))
  }
  structure(list(medians = medians, missing = vapply(data[columns], function(x) sum(is.na(x)), numeric(1)),
                 n = nrow(data), flags = paste0(columns, "_missing")),
            class = "fastdml_median_imputer")
}

#' @rdname median_imputer
#' @param object A `fastdml_median_imputer`.
#' @param newdata The table to impute (training or test rows).
#' @param ... Unused.
#' @export
predict.fastdml_median_imputer <- function(object, newdata, ...) {
  if (!is.data.frame(newdata)) fd_abort("argument", "{.arg newdata} must be a data frame.")
  columns <- names(object$medians)
  absent <- setdiff(columns, names(newdata))
  if (length(absent)) fd_abort("column", "{.arg newdata} lacks {length(absent)} column{?s}: {.field {absent}}.")
  for (k in seq_along(columns)) {
    missing_rows <- is.na(newdata[[columns[k]]])
    newdata[[object$flags[k]]] <- as.integer(missing_rows)
    newdata[[columns[k]]][missing_rows] <- object$medians[[k]]
  }
  newdata
}

#' @export
print.fastdml_median_imputer <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_median_imputer}: medians of {length(x$medians)} column{?s} from {x$n} training rows"), "\n", sep = "")
  print(data.frame(column = names(x$medians), missing = x$missing,
                   share = sprintf("%.1f%%", 100 * x$missing / x$n), median = signif(x$medians, 4),
                   flag = x$flags, row.names = NULL), row.names = FALSE)
  invisible(x)
}
