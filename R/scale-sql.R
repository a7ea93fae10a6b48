# The passes of R/scale-engine.R as SQL aggregates, for any DBI engine reached through a dbplyr
# lazy table (Spark through sparklyr, DuckDB, ...): each pass is one grouped or plain aggregate
# query that runs where the data live; only the sums come back. Folds use the portable hash of
# hash_folds() in integer arithmetic; standardisation, linear predictors, propensities and
# IPW weights are row-local SQL expressions with the coefficients of the driver inlined.

# list(reduce, close) like scale_reducer(), for a connection and a FROM clause.
sql_reducer <- function(con, from, plan) {
  sql <- sql_builder(con, from, plan)
  reduce <- function(pass) {
    switch(pass$type,
      moments = sql_moments(sql, pass),
      gram = sql_gram(sql, pass),
      sample = sql_sample(sql, pass),
      logistic = sql_logistic(sql, pass),
      sql_residuals(sql, pass))
  }
  list(reduce = reduce, close = function() invisible())
}

sql_number <- function(x) sprintf("%.17g", x)

# Column expressions shared by every query.
sql_builder <- function(con, from, plan) {
  quote <- function(x) as.character(DBI::dbQuoteIdentifier(con, x))
  hash <- function(seed) {
    h <- sprintf("((CAST(%s AS BIGINT) %% 2147483647) + %s) %% 2147483647", quote(plan$id),
                 sql_number((7919 * seed) %% hash_prime))
    h <- sprintf("(48271 * (%s)) %% 2147483647", h)
    sprintf("(48271 * (%s)) %% 2147483647", h)
  }
  list(con = con, from = from, plan = plan,
       x = vapply(plan$covariates, function(x) sprintf("CAST(%s AS DOUBLE)", quote(x)), ""),
       d = vapply(plan$treatments, function(x) sprintf("CAST(%s AS DOUBLE)", quote(x)), ""),
       y = vapply(unique(unlist(plan$outcomes)), function(x) sprintf("CAST(%s AS DOUBLE)", quote(x)), ""),
       fold = sprintf("((%s) %% %d + 1)", hash(plan$seed), plan$n_folds), hash = hash)
}

# SELECT fold_, z1.., y1.., d1.. FROM source, with z the standardised covariates.
sql_base <- function(sql, center, scale) {
  z <- sprintf("(%s - %s) / %s AS z%d", sql$x, sql_number(center), sql_number(scale), seq_along(sql$x))
  sprintf("SELECT %s AS fold_, %s, %s, %s FROM %s", sql$fold, paste(z, collapse = ", "),
          paste(sprintf("%s AS y%d", sql$y, seq_along(sql$y)), collapse = ", "),
          paste(sprintf("%s AS d%d", sql$d, seq_along(sql$d)), collapse = ", "), sql$from)
}

sql_query <- function(sql, query) {
  out <- DBI::dbGetQuery(sql$con, query)
  out[] <- lapply(out, function(v) { v <- as.double(v); v[is.na(v)] <- 0; v })
  out
}

sql_moments <- function(sql, pass) {
  centred <- sprintf("(%s - %s)", sql$x, sql_number(pass$shift))
  query <- sprintf("SELECT COUNT(*) AS n, %s, %s FROM %s",
                   paste(sprintf("SUM(%s) AS s%d", centred, seq_along(centred)), collapse = ", "),
                   paste(sprintf("SUM(%s * %s) AS q%d", centred, centred, seq_along(centred)), collapse = ", "),
                   sql$from)
  row <- unlist(sql_query(sql, query))
  p <- length(sql$x)
  list(n = row[["n"]], sum = unname(row[1L + seq_len(p)]), sumsq = unname(row[1L + p + seq_len(p)]))
}

# Per-fold cross products of [1, z, y, d] (GROUP BY the hashed fold).
sql_gram <- function(sql, pass) {
  columns <- c("1", sprintf("z%d", seq_along(sql$x)), sprintf("y%d", seq_along(sql$y)), sprintf("d%d", seq_along(sql$d)))
  w <- length(columns)
  pairs <- which(upper.tri(diag(w), diag = TRUE), arr.ind = TRUE)
  sums <- sprintf("SUM(%s * %s) AS g%d", columns[pairs[, 1]], columns[pairs[, 2]], seq_len(nrow(pairs)))
  query <- sprintf("SELECT fold_, %s FROM (%s) AS base GROUP BY fold_", paste(sums, collapse = ", "),
                   sql_base(sql, pass$center, pass$scale))
  rows <- sql_query(sql, query)
  K <- sql$plan$n_folds
  gram <- matrix(0, w, w * K)
  for (r in seq_len(nrow(rows))) {
    G <- matrix(0, w, w)
    G[pairs] <- unlist(rows[r, -1L])
    G[pairs[, 2:1]] <- unlist(rows[r, -1L])
    gram[, (rows$fold_[r] - 1) * w + seq_len(w)] <- G
  }
  list(gram = gram)
}

