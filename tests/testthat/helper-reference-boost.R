# Independent base-R reference implementation of the histogram gradient
# boosting used by lrn_boost(), written from the written algorithm
# specification only (NOT from the package's C++/R code). Used by the tests as
# ground truth. Function definitions only.
#
# Spec points implemented (numbering as in the spec):
#  1. Binning once from ALL n rows of X, per feature: bin 0 = NA, B = max_bins - 1
#     value bins; m <= B distinct values -> mid-point thresholds
#     0.5 * (u_i + u_{i+1}); otherwise quantile candidates s[floor(b * N / B) + 1],
#     b = 1..B-1, distinct, the maximum dropped; bin(x) = 1 + #{t : t < x}.
#  2. f0 = weighted mean of y over the training rows (regression) or its
#     logit clamped to [1e-6, 1 - 1e-6] (binary); per round g, h from the
#     current raw score (regression g = w (f - y), h = w; binary
#     g = w (q - y), h = w max(q (1 - q), 1e-16)); one tree per round; binary
#     predictions are 1 / (1 + exp(-f)).
#  3. Candidates ordered by feature, then bin b = 1..(last value bin - 1), and
#     for nodes holding NA rows NA-left before NA-right (otherwise NA goes
#     right); gain = GL^2/(HL+l) + GR^2/(HR+l) - G^2/(H+l); admissible iff
#     HL, HR >= min_child_weight, CL, CR >= min_child_size and
#     gain > 1e-12 * G^2 / (H + l); a later candidate replaces the best only
#     if strictly better. Best-first growth: split the leaf (depth < max_depth)
#     with the largest best gain, ties -> earliest created leaf; stop when no
#     leaf can be split or #leaves == max_leaves (> 0). Leaf value
#     -eta * G / (H + lambda).
# Not covered: subsample / colsample < 1, early stopping, multiclass.

# Binning (spec 1). Returns bins (integer n x p, 0 = NA) and the per-feature
# thresholds.
ref_boost_bins <- function(X, max_bins = 255) {
  X <- as.matrix(X)
  storage.mode(X) <- "double"
  n_value_bins <- max_bins - 1          # bin 0 is reserved for NA
  p <- ncol(X)
  bins <- matrix(0L, nrow(X), p)
  thresholds <- vector("list", p)
  for (j in seq_len(p)) {
    x <- X[, j]
    s <- sort(x[!is.na(x)])
    N <- length(s)
    u <- unique(s)
    m <- length(u)
    if (m <= n_value_bins) {
      thr <- if (m >= 2) 0.5 * (u[-m] + u[-1]) else numeric(0)
    } else {
      b <- seq_len(n_value_bins - 1)
      idx <- floor(b * N / n_value_bins)  # 0-based index into s
      thr <- unique(s[idx + 1])
      thr <- thr[thr != u[m]]
    }
    thresholds[[j]] <- thr
    # bin = 1 + number of thresholds strictly below x
    # (findInterval with left.open = TRUE counts t < x)
    ok <- !is.na(x)
    bins[ok, j] <- as.integer(findInterval(x[ok], thr, left.open = TRUE) + 1L)
  }
  list(bins = bins, thresholds = thresholds)
}

# Sums of v over the bins 0..n_bins of one feature (index 1 = NA bin).
ref_boost_bin_sums <- function(v, b, n_bins) {
  out <- numeric(n_bins + 1)
  agg <- rowsum(v, b)
  out[as.integer(rownames(agg)) + 1L] <- agg[, 1]
  out
}

# Best admissible split of one node (spec 3), or NULL.
ref_boost_best_split <- function(bins, n_bins, g, h, rows, lambda,
                                 min_child_weight, min_child_size) {
  G <- sum(g[rows]); H <- sum(h[rows]); C <- length(rows)
  parent <- G^2 / (H + lambda)
  best <- NULL
  for (j in seq_len(ncol(bins))) {
    K <- n_bins[j]                      # last value bin of feature j
    if (K < 2) next
    b <- bins[rows, j]
    Gb <- ref_boost_bin_sums(g[rows], b, K)
    Hb <- ref_boost_bin_sums(h[rows], b, K)
    Cb <- ref_boost_bin_sums(rep(1, C), b, K)
    # value bins 1..b on the left, b = 1..K-1
    cG <- cumsum(Gb[-1])[seq_len(K - 1)]
    cH <- cumsum(Hb[-1])[seq_len(K - 1)]
    cC <- cumsum(Cb[-1])[seq_len(K - 1)]
    # candidate order: for each b, NA left then NA right (only "right" when
    # the node has no NA rows)
    na_sides <- if (Cb[1] > 0) c(TRUE, FALSE) else FALSE
    cand <- expand.grid(na_left = na_sides, bin = seq_len(K - 1))
    GL <- cG[cand$bin] + ifelse(cand$na_left, Gb[1], 0)
    HL <- cH[cand$bin] + ifelse(cand$na_left, Hb[1], 0)
    CL <- cC[cand$bin] + ifelse(cand$na_left, Cb[1], 0)
    GR <- G - GL; HR <- H - HL; CR <- C - CL
    gain <- GL^2 / (HL + lambda) + GR^2 / (HR + lambda) - parent
    ok <- HL >= min_child_weight & HR >= min_child_weight &
      CL >= min_child_size & CR >= min_child_size &
      gain > 1e-12 * parent
    ok[is.na(ok)] <- FALSE
    if (!any(ok)) next
    gain[!ok] <- -Inf
    k <- which.max(gain)                # first maximum = earliest candidate
    if (is.null(best) || gain[k] > best$gain) {
      best <- list(gain = gain[k], feature = j, bin = cand$bin[k],
                   na_left = cand$na_left[k])
    }
  }
  best
}

