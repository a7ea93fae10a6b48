#' Short-stacking of several learners
#'
#' `lrn_stack()` combines two or more learners by short-stacking (Ahrens, Hansen, Schaffer and
#' Wiemann 2024, "Model averaging and double machine learning"). Every base learner is
#' cross-fitted on the same folds (built-in learners stay in C++); then, per repetition, one set
#' of weights `w >= 0`, `sum(w) = 1`, is fitted on all the out-of-fold predictions of the rows
#' where the nuisance is trained (not refitted fold by fold), and the stacked prediction of
#' every row is `sum_l w_l p_l`, so the predictions stay out of fold.
#'
#' The weights minimise the squared error for a regression target, and the log loss of the
#' averaged probability (clamped to \[1e-12, 1 - 1e-12\]) when all base learners are
#' classifiers, or when the target is 0/1 and every base learner predicts within \[0, 1\]. Both
#' problems are solved to the optimum (active set on the simplex; Newton steps for the log
#' loss), not approximately.
#'
#' @param ... Two or more learners such as [lrn_linear()], [lrn_logistic()] or [lrn_custom()]
#'   (not another stack). Argument names label them; unnamed learners are labelled by their own
#'   label, made unique.
#' @param name A short label of the stack shown in printed results.
#' @return A `fastdml_learner` (of class `fastdml_stack`) whose element `learners` is the named
#'   list of base learners.
#' @family learners
#' @examples
#' lrn_stack(linear = lrn_linear(), logistic = lrn_logistic())
#'
#' df <- sim_lesson(n = 400, seed = 63)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' lm_fit <- lrn_custom(
#'   fit = function(x, y) stats::lm.fit(cbind(1, x, x^2), y)$coefficients,
#'   predict = function(model, x) drop(cbind(1, x, x^2) %*% model),
#'   name = "quadratic")
#' stacked <- lrn_stack(lrn_linear(), lm_fit)
#' dml_plr(spec, learner_outcome = stacked, learner_treatment = stacked, n_folds = 2, seed = 1)
#' @export
lrn_stack <- function(..., name = "stack") {
  learners <- list(...)
  check_string(name, "name")
  if (length(learners) < 2L) {
    fd_abort("argument", c("{.fn lrn_stack} needs two or more learners, not {length(learners)}.",
                           i = "Give the learners to combine, e.g. {.code lrn_stack(lrn_linear(), lrn_custom(...))}."))
  }
  given <- names(learners)
  if (is.null(given)) given <- rep("", length(learners))
  given[is.na(given)] <- ""
  for (i in seq_along(learners)) {
    arg <- if (nzchar(given[i])) given[i] else paste0("..", i)
    check_learner(learners[[i]], arg)
    if (inherits(learners[[i]], "fastdml_stack") || identical(learners[[i]]$kind, "stack")) {
      fd_abort("argument", c("{.arg {arg}} is itself a stack: {.fn lrn_stack} cannot contain a stack.",
                             i = "List its base learners in one {.fn lrn_stack} call instead."))
    }
  }
  explicit <- given[nzchar(given)]
  if (anyDuplicated(explicit)) {
    fd_abort("argument", "The learners of {.fn lrn_stack} have duplicated names: {.val {unique(explicit[duplicated(explicit)])}}.")
  }
  labels <- given
  for (i in which(!nzchar(given))) {
    base <- learners[[i]]$label
    candidate <- base
    k <- 2L
    while (candidate %in% labels) {
      candidate <- paste0(base, "_", k)
      k <- k + 1L
    }
    labels[i] <- candidate
  }
  names(learners) <- labels
  classifier <- all(vapply(learners, function(l) isTRUE(l$classifier), logical(1)))
  stack <- new_learner("stack", ridge = NA_real_, label = name, classifier = classifier)
  stack$learners <- learners
  class(stack) <- c("fastdml_stack", class(stack))
  stack
}

