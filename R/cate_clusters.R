#' Heterogeneity along clusters of the covariates (cluster-score basis)
#'
#' Summarises many covariates into a few soft cluster memberships and projects the CATE on them
#' (DESIGN.md §4, `specs/amazon-ci-dml.md`): the effect modifiers are standardised, their top
#' `n_pc` principal components computed, and k-means with `k` centres run on the component
#' scores; each row's soft score for cluster c is psi_c = (1 / d_c) / sum_j (1 / d_j), with d_j
#' its distance to centre j (one-hot when it sits on a centre). The rows of psi sum to one, so
#' the best linear projection of the pseudo-outcomes on psi (no intercept, see [cate_blp()])
#' gives one effect per cluster, and a unit-level effect h_i = psi_i' beta with variance
#' psi_i' V psi_i (`predict(het, variance = TRUE)`).
#'
#' @inheritParams cate_blp
#' @param k Number of clusters.
#' @param n_pc Number of principal components kept (at most the number of effect modifiers).
#' @param effect_modifiers Covariates to cluster on: names of the fit's covariates (default
#'   all), or a numeric matrix / data frame with one row per row of the fit.
#' @param seed Seed of the k-means starts (`NULL`: the current RNG stream).
#' @param nstart Random starts of k-means.
#' @return A `fastdml_cate_clusters` object (a `fastdml_blp`): coefficients per cluster, the
#'   clustering (`$clustering`: centring, scaling, rotation, centres, explained variance) and
#'   the methods of [cate_blp()].
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' het <- cate_clusters(fit, k = 3, n_pc = 2, seed = 1)
#' het
#' summary(predict(het, variance = TRUE)$estimate)
#' @export
cate_clusters <- function(fit, k = 4L, n_pc = 3L, effect_modifiers = NULL, contrast = NULL,
                          vcov_type = c("HC0", "HC1", "HC2", "HC3"), level = 0.95, seed = NULL,
                          nstart = 10L) {
  contrast <- fit_contrasts(fit, contrast, single = TRUE, caller = "cate_clusters")[[1L]]
  vcov_type <- check_vcov_type(vcov_type, fit$spec$cluster)
  check_level(level)
  Z <- effect_modifier_matrix(fit, effect_modifiers)
  check_count(k, "k", 2L)
  check_count(n_pc, "n_pc", 1L)
  check_count(nstart, "nstart", 1L)
  if (n_pc > ncol(Z)) {
    fd_abort("argument", c("{.arg n_pc} = {n_pc} exceeds the {ncol(Z)} effect modifier{?s}.",
                           i = "Use at most {ncol(Z)} components."))
  }
  if (k > fit$n / 2) fd_abort("argument", "{.arg k} = {k} clusters is too many for {fit$n} rows.")
  clustering <- with_seed(seed, fit_clustering(Z, k, n_pc, nstart))
  psi <- cluster_scores(Z, clustering)
  gamma <- pseudo_outcomes(fit, contrast$arm)
  projection <- linear_projection(gamma, psi, fit$spec$weights, fit$spec$cluster, vcov_type)
  new_cate(c("fastdml_cate_clusters", "fastdml_blp"),
           sprintf("CATE on %d soft clusters of %d principal components (%s SE%s)", k, n_pc,
                   vcov_type, if (is.null(fit$spec$cluster)) "" else ", cluster-robust"),
           fit, contrast, drop(psi %*% projection$coefficients),
           coefficients = projection$coefficients, vcov = projection$vcov, level = level,
           B = psi, clustering = clustering,
           cluster_sizes = tabulate(max.col(psi, ties.method = "first"), k))
}

# PCA of the standardised modifiers and k-means on the top components' scores.
fit_clustering <- function(Z, k, n_pc, nstart) {
  center <- colMeans(Z)
  scale <- sqrt(colSums((Z - rep(center, each = nrow(Z)))^2) / (nrow(Z) - 1))
  scale[!(scale > 0)] <- 1
  standardised <- (Z - rep(center, each = nrow(Z))) / rep(scale, each = nrow(Z))
  sv <- svd(standardised, nu = 0, nv = n_pc)
  scores <- standardised %*% sv$v
  distinct <- nrow(unique(round(scores, 12)))
  if (distinct < k) {
    fd_abort("argument", c("Only {distinct} distinct points for {k} clusters.",
                           i = "Use fewer clusters or more effect modifiers."))
  }
  km <- stats::kmeans(scores, centers = k, nstart = nstart, iter.max = 100L)
  variance <- sv$d^2 / sum(sv$d^2)
  list(columns = colnames(Z), center = center, scale = scale, rotation = sv$v,
       centers = km$centers, explained_variance = variance, k = k, n_pc = n_pc)
}

# Soft scores psi_ic = (1 / d_ic) / sum_j (1 / d_ij); a row on a centre is one-hot.
cluster_scores <- function(Z, clustering) {
  standardised <- (Z - rep(clustering$center, each = nrow(Z))) / rep(clustering$scale, each = nrow(Z))
  scores <- standardised %*% clustering$rotation
  distance <- sqrt(pmax(outer(rowSums(scores^2), rep(1, clustering$k)) -
                          2 * scores %*% t(clustering$centers) +
                          outer(rep(1, nrow(scores)), rowSums(clustering$centers^2)), 0))
  inverse <- 1 / distance
  on_centre <- which(distance < 1e-12, arr.ind = TRUE)
  if (nrow(on_centre)) {
    inverse[on_centre[, 1L], ] <- 0
    inverse[on_centre] <- 1
  }
  psi <- inverse / rowSums(inverse)
  colnames(psi) <- paste0("cluster", seq_len(clustering$k))
  psi
}
