# The causal forest engine of DESIGN.md §4, "CATE" (R/forest-core.R, src/core/cate/):
# reproducibility across threads and seeds, accuracy against the known CATE and against grf,
# little-bags interval coverage, and exact small cases (single leaf, weights as duplicates).

# Simulated data with a known CATE tau(x) = 1 + x1 - 0.5 x2 and oracle residuals.
sim_forest <- function(n, p = 6, seed = 1, tau_fun = function(X) 1 + X[, 1] - 0.5 * X[, 2]) {
  set.seed(seed)
  X <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  e <- plogis(0.5 * X[, 3])
  d <- rbinom(n, 1, e)
  tau <- tau_fun(X)
  mu <- X[, 3] + X[, 4]
  y <- mu + tau * d + rnorm(n)
  list(X = X, y = y, d = d, tau = tau, y_res = y - (mu + tau * e), d_res = d - e)
}

# The weighted residual-on-residual slope after centring (one leaf holding every row).
closed_form_slope <- function(y, d, w = rep(1, length(y))) {
  dc <- d - sum(w * d) / sum(w)
  yc <- y - sum(w * y) / sum(w)
  sum(w * dc * yc) / sum(w * dc^2)
}

single_leaf <- list(num_trees = 1L, ci_group_size = 1L, sample_fraction = 1, honesty = FALSE,
                    min_node_size = 1e6L, seed = 3)

test_that("forests and predictions are bit-identical across thread counts and runs", {
  s <- sim_forest(1500, p = 5, seed = 11)
  opts <- list(num_trees = 200L, seed = 7)
  fits <- lapply(c(1L, 2L, 4L, 2L), function(k) {
    fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, opts, num_threads = k)
  })
  for (k in 2:4) expect_identical(fits[[k]]$trees, fits[[1]]$trees)
  expect_identical(fits[[4]]$split_counts, fits[[1]]$split_counts)
  new_x <- s$X[1:300, ] + 0.1
  preds <- lapply(c(1L, 2L, 4L), function(k) {
    list(oob = fastdml:::forest_predict(fits[[1]], NULL, variance = TRUE, num_threads = k),
         new = fastdml:::forest_predict(fits[[1]], new_x, variance = TRUE, num_threads = k))
  })
  expect_identical(preds[[2]], preds[[1]])
  expect_identical(preds[[3]], preds[[1]])
  expect_true(all(is.finite(preds[[1]]$oob$estimates)))
  expect_true(all(preds[[1]]$new$variance > 0))

  other <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, list(num_trees = 200L, seed = 8), 2L)
  expect_false(identical(other$trees$split, fits[[1]]$trees$split))
  other_pred <- fastdml:::forest_predict(other, new_x)$estimates
  expect_false(isTRUE(all.equal(other_pred, preds[[1]]$new$estimates)))
  # Weighted forests are reproducible too.
  w <- runif(nrow(s$X), 0.5, 2)
  w1 <- fastdml:::forest_train(s$X, s$y_res, s$d_res, w, opts, 1L)
  w2 <- fastdml:::forest_train(s$X, s$y_res, s$d_res, w, opts, 2L)
  expect_identical(w1$trees, w2$trees)
})

accuracy <- local({
  s <- sim_forest(4000, p = 6, seed = 1)
  model <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, list(seed = 1), 2L)
  test <- sim_forest(2000, p = 6, seed = 2)
  list(s = s, model = model, test = test,
       oob = fastdml:::forest_predict(model, NULL, variance = TRUE, num_threads = 2L),
       pred = fastdml:::forest_predict(model, test$X, variance = TRUE, num_threads = 2L))
})

