# The cluster bootstrap core (cluster_bootstrap_draws(), core/inference/cluster_bootstrap.h)
# against the plain-R loop ref_cluster_bootstrap() (helper-reference-cluster-bootstrap.R).

cb_case <- function(n = 400, G = 40, K = 1, seed = 1) {
  set.seed(seed)
  cluster <- sample.int(G, n, replace = TRUE, prob = seq_len(G))  # unequal cluster sizes
  cluster[seq_len(G)] <- seq_len(G)                               # every id present
  w <- stats::runif(n, 0.2, 3)
  phi <- stats::rnorm(n, mean = cluster / G)
  segment <- sample.int(K, n, replace = TRUE)
  if (K > 1) segment[segment == K & cluster > G / 4] <- 1L  # segment K only in clusters <= G/4
  inside <- outer(segment, seq_len(K), `==`)
  list(num = w * phi * inside, den = w * inside, cluster = cluster)
}

test_that("draws equal the R loop (K = 1 and K = 4, weights, absent segments)", {
  for (K in c(1, 4)) {
    case <- cb_case(K = K, seed = K)
    if (K > 1) expect_true(any(rowsum(case$den, case$cluster)[, K] == 0))
    ours <- fastdml:::cluster_bootstrap_draws(case$num, case$den, case$cluster, 60, seed = 11)
    ref <- ref_cluster_bootstrap(case$num, case$den, case$cluster, 60, seed = 11)
    expect_identical(dim(ours), c(60L, as.integer(K)))
    expect_equal(ours, ref, tolerance = 1e-10)
  }
})

test_that("cluster = NULL resamples rows; ids with gaps are compacted like rowsum()", {
  case <- cb_case(n = 50, G = 10, K = 2, seed = 3)
  expect_equal(fastdml:::cluster_bootstrap_draws(case$num, case$den, NULL, 40, seed = 2),
               ref_cluster_bootstrap(case$num, case$den, NULL, 40, seed = 2), tolerance = 1e-10)
  gappy <- 3L * case$cluster + 5L
  expect_equal(fastdml:::cluster_bootstrap_draws(case$num, case$den, gappy, 40, seed = 2),
               ref_cluster_bootstrap(case$num, case$den, gappy, 40, seed = 2), tolerance = 1e-10)
  expect_equal(fastdml:::cluster_bootstrap_draws(case$num, case$den, as.numeric(gappy), 40, seed = 2),
               fastdml:::cluster_bootstrap_draws(case$num, case$den, case$cluster, 40, seed = 2))
  v <- fastdml:::cluster_bootstrap_draws(case$num[, 1], case$den[, 1], NULL, 5, seed = 2)
  expect_equal(v, ref_cluster_bootstrap(case$num[, 1], case$den[, 1], NULL, 5, seed = 2),
               tolerance = 1e-10)
})

test_that("the drawn indices are exactly sample.int(G, G, replace = TRUE)", {
  # One row per cluster, segment k = cluster k: theta_bk = (times cluster k drawn) / G.
  for (G in c(1L, 7L, 300L)) {
    ours <- fastdml:::cluster_bootstrap_draws(diag(G), matrix(1, G, G), seq_len(G), 25, seed = 9)
    set.seed(9)
    counts <- t(vapply(1:25, function(b) tabulate(sample.int(G, G, replace = TRUE), G) / G,
                       numeric(G)))
    expect_identical(ours, if (G == 1L) matrix(counts, ncol = 1L) else counts)
  }
})

test_that("seed = NULL advances R's stream like the loop; a seed restores the caller's state", {
  case <- cb_case(n = 100, G = 13, seed = 4)
  set.seed(5)
  ours <- fastdml:::cluster_bootstrap_draws(case$num, case$den, case$cluster, 20, seed = NULL)
  after_ours <- stats::runif(1)
  set.seed(5)
  for (b in 1:20) sample.int(13L, 13L, replace = TRUE)
  expect_identical(stats::runif(1), after_ours)
  set.seed(1)
  fastdml:::cluster_bootstrap_draws(case$num, case$den, case$cluster, 20, seed = 77)
  after <- stats::runif(1)
  set.seed(1)
  expect_identical(stats::runif(1), after)
})

test_that("a segment absent from a resample gives NaN exactly in those draws", {
  G <- 20L
  cluster <- rep(seq_len(G), each = 3)
  phi <- stats::rnorm(length(cluster))
  in2 <- cluster == 1L  # segment 2 lives only in cluster 1
  num <- cbind(phi, phi * in2)
  den <- cbind(1, as.numeric(in2))
  ours <- fastdml:::cluster_bootstrap_draws(num, den, cluster, 80, seed = 21)
  set.seed(21)
  absent <- vapply(1:80, function(b) !1L %in% sample.int(G, G, replace = TRUE), logical(1))
  expect_true(any(absent) && !all(absent))
  expect_identical(is.nan(ours[, 2]), absent)
  expect_false(anyNA(ours[, 1]))
  expect_equal(ours, ref_cluster_bootstrap(num, den, cluster, 80, seed = 21), tolerance = 1e-10,
               ignore_attr = TRUE)
})

test_that("bad inputs raise classed errors", {
  m <- matrix(1, 5, 2)
  expect_error(fastdml:::cluster_bootstrap_draws(m, m[, 1], NULL, 5, 1), class = "fastdml_error")
  expect_error(fastdml:::cluster_bootstrap_draws(m, m, c(1, 2, NA, 1, 2), 5, 1),
               class = "fastdml_error")
  expect_error(fastdml:::cluster_bootstrap_draws(m, m, 1:4, 5, 1), class = "fastdml_error")
  expect_error(fastdml:::cluster_bootstrap_draws(m, m, c(1, 2, 1.5, 1, 2), 5, 1),
               class = "fastdml_error")
  expect_error(fastdml:::cluster_bootstrap_draws(m, m, c(0L, 1L, 1L, 2L, 2L), 5, 1),
               class = "fastdml_error")
  expect_error(fastdml:::cluster_bootstrap_draws(m, m, NULL, 0, 1), class = "fastdml_error")
})
