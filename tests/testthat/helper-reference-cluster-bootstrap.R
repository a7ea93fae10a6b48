# Independent reference of the nonparametric cluster bootstrap of ratios of sums, written from
# the definition in plain base R (no fastdml internals): resample the clusters with
# replacement and recompute sum(num) / sum(den) per column over the rows of the drawn clusters.
# Deliberately a plain loop. This file only defines functions; it contains no expectations.

# num, den: n x K matrices; cluster: ids (any values; rows of rowsum() are the sorted distinct
# ids) or NULL (every row its own cluster). Returns the B x K matrix of draws.
ref_cluster_bootstrap <- function(num, den, cluster, B, seed) {
  num <- as.matrix(num)
  den <- as.matrix(den)
  if (is.null(cluster)) cluster <- seq_len(nrow(num))
  set.seed(seed)
  S <- rowsum(num, cluster, reorder = TRUE)
  D <- rowsum(den, cluster, reorder = TRUE)
  G <- nrow(S)
  out <- matrix(NA_real_, B, ncol(num))
  for (b in seq_len(B)) {
    idx <- sample.int(G, G, replace = TRUE)
    out[b, ] <- colSums(S[idx, , drop = FALSE]) / colSums(D[idx, , drop = FALSE])
  }
  out
}
