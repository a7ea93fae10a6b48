# Fuzzer part: property checks on silently returned results (see fz-util.R for the whole).

# ---------------------------------------------------------------------------------------------
# Property cases: metamorphic relations that hold for correct results (cheap: n <= 600).
# ---------------------------------------------------------------------------------------------

fz_prop_data <- function(n, p, tk = "01", weights = FALSE, factor_cov = FALSE) {
  X <- matrix(stats::rnorm(n * p), n, p, dimnames = list(NULL, paste0("x", seq_len(p))))
  lin <- drop(X %*% seq(0.6, -0.4, length.out = p))
  b <- stats::rbinom(n, 1L, stats::plogis(0.7 * lin))
  for (arm in 0:1) if (sum(b == arm) < 15L) b[sample(which(b != arm), 15L - sum(b == arm))] <- arm
  df <- data.frame(X)
  if (factor_cov) df$f <- factor(sample(c("u", "v", "w"), n, replace = TRUE))
  df$d <- switch(tk, "01" = as.double(b), logical = b == 1L,
                 factor = factor(ifelse(b == 1L, "trt", "ctl")), ab = ifelse(b == 1L, "b", "a"),
                 continuous = lin + stats::rnorm(n))
  df$y <- 1 + 0.7 * b + lin + 0.3 * X[, 1L]^2 + stats::rnorm(n)
  if (weights) df$w <- stats::runif(n, 0.3, 2)
  df
}

