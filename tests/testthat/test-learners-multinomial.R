# The multinomial logistic learner (kind = "multinomial"), through the core cross-fit binding:
# targets are K one-hot columns (the first the reference class), predictions the K class
# probabilities. Checked against the Newton reference in helper-reference-multinomial.R.

# n rows, p covariates, K classes drawn from a softmax model (with one badly scaled column).
multinom_data <- function(n, p, K, seed, scale = 0.8) {
  set.seed(seed)
  X <- matrix(rnorm(n * p), n, p)
  X[, p] <- X[, p] * 1e3 + 5e3
  B <- matrix(rnorm(p * (K - 1), sd = scale), p, K - 1) / c(rep(1, p - 1), 1e3)
  P <- ref_softmax(sweep(X, 2, c(rep(0, p - 1), 5e3)) %*% B)
  cls <- apply(P, 1, function(pr) sample.int(K, 1, prob = pr))
  Y <- outer(cls, seq_len(K), `==`) * 1
  list(X = X, Y = Y, cls = cls)
}

multinom_group <- function(Y, ridge = 0, weights = NULL, mask = NULL, kind = "multinomial") {
  list(learner = list(kind = kind, ridge = ridge),
       targets = lapply(seq_len(ncol(Y)), function(k) Y[, k]),
       mask = mask, weights = weights, members = paste0("m", seq_len(ncol(Y))))
}

# Cross-fitted probabilities of one group: a list of K n x n_rep matrices.
multinom_crossfit <- function(X, folds, group, num_threads = 1L) {
  fastdml:::.fastdml_crossfit(X, folds, list(group), num_threads, TRUE, NULL)[[1]]
}

draw_folds <- function(n, n_folds, n_rep, seed) {
  set.seed(seed)
  matrix(replicate(n_rep, sample(rep_len(seq_len(n_folds), n))), n, n_rep)
}

test_that("multinomial probabilities equal the Newton reference fold by fold", {
  for (K in 3:4) {
    dat <- multinom_data(n = 600, p = 4, K = K, seed = K)
    folds <- draw_folds(nrow(dat$X), 4, 2, seed = 10 + K)
    set.seed(20 + K)
    w <- runif(nrow(dat$X), 0.2, 3)
    for (ridge in c(0, 3)) {
      for (weights in list(NULL, w)) {
        out <- multinom_crossfit(dat$X, folds, multinom_group(dat$Y, ridge, weights))
        expect_length(out, K)
        for (s in seq_len(ncol(folds))) {
          ref <- ref_multinom_crossfit(dat$X, dat$Y, folds[, s], weights, ridge)
          got <- sapply(out, function(m) m[, s])
          expect_equal(got, ref, tolerance = 1e-8)
        }
      }
    }
  }
})

test_that("multinomial training respects the mask and the full fit matches the reference", {
  dat <- multinom_data(n = 500, p = 3, K = 3, seed = 7)
  folds <- draw_folds(nrow(dat$X), 5, 1, seed = 8)
  set.seed(9)
  mask <- as.integer(runif(nrow(dat$X)) < 0.7)
  w <- rexp(nrow(dat$X))
  out <- multinom_crossfit(dat$X, folds, multinom_group(dat$Y, 1, w, mask))
  ref <- ref_multinom_crossfit(dat$X, dat$Y, folds[, 1], w, 1, mask)
  expect_equal(sapply(out, function(m) m[, 1]), ref, tolerance = 1e-8)

  full <- fastdml:::.fastdml_fit_predict(dat$X, multinom_group(dat$Y, 1, w, mask), 1L, TRUE)
  Z <- ref_multinom_design(dat$X)
  keep <- mask == 1L
  B <- ref_multinom_fit(Z[keep, ], dat$Y[keep, ], w[keep], ridge = 1)
  expect_equal(sapply(full, function(m) m[, 1]), ref_softmax(Z %*% B), tolerance = 1e-8)
})

test_that("multinomial probabilities lie in (0, 1) and sum to 1", {
  dat <- multinom_data(n = 800, p = 5, K = 5, seed = 11)
  folds <- draw_folds(nrow(dat$X), 5, 2, seed = 12)
  out <- multinom_crossfit(dat$X, folds, multinom_group(dat$Y, 0.5))
  total <- Reduce(`+`, out)
  expect_equal(total, matrix(1, nrow(dat$X), ncol(folds)), tolerance = 1e-12)
  for (m in out) expect_true(all(m > 0 & m < 1))
})

test_that("with two classes the multinomial learner is the logistic learner", {
  dat <- multinom_data(n = 700, p = 4, K = 2, seed = 13)
  folds <- draw_folds(nrow(dat$X), 5, 2, seed = 14)
  for (ridge in c(0, 2)) {
    multi <- multinom_crossfit(dat$X, folds, multinom_group(dat$Y, ridge))
    logit <- fastdml:::.fastdml_crossfit(dat$X, folds, list(list(
      learner = list(kind = "logistic", ridge = ridge), targets = list(dat$Y[, 2]),
      mask = NULL, members = "m")), 1L, TRUE, NULL)[[1]][[1]]
    expect_equal(multi[[2]], logit, tolerance = 1e-8)
    expect_equal(multi[[1]], 1 - logit, tolerance = 1e-8)
  }
})

