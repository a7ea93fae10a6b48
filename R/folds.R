#' Draw cross-fitting folds
#'
#' Draws `n_rep` independent partitions of the rows into `n_folds` folds with R's random number
#' generator: stratified on a binary or multi-arm treatment (each fold keeps the arms' shares), and by
#' cluster when the data have clusters (all rows of a cluster share a fold). Assignment is
#' balanced: fold sizes (in rows, or in clusters) differ by at most one, so no fold is empty. The estimators call
#' it for you; call it yourself to reuse the same folds across fits (argument `folds`).
#'
#' @param spec A [causal_data()] object, or the number of rows (>= 2).
#' @param n_folds Number of folds K (2 <= K <= n).
#' @param n_rep Number of repetitions (independent partitions).
#' @param stratify Stratify on the treatment when it is binary (ignored with clusters).
#' @param seed Optional seed (`set.seed` semantics; the caller's RNG state is restored).
#' @return An n x `n_rep` integer matrix of fold ids 1..K.
#' @family data
#' @examples
#' spec <- causal_data(sim_lesson(200, seed = 1), "outcome", "treatment",
#'                     c("age", "browsing_time", "income"))
#' folds <- make_folds(spec, n_folds = 5, n_rep = 2, seed = 3)
#' table(folds[, 1], spec$d)
#' @export
make_folds <- function(spec, n_folds = 5L, n_rep = 1L, stratify = TRUE, seed = NULL) {
  if (is_causal_data(spec)) check_spec(spec) else check_count(spec, "spec", 2L)
  draw_folds(spec, n_folds, n_rep, stratify, seed)
}

# make_folds() for a spec already checked (the estimators' path).
draw_folds <- function(spec, n_folds, n_rep, stratify, seed) {
  n <- if (is_causal_data(spec)) spec$n else as.integer(spec)
  check_count(n_rep, "n_rep", 1L)
  check_count(n_folds, "n_folds", 2L)
  check_flag(stratify, "stratify")
  n_folds <- as.integer(n_folds)
  cluster <- if (is_causal_data(spec)) spec$cluster else NULL
  units <- if (is.null(cluster)) n else max(cluster)
  if (n_folds > units) {
    fd_abort("folds", c("{.arg n_folds} = {n_folds} exceeds the number of {if (is.null(cluster)) 'rows' else 'clusters'} ({units}).",
                        i = "Use fewer folds."))
  }
  strata <- if (isTRUE(stratify) && is.null(cluster) && is_causal_data(spec) &&
                spec$treatment_type %in% c("binary", "multi")) spec$d else NULL
  with_seed(seed, {
    folds <- matrix(0L, nrow = n, ncol = n_rep)
    for (s in seq_len(n_rep)) {
      folds[, s] <- if (is.null(cluster)) {
        assign_folds(n, n_folds, strata)
      } else {
        assign_folds(units, n_folds, NULL)[cluster]
      }
    }
    folds
  })
}

# Fold ids for m units, balanced: the units are put in random order (grouped by stratum when
# strata are given) and dealt to folds 1..K in turn from a random start, so every fold gets
# floor(m / K) or ceiling(m / K) units and, within each stratum, the counts differ by at most
# one. No fold is empty when m >= K.
assign_folds <- function(m, n_folds, strata = NULL) {
  order <- sample.int(m)
  if (!is.null(strata)) order <- order[order(strata[order], method = "radix")]
  start <- sample.int(n_folds, 1L) - 1L
  ids <- integer(m)
  ids[order] <- ((seq_len(m) + start - 1L) %% n_folds) + 1L
  ids
}

check_count <- function(x, arg, min) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || !is.finite(x) || x != round(x) || x < min ||
      x > .Machine$integer.max) {
    fd_abort("argument", "{.arg {arg}} must be a whole number >= {min} (and at most {format(.Machine$integer.max, big.mark = ',')}), not {.val {format_value(x)}}.")
  }
  invisible(as.integer(x))
}