# Grow one tree on the rows `rows` (spec 3). Returns the node data.frame;
# row i of it is node i (root = 1, children numbered in creation order).
ref_boost_grow_tree <- function(bins, n_bins, g, h, rows, learning_rate,
                                max_depth, max_leaves, lambda,
                                min_child_weight, min_child_size) {
  node_rows <- list(rows)
  depth <- 0L
  split <- list(NULL)
  find_split <- function(r, d) {
    if (d >= max_depth) return(NULL)
    ref_boost_best_split(bins, n_bins, g, h, r, lambda,
                         min_child_weight, min_child_size)
  }
  split[1] <- list(find_split(rows, 0L))
  is_leaf <- TRUE
  chosen <- list(NULL)                  # split actually applied per node
  left <- NA_integer_; right <- NA_integer_
  repeat {
    if (max_leaves > 0 && sum(is_leaf) >= max_leaves) break
    # splittable leaf with the largest gain; ties -> smallest id (created first)
    pick <- NA_integer_
    for (id in which(is_leaf)) {
      s <- split[[id]]
      if (!is.null(s) && (is.na(pick) || s$gain > split[[pick]]$gain)) pick <- id
    }
    if (is.na(pick)) break
    s <- split[[pick]]
    r <- node_rows[[pick]]
    b <- bins[r, s$feature]
    go_left <- ifelse(b == 0L, s$na_left, b <= s$bin)
    for (side in c(TRUE, FALSE)) {
      child_rows <- r[go_left == side]
      id <- length(node_rows) + 1L
      node_rows[[id]] <- child_rows
      depth[id] <- depth[pick] + 1L
      split[id] <- list(find_split(child_rows, depth[id]))
      chosen[id] <- list(NULL)
      is_leaf[id] <- TRUE
      left[id] <- NA_integer_; right[id] <- NA_integer_
      if (side) left[pick] <- id else right[pick] <- id
    }
    is_leaf[pick] <- FALSE
    chosen[pick] <- list(s)
  }
  n_nodes <- length(node_rows)
  value <- rep(NA_real_, n_nodes)
  for (id in which(is_leaf)) {
    r <- node_rows[[id]]
    value[id] <- -learning_rate * sum(g[r]) / (sum(h[r]) + lambda)
  }
  pick_field <- function(name, na) {
    vapply(seq_len(n_nodes), function(id) {
      if (is_leaf[id]) na else chosen[[id]][[name]]
    }, na)
  }
  data.frame(node = seq_len(n_nodes),
             feature = pick_field("feature", NA_integer_),
             bin = pick_field("bin", NA_integer_),
             na_left = pick_field("na_left", NA),
             left = left, right = right, value = value, depth = depth)
}

# Leaf value of every row of `bins` for one tree.
ref_boost_predict_tree <- function(tree, bins) {
  node <- rep(1L, nrow(bins))
  repeat {
    inner <- which(!is.na(tree$feature[node]))
    if (length(inner) == 0) break
    nd <- node[inner]
    b <- bins[cbind(inner, tree$feature[nd])]
    go_left <- ifelse(b == 0L, tree$na_left[nd], b <= tree$bin[nd])
    node[inner] <- ifelse(go_left, tree$left[nd], tree$right[nd])
  }
  tree$value[node]
}

# Full boosting (spec 2). train, test: 1-based row indices of X; bins use all
# rows of X. Returns pred (for the rows `test`; probabilities when binary),
# f0 and the list of trees.
ref_boost <- function(X, y, train, test,
                      objective = c("regression", "binary"),
                      n_rounds = 10, learning_rate = 0.1, max_depth = 6,
                      max_leaves = 0, lambda = 1, min_child_weight = 1e-3,
                      min_child_size = 20, max_bins = 255, weights = NULL) {
  objective <- match.arg(objective)
  X <- as.matrix(X)
  n <- nrow(X)
  if (is.factor(y)) y <- as.integer(y) - 1L   # binary: second level = 1
  y <- as.numeric(y)
  w <- if (is.null(weights)) rep(1, n) else as.numeric(weights)
  binned <- ref_boost_bins(X, max_bins)
  bins <- binned$bins
  n_bins <- lengths(binned$thresholds) + 1L  # last value bin per feature

  ybar <- sum(w[train] * y[train]) / sum(w[train])
  f0 <- if (objective == "regression") {
    ybar
  } else {
    pbar <- min(max(ybar, 1e-6), 1 - 1e-6)
    log(pbar / (1 - pbar))
  }

  f <- rep(f0, n)                       # raw scores of all rows of X
  g <- numeric(n); h <- numeric(n)      # only the training entries are used
  trees <- vector("list", n_rounds)
  for (r in seq_len(n_rounds)) {
    if (objective == "regression") {
      g[train] <- w[train] * (f[train] - y[train])
      h[train] <- w[train]
    } else {
      q <- 1 / (1 + exp(-f[train]))
      g[train] <- w[train] * (q - y[train])
      h[train] <- w[train] * pmax(q * (1 - q), 1e-16)
    }
    tree <- ref_boost_grow_tree(bins, n_bins, g, h, train, learning_rate,
                                max_depth, max_leaves, lambda,
                                min_child_weight, min_child_size)
    trees[[r]] <- tree
    f <- f + ref_boost_predict_tree(tree, bins)
  }
  pred <- f[test]
  if (objective == "binary") pred <- 1 / (1 + exp(-pred))
  list(pred = pred, f0 = f0, trees = trees)
}