test_that("the model is a compact list of arrays with the defaults filled in", {
  model <- accuracy$model
  expect_s3_class(model, "fastdml_forest_model")
  expect_identical(model$options$num_trees, 2000L)
  expect_identical(model$options$mtry, 6L)  # min(ceiling(sqrt(6) + 20), 6)
  expect_identical(model$colnames, paste0("x", 1:6))
  expect_length(model$trees$node_offset, 2001L)
  expect_identical(length(model$trees$leaf_stats), 5L * model$trees$leaf_offset[2001L])
  expect_length(model$edges, 6L)
  expect_true(all(vapply(model$edges, length, 1L) <= 254L))
  leaves <- model$trees$split == -1L
  expect_identical(sum(leaves), model$trees$leaf_offset[2001L])
  expect_null(fastdml:::forest_predict(model, accuracy$test$X[1:5, ])$variance)
})

test_that("out-of-bag CATE estimates recover the known effect", {
  s <- accuracy$s
  est <- accuracy$oob$estimates
  expect_length(est, nrow(s$X))
  expect_true(all(is.finite(est)))
  expect_gt(cor(est, s$tau), 0.85)
  rmse <- sqrt(mean((est - s$tau)^2))
  rmse_ate <- sqrt(mean((mean(s$tau) - s$tau)^2))
  expect_lt(rmse, 0.5 * rmse_ate)
  imp <- fastdml:::forest_importance(accuracy$model)
  expect_named(imp, paste0("x", 1:6))
  expect_equal(sum(imp), 1, tolerance = 1e-12)
  expect_identical(unname(order(-imp)[1:2]), 1:2)
})

test_that("predictions agree with grf::causal_forest given the same residuals", {
  skip_if_not_installed("grf")
  s <- accuracy$s
  test <- accuracy$test
  cf <- grf::causal_forest(s$X, s$y, s$d, Y.hat = s$y - s$y_res, W.hat = s$d - s$d_res,
                           num.trees = 2000, num.threads = 2, seed = 1)
  theirs <- predict(cf, test$X, estimate.variance = TRUE)
  ours <- accuracy$pred
  expect_gt(cor(ours$estimates, theirs$predictions), 0.9)
  rmse_ours <- sqrt(mean((ours$estimates - test$tau)^2))
  rmse_grf <- sqrt(mean((theirs$predictions - test$tau)^2))
  expect_lt(rmse_ours, 1.1 * rmse_grf)
  # The variances are of the same size (both by little bags).
  ratio <- median(ours$variance) / median(theirs$variance.estimates)
  expect_gt(ratio, 0.5)
  expect_lt(ratio, 2)
  oob_grf <- predict(cf)$predictions
  expect_gt(cor(accuracy$oob$estimates, oob_grf), 0.9)
})

test_that("pointwise 95% intervals cover the true CATE near the nominal rate", {
  test <- accuracy$test
  pred <- accuracy$pred
  expect_true(all(is.finite(pred$variance) & pred$variance > 0))
  half <- qnorm(0.975) * sqrt(pred$variance)
  coverage <- mean(abs(pred$estimates - test$tau) <= half)
  s <- accuracy$s
  oob_coverage <- mean(abs(accuracy$oob$estimates - s$tau) <= qnorm(0.975) * sqrt(accuracy$oob$variance))
  message(sprintf("forest 95%% interval coverage: test %.3f, out of bag %.3f", coverage, oob_coverage))
  expect_gt(coverage, 0.6)
  expect_gt(oob_coverage, 0.6)
})

test_that("a constant effect is estimated as constant", {
  s <- sim_forest(3000, p = 4, seed = 5, tau_fun = function(X) rep(2, nrow(X)))
  model <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, list(num_trees = 500L, seed = 2), 2L)
  est <- fastdml:::forest_predict(model, NULL, num_threads = 2L)$estimates
  expect_lt(abs(mean(est) - 2), 0.15)
  expect_lt(sd(est), 0.3)
})

