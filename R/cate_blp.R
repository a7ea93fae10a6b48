#' Best linear projection of the CATE
#'
#' Projects the conditional average treatment effect on a basis of the covariates: weighted
#' least squares of the doubly robust pseudo-outcomes
#' Gamma = g1 - g0 + D (Y - g1) / m - (1 - D) (Y - g0) / (1 - m) (DESIGN.md §4; per contrast
#' for a multi-arm fit) on `[1, basis]`, from the fit's cross-fitted nuisances (nothing is
#' refitted). The propensities are those of the scores (clipped at `trim`), averaged over
#' repetitions. Standard errors are heteroskedasticity-robust (`vcov_type` `"HC0"` to `"HC3"`,
#' as [sandwich::vcovHC()]), and cluster-robust when the data have clusters (`"HC0"` or `"HC1"`
#' with the G / (G - 1) adjustment, as [sandwich::vcovCL()]); observation weights are
#' regression weights. With a polynomial basis this is "linear DML" of the CATE: `predict()`
#' gives B(x)'beta and, with `variance = TRUE`, its variance B(x)' V B(x).
#'
#' @param fit A fit from [dml_irm()] (ATE, or ATT with `g1`) or [dml_multi_irm()].
#' @param basis A one-sided formula on the fit's covariates (or on `data`), e.g.
#'   `~ x1 + poly(x2, 2)`; its intercept is kept unless the formula drops it. Default: all
#'   covariates, linearly.
#' @param data Optional data frame with one row per row of the fit in which `basis` is
#'   evaluated (for modifiers that are not covariates of the fit).
#' @param contrast For a multi-arm fit, the treated arm (label) or term of the contrast.
#' @param vcov_type `"HC0"` (default), `"HC1"`, `"HC2"` or `"HC3"`; with clusters `"HC0"` or
#'   `"HC1"`.
#' @param level Confidence level.
#' @return A `fastdml_blp` object (a `fastdml_cate`) with `print`, `tidy`, `coef`, `vcov`,
#'   `confint`, `nobs` and `predict` methods.
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' blp <- cate_blp(fit, ~ age + income)
#' blp
#' head(predict(blp, variance = TRUE))
#' @export
cate_blp <- function(fit, basis = NULL, data = NULL, contrast = NULL,
                     vcov_type = c("HC0", "HC1", "HC2", "HC3"), level = 0.95) {
  contrast <- fit_contrasts(fit, contrast, single = TRUE, caller = "cate_blp")[[1L]]
  vcov_type <- check_vcov_type(vcov_type, fit$spec$cluster)
  check_level(level)
  design <- basis_design(fit, basis, data)
  gamma <- pseudo_outcomes(fit, contrast$arm)
  projection <- linear_projection(gamma, design$B, fit$spec$weights, fit$spec$cluster, vcov_type)
  new_cate("fastdml_blp", sprintf("best linear projection of the CATE (%s SE%s)", vcov_type,
                                  if (is.null(fit$spec$cluster)) "" else ", cluster-robust"),
           fit, contrast, drop(projection$B %*% projection$coefficients),
           coefficients = projection$coefficients, vcov = projection$vcov, level = level,
           basis_terms = design$terms, B = projection$B)
}

# Weighted least squares of y on B with a robust covariance (see robust_vcov()). Columns that
# are linear combinations of earlier ones (e.g. x^2 of a 0/1 x in a polynomial basis) are
# dropped with a warning, as lm() does; `B` of the result holds the columns kept.
linear_projection <- function(y, B, weights, cluster, vcov_type) {
  w <- unit_weights(weights, length(y))
  qr_B <- qr(B * sqrt(w))
  if (qr_B$rank < ncol(B)) {
    dropped <- colnames(B)[qr_B$pivot[-seq_len(qr_B$rank)]]
    if (qr_B$rank == 0L) fd_abort("dimension", "The basis has no column with variation.")
    fd_warn("collinear", c("Dropped {length(dropped)} basis column{?s} that {?is a/are} linear combination{?s} of the others: {.field {dropped}}.",
                           i = "A 0/1 covariate's square equals itself, and a constant column duplicates the intercept."))
    B <- B[, sort(qr_B$pivot[seq_len(qr_B$rank)]), drop = FALSE]
    qr_B <- qr(B * sqrt(w))
  }
  beta <- drop(qr.coef(qr_B, y * sqrt(w)))
  names(beta) <- colnames(B)
  V <- robust_vcov(B, y - drop(B %*% beta), w, cluster, vcov_type)
  dimnames(V) <- list(colnames(B), colnames(B))
  list(coefficients = beta, vcov = V, B = B)
}

# Sandwich covariance of a weighted least-squares fit with design X, residuals e and weights w:
# bread (X'WX)^-1, meat sum (w e)^2 x x' (HC0), times n/(n-k) (HC1), with w e / sqrt(1 - h) or
# w e / (1 - h) (HC2, HC3; h_i = w_i x_i'(X'WX)^-1 x_i); with clusters the meat sums the scores
# within clusters, times G/(G-1) (and (n-1)/(n-k) for HC1).
robust_vcov <- function(X, e, w, cluster, type) {
  n <- nrow(X)
  k <- ncol(X)
  bread <- solve(crossprod(X, X * w))
  score_weight <- w * e
  if (type %in% c("HC2", "HC3")) {
    h <- w * rowSums((X %*% bread) * X)
    score_weight <- score_weight / if (type == "HC2") sqrt(1 - h) else (1 - h)
  }
  scores <- X * score_weight
  if (is.null(cluster)) {
    meat <- crossprod(scores)
    if (type == "HC1") meat <- meat * n / (n - k)
  } else {
    n_clusters <- length(unique(cluster))
    meat <- crossprod(rowsum(scores, cluster, reorder = FALSE)) * n_clusters / (n_clusters - 1)
    if (type == "HC1") meat <- meat * (n - 1) / (n - k)
  }
  bread %*% meat %*% bread
}