# The folds of a fit: user-supplied (vector or matrix, validated) or drawn. `given` says
# whether n_folds / n_rep were passed explicitly: they must then agree with user folds.
resolve_folds <- function(spec, folds, n_folds, n_rep, seed, given = c(n_folds = FALSE, n_rep = FALSE)) {
  if (is.null(folds)) return(draw_folds(spec, n_folds, n_rep, TRUE, seed))
  if (is.data.frame(folds)) folds <- as.matrix(folds)
  if (is.vector(folds) && !is.list(folds)) folds <- matrix(folds, ncol = 1L)
  if (!is.matrix(folds) || !is.numeric(folds) || nrow(folds) != spec$n) {
    found <- if (!is.numeric(folds)) "It is a {.cls {class(folds)}}." else
      "It has {if (is.matrix(folds)) nrow(folds) else length(folds)} rows."
    fd_abort("folds", c("{.arg folds} must be an integer vector of length n = {spec$n} or an n x n_rep matrix.",
                        x = found))
  }
  if (ncol(folds) == 0L) fd_abort("folds", "{.arg folds} has no columns; give one column of fold ids per repetition.")
  if (anyNA(folds) || any(!is.finite(folds)) || any(folds != round(folds)) || min(folds) < 1) {
    fd_abort("folds", "{.arg folds} must hold fold ids 1, 2, ..., K without missing values.")
  }
  storage.mode(folds) <- "integer"
  if (isTRUE(given[["n_rep"]]) && ncol(folds) != n_rep) {
    fd_abort("folds", c("{.arg n_rep} = {n_rep} disagrees with the {ncol(folds)} column{?s} of {.arg folds}.",
                        i = "Drop {.arg n_rep}: it follows from {.arg folds}."))
  }
  for (s in seq_len(ncol(folds))) {
    k <- max(folds[, s])
    if (k < 2L) fd_abort("folds", "{.arg folds} column {s} has a single fold; cross-fitting needs >= 2.")
    if (isTRUE(given[["n_folds"]]) && k != n_folds) {
      fd_abort("folds", c("{.arg n_folds} = {n_folds} disagrees with the {k} folds of {.arg folds} (column {s}).",
                          i = "Drop {.arg n_folds}: it follows from {.arg folds}."))
    }
    missing_ids <- which(tabulate(folds[, s], k) == 0L)
    if (length(missing_ids)) {
      fd_abort("folds", "{.arg folds} column {s} has no rows in fold{?s} {missing_ids}; ids must be 1..K.")
    }
    if (!is.null(spec$cluster)) {
      pairs <- unique(data.frame(cluster = spec$cluster, fold = folds[, s]))
      split <- sum(duplicated(pairs$cluster))
      if (split > 0) {
        fd_warn("folds", c("{.arg folds} column {s} splits {split} cluster{?s} across folds.",
                           i = "Cross-fitting with clustered data should keep each cluster in one fold; {.fn make_folds} does."))
      }
    }
  }
  folds
}

# IRM needs both arms in every training sample and enough rows per arm.
check_folds_have_both_arms <- function(spec, folds) {
  arms <- spec$treatment_levels
  binary <- length(arms) == 2L
  arm_name <- function(a) if (binary) c("control arm", "treated arm")[a] else cli::format_inline("arm {.val {arms[a]}}")
  rows_of <- function(a) if (binary) c("control rows", "treated rows")[a] else cli::format_inline("rows of arm {.val {arms[a]}}")
  counts <- tabulate(spec$d + 1L, length(arms))
  k <- max(folds)
  if (min(counts) < k) {
    arm <- which.min(counts)
    fd_abort("folds", c("The treatment {.field {spec$treatment}} has {counts[arm]} row{?s} in the {arm_name(arm)}, fewer than the {k} folds.",
                     i = "Use fewer folds or more data."))
  }
  for (s in seq_len(ncol(folds))) {
    k <- max(folds[, s])
    held_out <- vapply(seq_along(arms), function(a) tabulate(folds[spec$d == a - 1L, s], k), numeric(k))
    empty <- which(matrix(held_out, k) == rep(counts, each = k), arr.ind = TRUE)
    if (nrow(empty)) {
      fold <- min(empty[, 1])
      lacking <- empty[empty[, 1] == fold, 2]
      a <- lacking[order(lacking == 1L)][1]  # name a treated arm before the control arm
      fd_abort("folds", c("The training sample of fold {fold} (repetition {s}) has no {rows_of(a)}.",
                       i = "Every training fold needs every arm: stratify the folds on the treatment ({.fn make_folds} does) or use fewer folds."))
    }
  }
  invisible(folds)
}