test_that("a single-leaf forest gives the closed-form weighted slope", {
  s <- sim_forest(500, p = 4, seed = 9)
  model <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, single_leaf, 1L)
  expect_identical(model$trees$split, -1L)
  est <- fastdml:::forest_predict(model, s$X[1:7, ])$estimates
  expect_equal(est, rep(closed_form_slope(s$y_res, s$d_res), 7), tolerance = 1e-10)
  w <- runif(500, 0.1, 3)
  weighted <- fastdml:::forest_train(s$X, s$y_res, s$d_res, w, single_leaf, 1L)
  est_w <- fastdml:::forest_predict(weighted, s$X[1:7, ])$estimates
  expect_equal(est_w, rep(closed_form_slope(s$y_res, s$d_res, w), 7), tolerance = 1e-10)
  # Every row is in the only tree's subsample: no out-of-bag estimate, and no variance from
  # fewer than two little-bag groups.
  oob <- fastdml:::forest_predict(model, NULL, variance = TRUE)
  expect_true(all(is.nan(oob$estimates)))
  expect_true(all(is.nan(oob$variance)))
})

test_that("integer weights act as duplicated rows", {
  s <- sim_forest(400, p = 4, seed = 13)
  w <- sample(1:3, 400, replace = TRUE)
  rows <- rep(seq_len(400), w)
  weighted <- fastdml:::forest_train(s$X, s$y_res, s$d_res, w, single_leaf, 1L)
  duplicated <- fastdml:::forest_train(s$X[rows, ], s$y_res[rows], s$d_res[rows], NULL, single_leaf, 1L)
  stats_w <- weighted$trees$leaf_stats
  stats_d <- duplicated$trees$leaf_stats
  expect_equal(stats_w / stats_w[1], stats_d / stats_d[1], tolerance = 1e-10)
  expect_equal(fastdml:::forest_predict(weighted, s$X[1:5, ])$estimates,
               fastdml:::forest_predict(duplicated, s$X[1:5, ])$estimates, tolerance = 1e-10)
})

test_that("tree options are honoured", {
  s <- sim_forest(2000, p = 4, seed = 21)
  stumps <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL,
                                   list(num_trees = 50L, max_depth = 1L, seed = 1), 1L)
  expect_true(all(diff(stumps$trees$node_offset) <= 3L))
  expect_identical(sum(stumps$split_counts[, 2:4]), 0L)
  big <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL,
                                list(num_trees = 50L, min_node_size = 200L, seed = 1), 1L)
  small <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL,
                                  list(num_trees = 50L, min_node_size = 5L, seed = 1), 1L)
  expect_lt(length(big$trees$split), length(small$trees$split))
  plain <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL,
                                  list(num_trees = 50L, stabilize_splits = FALSE, honesty = FALSE,
                                       ci_group_size = 1L, seed = 1), 2L)
  est <- fastdml:::forest_predict(plain, NULL, variance = TRUE)
  expect_true(all(is.finite(est$estimates)))
  expect_true(all(is.nan(est$variance)))
  expect_error(fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL,
                                      list(sample_fraction = 0.8), 1L), "sample_fraction")
  expect_error(fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, list(num_trees = 3L), 1L))
  expect_error(fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, list(bogus = 1), 1L), "bogus")
  expect_error(fastdml:::forest_predict(plain, s$X[, 1:3]))
})

# ---- Clusters -----------------------------------------------------------------------------


# Forests (little bags; weights, 4-tree bags and mtry; no bags, no honesty) and their predictions.
regression_outputs <- function(...) {
  s <- sim_forest(700, p = 5, seed = 31)
  w <- seq(0.5, 2, length.out = 700)
  configs <- list(list(num_trees = 60L, seed = 4),
                  list(num_trees = 40L, seed = 5, ci_group_size = 4L, sample_fraction = 0.3, mtry = 2L),
                  list(num_trees = 30L, seed = 6, ci_group_size = 1L, sample_fraction = 0.7, honesty = FALSE))
  lapply(seq_along(configs), function(k) {
    model <- fastdml:::forest_train(s$X, s$y_res, s$d_res, if (k == 2L) w else NULL, configs[[k]], 2L, ...)
    list(trees = model$trees, oob = fastdml:::forest_predict(model, NULL, variance = TRUE),
         new = fastdml:::forest_predict(model, s$X[1:50, ] * 0.9, variance = TRUE))
  })
}

