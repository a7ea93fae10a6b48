#' Quantile bins of covariates, for group effects
#'
#' Cuts each column into groups at its sample quantiles (quartiles by default; `type = 7` as
#' [stats::quantile()]), dropping duplicate edges (so a column with many ties gets fewer
#' groups), lowest edge included. The groups are labelled `Q1 [a, b]`, `Q2 (b, c]`, ... The
#' result can be passed to [gate()] as several segmentations at once
#' (`specs/recsys-aipw.md` step 6).
#'
#' @param data A data frame (or matrix) with the columns.
#' @param columns Names of numeric columns to bin.
#' @param n_bins Number of quantile bins (4: quartiles).
#' @return A data frame of factors, one column per binned column, named after it.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(500, seed = 1)
#' bins <- quartile_bins(df, c("age", "income"))
#' table(bins$age)
#' @export
quartile_bins <- function(data, columns, n_bins = 4L) {
  if (!is.data.frame(data) && !is.matrix(data)) fd_abort("argument", "{.arg data} must be a data frame or matrix.")
  data <- as.data.frame(data)
  check_count(n_bins, "n_bins", 2L)
  unknown <- setdiff(columns, names(data))
  if (length(unknown)) fd_abort("column", "Unknown column{?s} {.field {unknown}} in {.arg columns}.")
  out <- lapply(stats::setNames(columns, columns), function(column) {
    x <- data[[column]]
    if (!is.numeric(x)) fd_abort("column", c("Column {.field {column}} is not numeric.", i = "Pass a factor directly to {.fn gate} as a group."))
    if (anyNA(x)) fd_abort("non_finite", c("Column {.field {column}} has {sum(is.na(x))} missing value{?s}.", i = "Impute them first (see {.fn median_imputer})."))
    edges <- unique(stats::quantile(x, seq(0, 1, length.out = n_bins + 1L), names = FALSE, type = 7))
    if (length(edges) < 2L) return(factor(rep("Q1 (constant)", length(x))))
    bins <- cut(x, edges, include.lowest = TRUE, dig.lab = 4)
    levels(bins) <- paste0("Q", seq_len(nlevels(bins)), " ", levels(bins))
    bins
  })
  as.data.frame(out, optional = TRUE)
}
