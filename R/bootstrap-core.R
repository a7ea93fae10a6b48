# Nonparametric cluster bootstrap of ratios of sums (DESIGN.md §4, "Inference";
# specs/recsys-aipw.md step 4): the R side of core/inference/cluster_bootstrap.h.

#' B x K cluster-bootstrap draws of ratios of sums
#'
#' Draw b resamples the G clusters with replacement (`sample.int(G, G, replace = TRUE)` from R's
#' RNG) and returns, for every column k, the sum of `num[, k]` over the rows of the drawn
#' clusters divided by the sum of `den[, k]` (NaN when that denominator is 0). A weighted mean
#' of scores `phi` in segment k is `num[, k] = w * phi * in_k`, `den[, k] = w * in_k`.
#' @param num,den n x K numeric matrices (or length-n vectors: K = 1).
#' @param cluster Integer cluster ids (1..G; ids without rows are dropped, as by
#'   `rowsum(reorder = TRUE)`), or NULL: every row is its own cluster.
#' @param B Number of draws.
#' @param seed Seed (`set.seed()` semantics, the caller's RNG state is restored) or NULL: the
#'   current RNG stream is used and advanced.
#' @return A B x K matrix; column names those of `num`.
#' @noRd
cluster_bootstrap_draws <- function(num, den, cluster, B, seed) {
  num <- as.matrix(num)
  den <- as.matrix(den)
  # Coerce only when needed: storage.mode<- on the caller's matrix makes R copy it later.
  if (!is.double(num)) storage.mode(num) <- "double"
  if (!is.double(den)) storage.mode(den) <- "double"
  if (!identical(dim(num), dim(den)) || nrow(num) < 1L || ncol(num) < 1L) {
    fd_abort("argument", "{.arg num} and {.arg den} must be non-empty matrices of the same shape.")
  }
  check_number(B, "B", lower = 1, upper = .Machine$integer.max, open = c(FALSE, FALSE))
  ids <- NULL
  n_clusters <- 0L
  if (!is.null(cluster)) {
    # Checks by reductions (no n-length temporaries for integer ids).
    ok <- is.numeric(cluster) && length(cluster) == nrow(num) && !anyNA(cluster) &&
      min(cluster) >= 1 && max(cluster) <= .Machine$integer.max
    if (ok) ids <- as.integer(cluster)
    if (!ok || (!is.integer(cluster) && !all(ids == cluster))) {
      fd_abort("argument", "{.arg cluster} must hold one whole-number id >= 1 per row, or be {.code NULL}.")
    }
    n_clusters <- max(ids)
    present <- tabulate(ids, n_clusters) > 0L
    if (!all(present)) {  # compact to the ids that occur, in increasing order
      ids <- cumsum(present)[ids]
      n_clusters <- sum(present)
    }
    ids <- ids - 1L
  }
  draws <- with_seed(seed, core_call(.fastdml_cluster_bootstrap(num, den, ids, n_clusters,
                                                                as.integer(B))))
  colnames(draws) <- colnames(num)
  draws
}