test_that("without clusters the forest is bit-identical to the forest before clusters existed", {
  # Saved from the build before the cluster argument was added (x86_64 Linux, R 4.2.2).
  skip_if_not(R.version$arch == "x86_64", "saved output is from x86_64")
  out <- regression_outputs()
  expect_identical(vapply(out, fingerprint, ""),
                   c("8ec560021d34ce4c0a0604742736a2ff", "23e7b0b239b1ebfbd3d088fa6b0beb09",
                     "1e6f340d4d6151d2b853962038152695"))
  expect_identical(out[[1]]$oob$estimates[1:6],
                   as.numeric(c("0x1.80fe9052fc7d7p+0", "0x1.421f2965dbf2fp-2", "0x1.56ff7784301f1p+0",
                                "0x1.0a7a3578f399ep+1", "0x1.33a80c58d111ap+0", "-0x1.1413110dcbf4ep-4")))
  expect_identical(out[[2]]$oob$variance[1:3],
                   as.numeric(c("0x1.2277aa46aed6fp-4", "0x1.0f836445bc6d2p-5", "0x1.9f8406e3f3034p-3")))
  # One cluster per row (ids in row order) is the row path exactly.
  expect_identical(regression_outputs(cluster = 1:700), out)
})

test_that("clustered forests are bit-identical across thread counts and reproducible by seed", {
  s <- sim_forest(1200, p = 4, seed = 17)
  set.seed(3)
  cl <- sample(rep(1:150, length.out = 1200))
  opts <- list(num_trees = 100L, seed = 7)
  fits <- lapply(c(1L, 2L, 3L, 2L), function(k) {
    fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, opts, num_threads = k, cluster = cl)
  })
  for (k in 2:4) expect_identical(fits[[k]]$trees, fits[[1]]$trees)
  expect_identical(fits[[1]]$cluster, cl)
  preds <- lapply(c(1L, 2L, 3L), function(k) {
    list(oob = fastdml:::forest_predict(fits[[k]], NULL, variance = TRUE, num_threads = k),
         new = fastdml:::forest_predict(fits[[k]], s$X[1:100, ] + 0.1, variance = TRUE, num_threads = k))
  })
  expect_identical(preds[[2]], preds[[1]])
  expect_identical(preds[[3]], preds[[1]])
  expect_true(all(is.finite(preds[[1]]$oob$estimates)))
  expect_true(all(preds[[1]]$oob$variance >= 0))
  expect_false(identical(fits[[1]]$trees, fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, opts, 2L)$trees))
  other <- fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, list(num_trees = 100L, seed = 8), 2L, cluster = cl)
  expect_false(identical(other$trees$split, fits[[1]]$trees$split))
  w <- runif(1200, 0.5, 2)
  expect_identical(fastdml:::forest_train(s$X, s$y_res, s$d_res, w, opts, 1L, cluster = cl)$trees,
                   fastdml:::forest_train(s$X, s$y_res, s$d_res, w, opts, 3L, cluster = cl)$trees)
  expect_error(fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, opts, 1L, cluster = cl + 1L), "every id")
  expect_error(fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, opts, 1L, cluster = rep(1L, 1200)), "2 clusters")
  expect_error(fastdml:::forest_train(s$X, s$y_res, s$d_res, NULL, opts, 1L, cluster = cl[-1]))
})