#' @export
print.fastdml_stack <- function(x, ...) {
  n_base <- length(x$learners)
  cat(cli::format_inline("{.cls fastdml_learner} {x$label}: short-stacking of {n_base} learners"),
      "\n", sep = "")
  for (i in seq_along(x$learners)) {
    base <- x$learners[[i]]
    label <- names(x$learners)[i]
    inner <- base$label
    where <- if (isTRUE(base$builtin)) "C++, threaded" else "R, fold by fold"
    cat(cli::format_inline("  {label}: {inner} ({where})"), "\n", sep = "")
  }
  invisible(x)
}

# Cross-fits a stack nuisance: each base learner on the same folds through crossfit_nuisances
# (built-in ones in C++), then per repetition one set of simplex weights on the out-of-fold
# predictions of the training rows (the mask rows). Returns the stacked n x n_rep predictions,
# the weights (data.table nuisance, learner, rep, weight) and the base predictions.
crossfit_stack <- function(spec, folds, def, name, num_threads) {
  learners <- def$learner$learners
  base <- lapply(learners, function(learner) {
    one <- def
    one$learner <- learner
    fitted <- crossfit_nuisances(spec, folds, stats::setNames(list(one), name), num_threads)
    fitted$preds[[name]]
  })
  n <- length(def$target)
  rows <- if (is.null(def$mask)) seq_len(n) else which(def$mask == 1L)
  y <- def$target[rows]
  classifier <- isTRUE(def$learner$classifier) ||
    (all(y == 0 | y == 1) &&
       all(vapply(base, function(p) all(p[rows, ] >= 0 & p[rows, ] <= 1), logical(1))))
  n_rep <- ncol(folds)
  pred <- matrix(NA_real_, n, n_rep)
  weights <- vector("list", n_rep)
  for (s in seq_len(n_rep)) {
    P <- do.call(cbind, lapply(base, function(p) p[, s]))
    w <- stack_weights(P[rows, , drop = FALSE], y, classifier)
    pred[, s] <- drop(P %*% w)
    weights[[s]] <- data.table::data.table(nuisance = name, learner = names(learners),
                                           rep = s, weight = w)
  }
  list(pred = pred, weights = data.table::rbindlist(weights), base = base)
}

# Stacking weights on the simplex (w >= 0, sum(w) = 1) for the predictions P (rows x learners)
# of y: least squares, or the log loss of q = P w (clamped to [1e-12, 1 - 1e-12]) for a
# classifier.
stack_weights <- function(P, y, classifier = FALSE) {
  P <- as.matrix(P)
  storage.mode(P) <- "double"
  y <- as.double(y)
  if (ncol(P) == 1L) return(1)
  w <- if (classifier) simplex_logloss(P, y) else simplex_lsq(P, y)
  stats::setNames(w, colnames(P))
}