check_vcov_type <- function(vcov_type, cluster) {
  vcov_type <- arg_match(vcov_type, c("HC0", "HC1", "HC2", "HC3"), "vcov_type")
  if (!is.null(cluster) && vcov_type %in% c("HC2", "HC3")) {
    fd_abort("argument", c("{.code vcov_type = \"{vcov_type}\"} is not available with clusters.",
                           i = "Use {.val HC0} or {.val HC1} (cluster-robust, with the G/(G-1) adjustment)."))
  }
  vcov_type
}

# The basis matrix of the fit's rows and what predict() needs to rebuild it for new data.
basis_design <- function(fit, basis, data) {
  if (is.null(data)) {
    data <- as.data.frame(fit$spec$X)
  } else {
    if (!is.data.frame(data) || nrow(data) != fit$n) {
      fd_abort("argument", c("{.arg data} must be a data frame with one row per row of the fit ({fit$n}).",
                             i = "Pass the table the fit's {.fn causal_data} was built from."))
    }
  }
  if (is.null(basis)) basis <- stats::reformulate(sprintf("`%s`", colnames(fit$spec$X)))
  if (!inherits(basis, "formula") || length(basis) != 2L) {
    fd_abort("argument", c("{.arg basis} must be a one-sided formula such as {.code ~ x1 + poly(x2, 2)}.",
                           i = "Variables are looked up in the fit's covariates or in {.arg data}."))
  }
  unknown <- setdiff(all.vars(basis), names(data))
  if (length(unknown)) {
    fd_abort("column", c("The basis uses {.field {unknown}}, not among the fit's covariates.",
                         i = "Pass the table with those columns as {.arg data}."))
  }
  frame <- stats::model.frame(basis, data, na.action = stats::na.pass)
  terms <- stats::terms(frame)
  B <- stats::model.matrix(terms, frame)
  if (anyNA(B)) fd_abort("non_finite", "The basis has missing values; impute them first (see {.fn median_imputer}).")
  list(B = B, terms = terms)
}

#' @rdname cate_blp
#' @param object A `fastdml_blp` object.
#' @param newdata A data frame with the basis variables; `NULL` for the fit's rows.
#' @param variance Also return the variance of each prediction.
#' @param ... Unused.
#' @return `predict()`: a numeric vector of CATE predictions, or with `variance = TRUE` a data
#'   frame with columns `estimate` and `variance`.
#' @export
predict.fastdml_blp <- function(object, newdata = NULL, variance = FALSE, ...) {
  B <- if (is.null(newdata)) object$B else new_basis(object, newdata)
  if (anyNA(B)) fd_abort("non_finite", "{.arg newdata} has missing values in the basis variables.")
  estimate <- unname(drop(B %*% object$coefficients))
  if (!isTRUE(variance)) return(estimate)
  data.frame(estimate = estimate, variance = rowSums((B %*% object$vcov) * B))
}

# The basis of new rows: the formula's terms, or the cluster scores of cate_clusters().
new_basis <- function(object, newdata) {
  if (!is.null(object$clustering)) {
    Z <- numeric_table(newdata, "newdata", object$clustering$columns)
    return(cluster_scores(Z, object$clustering))
  }
  if (!is.data.frame(newdata)) fd_abort("argument", "{.arg newdata} must be a data frame.")
  terms <- stats::delete.response(object$basis_terms)
  B <- stats::model.matrix(terms, stats::model.frame(terms, newdata, na.action = stats::na.pass))
  B[, colnames(object$B), drop = FALSE]
}

#' @export
coef.fastdml_blp <- function(object, ...) object$coefficients

#' @export
vcov.fastdml_blp <- function(object, ...) object$vcov

#' @export
confint.fastdml_blp <- function(object, parm, level = object$level, ...) {
  tab <- tidy.fastdml_blp(object, conf.level = level)
  out <- cbind(tab$conf.low, tab$conf.high)
  dimnames(out) <- list(tab$term, sprintf("%.1f %%", 100 * c((1 - level) / 2, (1 + level) / 2)))
  if (missing(parm)) out else out[parm, , drop = FALSE]
}

#' @rdname cate_blp
#' @param x A `fastdml_blp` object.
#' @param conf.level Confidence level of the intervals.
#' @export
tidy.fastdml_blp <- function(x, conf.level = x$level, ...) {
  coefficient_table(x$coefficients, sqrt(diag(x$vcov)), conf.level, contrast = x$contrast)
}

# The broom-style table of estimates with normal p-values and intervals.
coefficient_table <- function(estimate, se, level, ...) {
  z <- stats::qnorm((1 + level) / 2)
  data.frame(..., term = names(estimate), estimate = unname(estimate), std.error = unname(se),
             statistic = unname(estimate / se), p.value = unname(2 * stats::pnorm(-abs(estimate / se))),
             conf.low = unname(estimate - z * se), conf.high = unname(estimate + z * se),
             row.names = NULL)
}

#' @export
print.fastdml_blp <- function(x, ...) {
  cat(cli::format_inline("{.cls fastdml_blp}: {x$method}"), "\n", sep = "")
  cat(cli::format_inline("Contrast {.val {x$contrast}}, {x$n} rows"), "\n", sep = "")
  tab <- tidy.fastdml_blp(x)
  print(format_coefficient_table(tab[-1L]), row.names = FALSE)
  invisible(x)
}

format_coefficient_table <- function(tab) {
  numeric_cols <- vapply(tab, is.numeric, logical(1))
  tab[numeric_cols] <- lapply(tab[numeric_cols], signif, digits = 4)
  tab
}