test_that("trees sample whole clusters and out of bag a row skips every tree holding its cluster", {
  # Single-leaf trees on the whole subsample: a leaf's statistics are its rows' means. With
  # weights 1 / cluster size and y = 2^(cluster - 1) the ratio of mean w y to mean w is
  # (sum of 2^(c - 1) over the tree's clusters) / (its number of clusters), which decodes the
  # tree's cluster set exactly when the tree holds every row of each drawn cluster.
  set.seed(5)
  G <- 20L
  size <- sample(3:12, G, replace = TRUE)
  cl <- sample(rep(seq_len(G), size))
  n <- length(cl)
  X <- matrix(rnorm(n * 2), n, 2)
  y <- 2^(cl - 1)
  d <- sample(c(-1, 1), n, replace = TRUE)
  w <- 1 / size[cl]
  for (bags in c(1L, 2L)) {
    opts <- list(num_trees = 40L, ci_group_size = bags, sample_fraction = if (bags == 1L) 0.3 else 0.5,
                 honesty = FALSE, min_node_size = 1e6L, seed = 11)
    model <- fastdml:::forest_train(X, y, d, w, opts, 2L, cluster = cl)
    expect_identical(model$trees$split, rep(-1L, 40))
    v <- matrix(model$trees$leaf_stats, ncol = 5, byrow = TRUE)
    k <- if (bags == 1L) 6 else 10  # floor(0.3 * 20) clusters; ceil(2 * 0.5 * floor(20 / 2))
    code <- k * v[, 3] / v[, 1]
    expect_lt(max(abs(code - round(code))), 1e-6)
    holds <- outer(round(code), seq_len(G), function(m, c) bitwAnd(m, 2^(c - 1)) > 0)
    expect_true(all(rowSums(holds) == k))
    pred <- fastdml:::forest_predict(model, NULL, variance = bags > 1L)
    slope <- function(V) {
      S <- V / V[1]
      (S[5] - S[2] * S[3]) / (S[4] - S[2]^2)
    }
    expected <- vapply(seq_len(n), function(i) slope(colMeans(v[!holds[, cl[i]], , drop = FALSE])), 1)
    expect_equal(pred$estimates, expected, tolerance = 1e-10)
    if (bags > 1L) {
      # Both trees of a group hold the whole half-sample; a group is used when its half-sample
      # does not hold the row's cluster (GRF's little-bags variance, forest_predictor.h).
      variance <- vapply(seq_len(n), function(i) {
        use <- !holds[, cl[i]]
        V <- colMeans(v[use, , drop = FALSE])
        S <- V / V[1]
        tau <- slope(V)
        a <- c((2 * S[2] * S[3] - S[5]) - tau * (2 * S[2]^2 - S[4]), 2 * tau * S[2] - S[3],
               -S[2], -tau, 1) / ((S[4] - S[2]^2) * V[1])
        psi <- drop(v[use, , drop = FALSE] %*% a)
        group <- (which(use) + 1L) %/% 2L
        psi_k <- tapply(psi, group, mean)
        between <- max(0, mean(psi_k^2) - mean(psi_k)^2)
        e <- between - (mean(psi^2) - mean(psi_k)^2 - between)
        scale <- max(between, between - e) * sqrt(2 / length(psi_k))
        if (scale > 0) e + scale * dnorm(e / scale) / pnorm(e / scale) else max(e, 0)
      }, 1)
      expect_equal(pred$variance, variance, tolerance = 1e-6)
    }
  }
})

test_that("out-of-bag predictions do not absorb the row's own cluster", {
  # Each cluster has its own extreme effect, identifiable from a covariate equal to a random
  # code of the cluster. Row-level out-of-bag predictions still see the cluster's other rows
  # and recover its effect; clustered ones only see other clusters, with unrelated effects.
  set.seed(8)
  G <- 100L
  cl <- sample(rep(seq_len(G), 40))
  code <- runif(G)
  effect <- 5 * sample(c(-1, 1), G, replace = TRUE)
  X <- cbind(code = code[cl], noise = rnorm(length(cl)))
  d <- rbinom(length(cl), 1, 0.5) - 0.5
  y <- effect[cl] * d + rnorm(length(cl))
  opts <- list(num_trees = 300L, min_node_size = 2L, seed = 2)
  plain <- fastdml:::forest_predict(fastdml:::forest_train(X, y, d, NULL, opts, 2L))$estimates
  clustered <- fastdml:::forest_predict(fastdml:::forest_train(X, y, d, NULL, opts, 2L, cluster = cl))$estimates
  expect_gt(cor(plain, effect[cl]), 0.8)
  expect_lt(abs(cor(clustered, effect[cl])), 0.3)
})