sql_sample <- function(sql, pass) {
  query <- sprintf("SELECT %s, %s, %s AS fold_ FROM %s WHERE (%s) < %s",
                   paste(sprintf("%s AS x%d", sql$x, seq_along(sql$x)), collapse = ", "),
                   paste(sprintf("%s AS d%d", sql$d, seq_along(sql$d)), collapse = ", "),
                   sql$fold, sql$from, sql$hash(sql$plan$seed + 1), sql_number(pass$share * hash_prime))
  rows <- sql_query(sql, query)
  p <- length(sql$x)
  list(X = as.matrix(rows[seq_len(p)]), D = as.matrix(rows[p + seq_along(sql$d)]),
       fold = as.integer(rows$fold_))
}

# b0 + sum_j b_j z_j for one coefficient vector.
sql_linear <- function(b) {
  paste0(sql_number(b[1L]), paste(sprintf(" + %s * z%d", sql_number(b[-1L]), seq_along(b[-1L])), collapse = ""))
}

sql_logistic <- function(sql, pass) {
  M <- ncol(pass$coef)
  q <- nrow(pass$coef)
  eta <- sprintf("%s AS eta%d", vapply(seq_len(M), function(m) sql_linear(pass$coef[, m]), ""), seq_len(M))
  terms <- unlist(lapply(seq_len(M), function(m) {
    train <- sprintf("fold_ <> %d", pass$held_out[m] + 1L)
    resid <- sprintf("(d%d - 1 / (1 + EXP(-eta%d)))", pass$target[m] + 1L, m)
    c(sprintf("SUM(CASE WHEN %s THEN %s * %s ELSE 0 END) AS g%d_%d", train, resid,
              c("1", sprintf("z%d", seq_len(q - 1L))), m, seq_len(q)),
      sprintf("SUM(CASE WHEN %s THEN 2 * (LN(1 + EXP(-ABS(eta%d))) + GREATEST(eta%d, 0) - d%d * eta%d) ELSE 0 END) AS dev%d",
              train, m, m, pass$target[m] + 1L, m, m))
  }))
  query <- sprintf("SELECT %s FROM (SELECT base.*, %s FROM (%s) AS base) AS scored",
                   paste(terms, collapse = ", "), paste(eta, collapse = ", "),
                   sql_base(sql, pass$center, pass$scale))
  row <- unlist(sql_query(sql, query))
  values <- matrix(row, q + 1L, M)
  list(gradient = values[seq_len(q), , drop = FALSE], deviance = values[q + 1L, ])
}

# Out-of-fold predictions l_o and m_a as columns, then the sums of every pair in one query (and
# the propensity histograms of each action in the rescale pass).
sql_residuals <- function(sql, pass) {
  K <- sql$plan$n_folds
  by_fold <- function(group) {
    cases <- vapply(seq_len(K), function(k) sprintf("WHEN %d THEN %s", k, sql_linear(pass$coef[, (group - 1L) * K + k])), "")
    sprintf("(CASE fold_ %s END)", paste(cases, collapse = " "))
  }
  n_out <- length(sql$y)
  preds <- c(sprintf("%s AS l%d", vapply(seq_len(n_out), by_fold, ""), seq_len(n_out)),
             sprintf("1 / (1 + EXP(-%s)) AS m%d", vapply(n_out + seq_along(sql$d), by_fold, ""), seq_along(sql$d)))
  scored <- sprintf("(SELECT base.*, %s FROM (%s) AS base) AS scored", paste(preds, collapse = ", "),
                    sql_base(sql, pass$center, pass$scale))
  pairs <- pass$pairs
  sums <- vapply(seq_len(nrow(pairs)), function(r) {
    exprs <- sql_pair_sums(pass, r, pairs$treatment_index[r], pairs$outcome_index[r], sql$plan$options)
    gsub(" AS ([a-z_0-9]+)(,|$)", sprintf(" AS \\1__%d\\2", r), exprs)
  }, "")
  all <- unlist(sql_query(sql, sprintf("SELECT %s FROM %s", paste(sums, collapse = ", "), scored)))
  histograms <- if (pass$type == "rescale") {
    lapply(stats::setNames(nm = unique(pairs$treatment_index)), function(a) sql_histograms(sql, scored, a, pass$auc_bins))
  }
  rows <- lapply(seq_len(nrow(pairs)), function(r) {
    row <- all[grepl(sprintf("__%d$", r), names(all))]
    names(row) <- sub("__[0-9]+$", "", names(row))
    c(row, histograms[[as.character(pairs$treatment_index[r])]])
  })
  list(sums = do.call(rbind, rows))
}