fz_case_property <- function(max_n) {
  prop <- fz_pick(c("flip", "formats", "permute_cols", "permute_rows", "weights", "threads",
                    "roundtrip", "custom_vs_builtin", "affine", "seed", "formula", "coding",
                    "scale_cov", "singleton_clusters", "cluster_correction"))
  if (prop == "cluster_correction" && !fz_has_arg("dml_plr", "cluster_correction")) prop <- "singleton_clusters"
  n <- min(max_n, fz_int(80L, 600L))
  p <- fz_int(1L, 6L)
  model <- fz_pick(c("dml_plr", "dml_irm"))
  tk <- if (prop == "flip") fz_pick(c("01", "logical", "factor", "ab")) else "01"
  weights <- prop == "weights" || fz_coin(0.2)
  df <- fz_prop_data(n, p, tk = tk, weights = weights, factor_cov = fz_coin(0.3))
  covs <- setdiff(names(df), c("y", "d", "w"))
  K <- fz_int(2L, 5L)
  R <- fz_int(1L, 2L)
  ridge <- if (prop == "custom_vs_builtin") 0 else fz_pick(list(0, 0, 0.5))
  normalize <- fz_coin(0.5)
  trim <- fz_pick(list(0.01, 0.05))
  # the IV-type score's Jacobian mean(-D (D - m)) is not invariant to recoding D -> 1 - D in
  # finite samples (the standard error legitimately changes), so `flip` uses partialling out
  score <- if (prop == "flip") "partialling out" else fz_pick(c("partialling out", "IV-type"))
  estimand <- if (prop %in% c("flip", "affine")) "ATE" else fz_pick(c("ATE", "ATT"))
  perm_cols <- sample(covs)
  perm_rows <- sample.int(n)
  mult <- stats::runif(1, 0.1, 10)
  shift <- stats::rnorm(1, 0, 5)
  notes <- c(sprintf("n=%d p=%d K=%d R=%d %s treatment %s%s", n, length(covs), K, R, model, tk, if (weights) " weighted" else ""),
             sprintf("ridge=%g normalize=%s trim=%g score=%s estimand=%s", ridge, normalize, trim, score, estimand))
  spec_of <- function(data, cov = covs, control = NULL) {
    fastdml::causal_data(data, outcome = "y", treatment = "d", covariates = cov,
                         weights = if (weights) "w", control = control)
  }
  fit_of <- function(spec, folds = NULL, nuisances = NULL, threads = 2L, seed = NULL, learner = NULL, ...) {
    # n_folds / n_rep only without user folds or nuisances (with them they follow from those)
    plan <- if (is.null(folds) && is.null(nuisances)) list(n_folds = K, n_rep = R) else list()
    if (model == "dml_plr") {
      do.call(fastdml::dml_plr, c(list(spec, learner_outcome = learner %||% fastdml::lrn_linear(ridge),
                                       learner_treatment = learner %||% fastdml::lrn_linear(ridge),
                                       score = score, folds = folds, nuisances = nuisances,
                                       seed = seed, num.threads = threads), plan, list(...)))
    } else {
      do.call(fastdml::dml_irm, c(list(spec, estimand = estimand, learner_outcome = learner %||% fastdml::lrn_linear(ridge),
                                       learner_treatment = fastdml::lrn_logistic(ridge),
                                       folds = folds, trim = trim, normalize = normalize, nuisances = nuisances,
                                       seed = seed, num.threads = threads), plan, list(...)))
    }
  }
  tol <- if (model == "dml_irm") 1e-6 else 1e-8
  same <- function(f1, f2, what, tol_ = tol, sign = 1) {
    if (fz_failed(f1) || fz_failed(f2)) return(invisible())
    t1 <- unname(f1$coefficients); t2 <- unname(f2$coefficients)
    ok <- fz_close(sign * t1, t2, tol_) && fz_close(f1$se, f2$se, tol_)
    list(ok = ok, msg = sprintf("%s: %s gives estimate %.10g (se %.6g) vs %.10g (se %.6g)", prop, what, t1, f1$se, t2, f2$se))
  }
  body <- function(step, check, watch) {
    watch("data", df)
    chk <- function(res) if (is.list(res)) check(res$ok, res$msg)
    spec <- step("causal_data", spec_of(df))
    watch("spec", spec)
    folds <- step("make_folds", fastdml::make_folds(spec, n_folds = K, n_rep = R, seed = 7L))
    watch("folds", folds)
    switch(prop,
      flip = {
        df2 <- df
        control2 <- NULL
        if (tk == "01") df2$d <- 1 - df$d
        if (tk == "logical") df2$d <- !df$d
        if (tk %in% c("factor", "ab")) control2 <- if (tk == "factor") "trt" else "b"
        spec2 <- step("causal_data", spec_of(df2, control = control2))
        check(all(spec2$d == 1 - spec$d), "flip: flipped coding does not flip spec$d")
        f1 <- step(model, fit_of(spec, folds))
        f2 <- step(model, fit_of(spec2, folds))
        fz_exercise_fit(f1, step, check)
        chk(same(f1, f2, "flipping the treatment coding (same folds) should flip the sign", sign = -1))
        b1 <- step("diff_in_means", fastdml::diff_in_means(spec))
        b2 <- step("diff_in_means", fastdml::diff_in_means(spec2))
        chk(same(b1, b2, "diff_in_means with flipped coding", 1e-12, sign = -1))
        i1 <- step("ipw", fastdml::ipw(spec, learner = fastdml::lrn_logistic(ridge)))
        i2 <- step("ipw", fastdml::ipw(spec2, learner = fastdml::lrn_logistic(ridge)))
        chk(same(i1, i2, "ipw with flipped coding", 1e-6, sign = -1))
      },
      formats = {
        f1 <- step(model, fit_of(spec, seed = 3L))
        dt <- data.table::as.data.table(df)
        watch("data.table", dt)
        s2 <- step("causal_data", spec_of(dt))
        f2 <- step(model, fit_of(s2, seed = 3L))
        check(identical(s2, spec), "formats: data.table input gives a different spec than the data.frame")
        chk(same(f1, f2, "data.table vs data.frame input", 0))
        if (all(vapply(df, is.numeric, logical(1)))) {
          m <- as.matrix(df)
          watch("matrix", m)
          s3 <- step("causal_data", spec_of(m))
          f3 <- step(model, fit_of(s3, seed = 3L))
          chk(same(f1, f3, "numeric matrix vs data.frame input", 0))
        }
        fz_exercise_fit(f2, step, check)
      },
      permute_cols = {
        df2 <- df[, c(perm_cols, setdiff(names(df), perm_cols))]
        s2 <- step("causal_data", spec_of(df2, cov = perm_cols))
        f1 <- step(model, fit_of(spec, folds))
        f2 <- step(model, fit_of(s2, folds))
        chk(same(f1, f2, "permuting the covariate columns (same folds)"))
      },
      permute_rows = {
        df2 <- df[perm_rows, ]
        s2 <- step("causal_data", spec_of(df2))
        f1 <- step(model, fit_of(spec, folds))
        f2 <- step(model, fit_of(s2, folds[perm_rows, , drop = FALSE]))
        chk(same(f1, f2, "permuting the rows (folds permuted alike)"))
      },
      weights = {
        f1 <- step(model, fit_of(spec, folds))
        fz_exercise_fit(f1, step, check)
        df2 <- df
        df2$w <- df$w * mult
        f2 <- step(model, fit_of(step("causal_data", spec_of(df2)), folds))
        chk(same(f1, f2, sprintf("multiplying all weights by %.3g", mult), 1e-9))
        df3 <- df
        df3$w <- 1
        f3 <- step(model, fit_of(step("causal_data", spec_of(df3)), folds))
        f4 <- step(model, fit_of(step("causal_data", fastdml::causal_data(df, "y", "d", covs)), folds))
        chk(same(f3, f4, "weights all 1 vs no weights", 1e-9))
        # Duplicating rows w times (weight 1) equals integer weights w, with the same nuisances.
        if (!fz_failed(f1)) {
          wi <- sample.int(3L, n, replace = TRUE)
          dfi <- df
          dfi$w <- wi
          rows <- rep(seq_len(n), wi)
          dfd <- df[rows, ]
          dfd$w <- 1
          nu <- f1$nuisances
          nu_d <- lapply(nu[setdiff(names(nu), "folds")], function(m) m[rows, , drop = FALSE])
          fi <- step(model, fit_of(step("causal_data", spec_of(dfi)), nuisances = nu[setdiff(names(nu), "folds")]))
          fd <- step(model, fit_of(step("causal_data", spec_of(dfd)), nuisances = nu_d))
          if (!fz_failed(fi) && !fz_failed(fd)) {
            check(fz_close(unname(fi$coefficients), unname(fd$coefficients), 1e-8),
                  sprintf("weights: integer weights w give %.10g but duplicating rows w times gives %.10g (same nuisances)",
                          fi$coefficients, fd$coefficients))
          }
        }
      },
      threads = {
        f1 <- step(model, fit_of(spec, folds, threads = 1L))
        f2 <- step(model, fit_of(spec, folds, threads = 2L))
        chk(same(f1, f2, "num.threads = 1 vs 2", 0))
        if (!fz_failed(f1) && !fz_failed(f2)) check(identical(f1$nuisances, f2$nuisances), "threads: nuisances differ between 1 and 2 threads")
      },
      roundtrip = {
        f1 <- step(model, fit_of(spec, folds))
        fz_exercise_fit(f1, step, check)
        if (!fz_failed(f1)) {
          nu <- fastdml::nuisances(f1)
          nu$quality <- NULL
          watch("nuisances", nu)
          f2 <- step(model, fit_of(spec, nuisances = nu))
          chk(same(f1, f2, "refitting with nuisances(fit) as external nuisances", 1e-10))
        }
      },
      custom_vs_builtin = {
        fns <- fz_custom_learner_fns("lm")
        if (model == "dml_plr") {
          f1 <- step(model, fit_of(spec, folds))
          f2 <- step(model, fit_of(spec, folds, learner = fastdml::lrn_custom(fns[[1L]], fns[[2L]], "lm.fit")))
          chk(same(f1, f2, "lrn_custom(lm.fit) vs lrn_linear()", 1e-7))
        }
        t1 <- step("t_learner", fastdml::t_learner(spec))
        t2 <- step("t_learner", fastdml::t_learner(spec, learner = fastdml::lrn_custom(fns[[1L]], fns[[2L]], "lm.fit")))
        if (!fz_failed(t1) && !fz_failed(t2)) {
          check(fz_close(unname(t1$coefficients), unname(t2$coefficients), 1e-7),
                sprintf("custom_vs_builtin: t_learner with lrn_linear %.10g vs lrn_custom(lm.fit) %.10g", t1$coefficients, t2$coefficients))
        }
      },
      affine = {
        df2 <- df
        df2$y <- shift + mult * df$y
        s2 <- step("causal_data", spec_of(df2))
        f1 <- step(model, fit_of(spec, folds))
        f2 <- step(model, fit_of(s2, folds))
        if (!fz_failed(f1) && !fz_failed(f2)) {
          check(fz_close(mult * unname(f1$coefficients), unname(f2$coefficients), tol) && fz_close(mult * f1$se, f2$se, tol),
                sprintf("affine: y -> %.3g + %.3g y should scale the estimate by %.3g: %.10g -> %.10g", shift, mult, mult,
                        f1$coefficients, f2$coefficients))
        }
      },
      seed = {
        before <- get(".Random.seed", globalenv())
        f1 <- step(model, fit_of(spec, seed = 11L))
        after <- get(".Random.seed", globalenv())
        check(identical(before, after), "seed: fitting with seed = did not restore the caller's RNG state")
        f2 <- step(model, fit_of(spec, seed = 11L))
        chk(same(f1, f2, "the same seed twice", 0))
        fo <- step("make_folds", fastdml::make_folds(spec, n_folds = K, n_rep = R, seed = 11L))
        f3 <- step(model, fit_of(spec, folds = fo))
        chk(same(f1, f3, "seed = s vs folds = make_folds(spec, seed = s)", 0))
      },
      singleton_clusters = {
        # every row its own cluster: the cluster-robust SE is the plain SE (same folds)
        s2 <- step("causal_data", fastdml::causal_data(df, outcome = "y", treatment = "d", covariates = covs,
                                                      weights = if (weights) "w", cluster = seq_len(n)))
        f1 <- step(model, fit_of(spec, folds))
        f2 <- step(model, fit_of(s2, folds))
        chk(same(f1, f2, "one cluster per row vs no clusters", 1e-10))
      },
      cluster_correction = {
        G <- fz_int(12L, 40L)
        ids <- sample.int(G, n, replace = TRUE)
        s2 <- step("causal_data", fastdml::causal_data(df, outcome = "y", treatment = "d", covariates = covs,
                                                      weights = if (weights) "w", cluster = ids))
        G <- length(unique(ids))
        fo <- step("make_folds", fastdml::make_folds(s2, n_folds = K, n_rep = R, seed = 5L))
        f1 <- step(model, fit_of(s2, fo))
        f2 <- step(model, fit_of(s2, fo, cluster_correction = TRUE))
        if (!fz_failed(f1) && !fz_failed(f2)) {
          check(identical(f1$theta_rep, f2$theta_rep) && fz_close(f2$se_rep / f1$se_rep, rep(sqrt(G / (G - 1)), R), 1e-10),
                sprintf("cluster_correction: per-repetition SE ratio %s, expected sqrt(G/(G-1)) = %.6f with G = %d",
                        paste(format(f2$se_rep / f1$se_rep, digits = 8), collapse = "/"), sqrt(G / (G - 1)), G))
        }
      },
      coding = {
        # the same 0/1 treatment as double, integer, logical, factor and character: same fit
        f1 <- step(model, fit_of(spec, folds))
        b <- df$d
        for (coding in c("integer", "logical", "factor", "character")) {
          df2 <- df
          df2$d <- switch(coding, integer = as.integer(b), logical = b == 1,
                          factor = factor(ifelse(b == 1, "trt", "ctl"), levels = c("ctl", "trt")),
                          character = ifelse(b == 1, "treated", "control"))
          s2 <- step("causal_data", spec_of(df2, control = if (coding == "character") "control"))
          check(identical(s2$d, spec$d), sprintf("coding: a %s treatment gives a different spec$d than 0/1", coding))
          f2 <- step(model, fit_of(s2, folds))
          chk(same(f1, f2, sprintf("%s vs 0/1 double coding of the treatment", coding), 0))
        }
      },
      scale_cov = {
        # covariates are standardised internally: rescaling and shifting them changes nothing
        df2 <- df
        for (v in covs) if (is.numeric(df2[[v]])) df2[[v]] <- stats::runif(1, -50, 50) + 10^stats::runif(1, -3, 3) * df2[[v]]
        s2 <- step("causal_data", spec_of(df2))
        f1 <- step(model, fit_of(spec, folds))
        f2 <- step(model, fit_of(s2, folds))
        chk(same(f1, f2, "rescaling and shifting the numeric covariates (same folds)", tol * 100))
      },
      formula = {
        rhs <- paste(covs, collapse = " + ")
        fml <- stats::as.formula(sprintf("y ~ d | %s", rhs), env = globalenv())
        s2 <- step("causal_data", fastdml::causal_data(fml, data = df, weights = if (weights) "w"))
        check(identical(s2, spec), "formula: y ~ d | x1 + ... gives a different spec than the column names")
        s3 <- step("causal_data", fastdml::causal_data(stats::as.formula("y ~ d | .", env = globalenv()), data = df,
                                                      weights = if (weights) "w"))
        check(identical(s3$X, spec$X), "formula: y ~ d | . gives a different covariate matrix than the column names")
      })
  }
  list(fun = paste0("property:", prop), notes = notes, body = body)
}