test_that("multinomial cross-fits are identical for 1 and 2 threads", {
  # More rows than one chunk of a reduction (32768), so the passes really split, and than twice
  # the warm-start subsample (50000), so the warm start is fitted on every second row only.
  dat <- multinom_data(n = 120000, p = 3, K = 3, seed = 15)
  folds <- draw_folds(nrow(dat$X), 3, 1, seed = 16)
  set.seed(17)
  w <- runif(nrow(dat$X), 0.5, 2)
  group <- multinom_group(dat$Y, 0.1, w)
  one <- multinom_crossfit(dat$X, folds, group, 1L)
  two <- multinom_crossfit(dat$X, folds, group, 2L)
  expect_identical(one, two)
  ref <- ref_multinom_crossfit(dat$X, dat$Y, folds[, 1], w, 0.1)
  expect_equal(sapply(one, function(m) m[, 1]), ref, tolerance = 1e-8)
  expect_identical(fastdml:::.fastdml_fit_predict(dat$X, group, 1L, TRUE),
                   fastdml:::.fastdml_fit_predict(dat$X, group, 2L, TRUE))
})

test_that("multinomial targets must be one-hot and weights non-negative", {
  dat <- multinom_data(n = 200, p = 2, K = 3, seed = 18)
  folds <- draw_folds(nrow(dat$X), 3, 1, seed = 19)
  two_ones <- dat$Y
  two_ones[5, ] <- c(1, 1, 0)
  no_class <- dat$Y
  no_class[7, ] <- 0
  fractional <- dat$Y
  fractional[9, ] <- c(0.5, 0.5, 0)
  for (Y in list(two_ones, no_class, fractional)) {
    expect_error(multinom_crossfit(dat$X, folds, multinom_group(Y)), "one-hot")
    expect_error(fastdml:::.fastdml_fit_predict(dat$X, multinom_group(Y), 1L, TRUE), "one-hot")
  }
  # A broken row outside the training mask is never read.
  mask <- rep(1L, nrow(dat$X))
  mask[5] <- 0L
  expect_silent(multinom_crossfit(dat$X, folds, multinom_group(two_ones, mask = mask)))
  expect_error(multinom_crossfit(dat$X, folds, multinom_group(dat$Y[, 1, drop = FALSE])), "K >= 2")
  w <- rep(1, nrow(dat$X))
  w[3] <- -1
  expect_error(multinom_crossfit(dat$X, folds, multinom_group(dat$Y, weights = w)), "weights")
  expect_error(multinom_crossfit(dat$X, folds, multinom_group(dat$Y, ridge = -1)), "ridge")
})

test_that("the multinomial learner converges on (quasi-)separated data", {
  set.seed(20)
  n <- 600
  X <- matrix(rnorm(n * 3), n, 3)
  cls <- ifelse(X[, 1] < -0.5, 1L, ifelse(X[, 1] < 0.5, 2L, 3L))
  for (flips in c(0, 3)) {
    cl <- cls
    cl[seq_len(flips)] <- cl[seq_len(flips)] %% 3L + 1L   # a few mislabelled rows
    Y <- outer(cl, 1:3, `==`) * 1
    folds <- draw_folds(n, 5, 1, seed = 21)
    out <- multinom_crossfit(X, folds, multinom_group(Y))
    P <- sapply(out, function(m) m[, 1])
    expect_true(all(is.finite(P)))
    expect_equal(rowSums(P), rep(1, n), tolerance = 1e-12)
    expect_gt(mean(max.col(P) == cl), 0.95)
  }
})

test_that("an aliased or constant covariate leaves the multinomial probabilities unchanged", {
  dat <- multinom_data(n = 600, p = 3, K = 3, seed = 30)
  folds <- draw_folds(nrow(dat$X), 4, 1, seed = 31)
  plain <- multinom_crossfit(dat$X, folds, multinom_group(dat$Y))
  aliased <- multinom_crossfit(cbind(dat$X, dat$X[, 1]), folds, multinom_group(dat$Y))
  constant <- multinom_crossfit(cbind(dat$X, 1), folds, multinom_group(dat$Y))
  expect_equal(aliased, plain, tolerance = 1e-8)
  expect_equal(constant, plain, tolerance = 1e-8)
})

test_that("the multinomial learner agrees with nnet::multinom", {
  skip_if_not_installed("nnet")
  dat <- multinom_data(n = 1000, p = 3, K = 4, seed = 22)
  full <- fastdml:::.fastdml_fit_predict(dat$X, multinom_group(dat$Y), 1L, TRUE)
  Xs <- scale(dat$X)
  fit <- nnet::multinom(dat$Y ~ Xs, trace = FALSE, maxit = 1000, reltol = 1e-14, abstol = 1e-14)
  expect_equal(sapply(full, function(m) m[, 1]), unname(fitted(fit)), tolerance = 1e-5)
})