# IPW weight of a row as SQL (ci_dml_weights(): drop, rescale, clip, ATE/ATT weights).
sql_weight <- function(options, a, factor) {
  m <- sprintf("m%d", a)
  kept <- if (options$trim > 0 && options$trim_mode == "drop") {
    sprintf("(CASE WHEN %s >= %s AND %s <= %s THEN 1 ELSE 0 END)", m, sql_number(options$trim), m, sql_number(1 - options$trim))
  } else "1"
  e <- if (options$rescale) sprintf("(%s * %s)", m, sql_number(factor)) else m
  if (options$trim > 0) e <- sprintf("LEAST(GREATEST(%s, %s), %s)", e, sql_number(options$trim), sql_number(1 - options$trim))
  d <- sprintf("d%d", a)
  w <- switch(options$ipw, none = "1",
              ATE = sprintf("(%s / %s + (1 - %s) / (1 - %s))", d, e, d, e),
              ATT = sprintf("(%s + (1 - %s) * %s / (1 - %s))", d, d, e, e))
  list(kept = kept, w = sprintf("(%s * %s)", w, kept))
}

sql_pair_sums <- function(pass, r, a, o, options) {
  d <- sprintf("d%d", a)
  m <- sprintf("m%d", a)
  y <- sprintf("y%d", o)
  if (pass$type == "rescale") {
    kept <- sql_weight(options, a, 1)$kept
    return(paste(sprintf("SUM(%s) AS retained", kept), sprintf("SUM(%s * %s) AS d", d, kept),
                 sprintf("SUM(%s * %s) AS e", m, kept), sprintf("SUM((%s - l%d) * (%s - l%d)) AS sse_l", y, o, y, o),
                 sprintf("SUM(%s) AS sum_y", y), sprintf("SUM(%s * %s) AS sumsq_y", y, y),
                 sprintf("-SUM(%s * LN(GREATEST(%s, 1e-15)) + (1 - %s) * LN(GREATEST(1 - %s, 1e-15))) AS log_loss", d, m, d, m),
                 sep = ", "))
  }
  w <- sql_weight(options, a, pass$rescale_factor[a])$w
  z <- sprintf("(%s - %s)", d, m)
  u <- sprintf("(%s - l%d)", y, o)
  if (pass$type == "wls") {
    return(paste(sprintf("SUM(%s) AS sw", w), sprintf("SUM(%s * %s) AS swz", w, z), sprintf("SUM(%s * %s) AS swy", w, u),
                 sprintf("SUM(%s * %s * %s) AS swzz", w, z, z), sprintf("SUM(%s * %s * %s) AS swzy", w, z, u),
                 sprintf("SUM(CASE WHEN %s > 0 THEN 1 ELSE 0 END) AS n_pos", w), sep = ", "))
  }
  zc <- sprintf("(%s - %s)", z, sql_number(pass$z_mean[r]))
  uc <- sprintf("(%s - %s - %s * %s)", u, sql_number(pass$y_mean[r]), sql_number(pass$beta[r]), zc)
  h <- sprintf("(%s * %s * %s * %s%s)", w, zc, zc, sql_number(pass$bread[r]),
               if (options$intercept) sprintf(" + %s / %s", w, sql_number(pass$sw[r])) else "")
  meat <- sprintf("(%s * %s * %s * %s * %s * %s)", w, w, uc, uc, zc, zc)
  paste(sprintf("SUM(%s) AS hc0", meat), sprintf("SUM(%s / (1 - %s)) AS hc2", meat, h),
        sprintf("SUM(%s / ((1 - %s) * (1 - %s))) AS hc3", meat, h, h), sprintf("SUM(%s * %s * %s) AS const", w, uc, uc),
        sep = ", ")
}

# Per-class histograms of the propensity (the AUC of residual_sums()).
sql_histograms <- function(sql, scored, a, bins) {
  query <- sprintf("SELECT CAST(LEAST(FLOOR(m%d * %d), %d) AS INTEGER) + 1 AS bin, SUM(d%d) AS t, SUM(1 - d%d) AS c FROM %s GROUP BY 1",
                   a, bins, bins - 1L, a, a, scored)
  rows <- sql_query(sql, query)
  treated <- control <- numeric(bins)
  treated[rows$bin] <- rows$t
  control[rows$bin] <- rows$c
  c(stats::setNames(treated, paste0("hist1", seq_len(bins))), stats::setNames(control, paste0("hist0", seq_len(bins))))
}