# min ||b - A w||^2 over the simplex, exactly: a primal active-set method (Lawson-Hanson with
# the sum constraint). On a support S the problem is reparametrised as an unconstrained least
# squares fit, w_S = e_1 + sum_{l > 1} v_l (e_l - e_1), solved by QR of the column differences
# (aliased differences get weight 0). Optimal when the gradient -A'(b - A w) is equal on the
# support and not smaller off it (KKT), to a tolerance relative to the scale of the problem.
simplex_lsq <- function(A, b, tol = 1e-11) {
  L <- ncol(A)
  scale <- sqrt(max(colSums(A^2))) * sqrt(sum(b^2)) / nrow(A)
  kkt_tol <- tol * max(scale, .Machine$double.xmin)
  support <- which.min(colSums((b - A)^2))
  w <- numeric(L)
  w[support] <- 1
  for (iter in seq_len(10L * L + 50L)) {
    g <- -drop(crossprod(A, b - drop(A %*% w))) / nrow(A)
    off <- setdiff(seq_len(L), support)
    if (!length(off)) break
    level <- mean(g[support])
    entering <- off[which.min(g[off])]
    if (g[entering] - level >= -kkt_tol) break
    candidate <- c(support, entering)
    w_new <- w
    first <- TRUE
    stalled <- FALSE
    repeat {
      z <- face_lsq(A[, candidate, drop = FALSE], b)
      if (all(z > 0)) {
        w_new[] <- 0
        w_new[candidate] <- z
        break
      }
      # step from the current point towards z until the first weight reaches 0; drop it
      cur <- w_new[candidate]
      neg <- z <= 0
      ratio <- rep(Inf, length(cur))
      ratio[neg] <- ifelse(cur[neg] > 0, cur[neg] / (cur[neg] - z[neg]), 0)
      blocking <- which.min(ratio)
      if (first && ratio[blocking] == 0 && candidate[blocking] == entering) {
        stalled <- TRUE   # no descent into the entering learner: rounding, w is optimal
        break
      }
      first <- FALSE
      cur <- cur + ratio[blocking] * (z - cur)
      cur[blocking] <- 0
      cur[cur < 0] <- 0
      w_new[] <- 0
      w_new[candidate] <- cur
      candidate <- candidate[cur > 0]
    }
    if (stalled) break
    w <- w_new / sum(w_new)
    support <- candidate
  }
  w
}

# min ||b - A z||^2 subject to sum(z) = 1 (no sign constraint), by the reparametrisation above.
face_lsq <- function(A, b) {
  k <- ncol(A)
  if (k == 1L) return(1)
  D <- A[, -1L, drop = FALSE] - A[, 1L]
  v <- qr.coef(qr(D, tol = 1e-12), b - A[, 1L])
  v[is.na(v)] <- 0
  c(1 - sum(v), v)
}

# min mean log loss of q = P w over the simplex: Newton steps whose quadratic model is a
# weighted least-squares problem solved exactly on the simplex by simplex_lsq(), with an
# Armijo line search along the segment to the model's minimiser (which stays feasible).
simplex_logloss <- function(P, y, tol = 1e-11, max_iter = 200L) {
  n <- nrow(P)
  L <- ncol(P)
  lo <- 1e-12
  loss <- function(w) {
    q <- pmin(pmax(drop(P %*% w), lo), 1 - lo)
    -mean(y * log(q) + (1 - y) * log(1 - q))
  }
  w <- rep(1 / L, L)
  f <- loss(w)
  for (iter in seq_len(max_iter)) {
    eta <- drop(P %*% w)
    q <- pmin(pmax(eta, lo), 1 - lo)
    u <- -y / q + (1 - y) / (1 - q)
    h <- y / q^2 + (1 - y) / (1 - q)^2
    g <- drop(crossprod(P, u)) / n
    scale <- max(1, abs(g))
    support <- which(w > 0)
    off <- setdiff(seq_len(L), support)
    spread <- max(g[support]) - min(g[support])
    below <- if (length(off)) mean(g[support]) - min(g[off]) else -Inf
    if (spread <= tol * scale && below <= tol * scale) break
    sw <- sqrt(h)
    target <- simplex_lsq(P * sw, sw * eta - u / sw)
    d <- target - w
    slope <- sum((g - mean(g[support])) * d)   # sum(d) = 0: centring removes its rounding
    if (!(slope < 0)) break
    t <- 1
    # Close to the optimum the decrease is below the rounding of the loss: take the full
    # Newton step, which converges there quadratically.
    if (-slope > 1e-13 * max(1, abs(f))) {
      repeat {
        f_new <- loss(w + t * d)
        if (f_new <= f + 1e-4 * t * slope || t < 1e-12) break
        t <- t / 2
      }
      if (f_new > f) break
    }
    w_next <- if (t == 1) target else pmax(w + t * d, 0)
    w <- w_next / sum(w_next)
    f <- loss(w)
  }
  w
}
