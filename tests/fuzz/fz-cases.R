# Fuzzer part: one case kind per exported function (see fz-util.R for the whole).

# ---------------------------------------------------------------------------------------------
# Case kinds
# ---------------------------------------------------------------------------------------------

fz_case_causal_data <- function(max_n) {
  n <- fz_n(max_n)
  g <- fz_gen_data(n, clean = fz_coin(0.3))
  body <- function(step, check, watch) {
    fz_watch_data(g, watch)
    spec <- step("causal_data", fz_call("causal_data", g$args))
    watch("spec", spec)
    step("print", utils::capture.output(print(spec)), continue = TRUE)
    step("nobs", stats::nobs(spec), continue = TRUE)
    fz_check_spec(spec, g, check)
  }
  list(fun = "causal_data", notes = g$notes, body = body)
}

# dml_plr / dml_irm / dml_multi_irm with random arguments, learners, folds and nuisances. Data defects and
# argument defects are drawn independently (so that invalid arguments meet valid data).
fz_case_dml <- function(max_n, model) {
  clean <- fz_coin(0.6)
  n <- fz_n(max_n, clean = clean)
  g <- fz_gen_data(n, clean = clean, model = model)
  notes <- g$notes
  irm_like <- model %in% c("irm", "multi")
  arg_names <- c(if (irm_like) c("estimand", "trim", "normalize") else "score",
                 "n_folds", "n_rep", "seed", "num.threads", "folds", "nuisances")
  bad <- if (fz_coin(0.35)) sample(arg_names, fz_pick(list(1L, 1L, 2L))) else character()
  is_bad <- function(a) a %in% bad
  args <- list()
  if (irm_like) {
    args["estimand"] <- list(if (!is_bad("estimand")) fz_pick(c("ATE", "ATT")) else fz_pick(list("ate", NA, c("ATE", "ATT"), "ATC", 1, fz_garbage())))
    args["trim"] <- list(if (!is_bad("trim")) fz_pick(if (model == "multi") list(0.01, 0.01, 0.05, 0.1, 1e-10, 0.2) else list(0.01, 0.01, 0.05, 0.1, 1e-10, 0.49)) else fz_pick(list(0, 0.5, -1, NA, "0.1", c(0.1, 0.2), 1, Inf, fz_garbage())))
    args["normalize"] <- list(if (!is_bad("normalize")) fz_coin(0.5) else fz_pick(list(NA, "yes", c(TRUE, FALSE), 1, fz_garbage())))
  } else {
    args["score"] <- list(if (!is_bad("score")) fz_pick(c("partialling out", "IV-type")) else fz_pick(list("IV", "iv-type", NA, 2, c("IV-type", "x"), fz_garbage())))
  }
  args["n_folds"] <- list(fz_count_arg(c(2L, 3L, 5L, 5L, 10L), clean = !is_bad("n_folds"), p_bad = 1))
  args["n_rep"] <- list(fz_count_arg(c(1L, 1L, 1L, 2L, 3L), clean = !is_bad("n_rep"), p_bad = 1))
  args["seed"] <- list(fz_seed_arg(clean = !is_bad("seed")))
  args["num.threads"] <- list(fz_threads_arg(clean = !is_bad("num.threads")))
  for (a in names(args)) if (is.null(args[[a]]) && !is_bad(a)) args[[a]] <- NULL  # a NULL default: leave it out
  # arguments that only some versions of the package have are drawn always (same random
  # stream) and passed only when the function has them
  cc <- if (fz_coin(0.9)) fz_coin(0.3) else fz_pick(list(NA, "yes", 1, c(TRUE, FALSE), fz_garbage()))
  cc_pass <- fz_coin(0.35)
  fun <- switch(model, irm = "dml_irm", multi = "dml_multi_irm", "dml_plr")
  if (cc_pass && fz_has_arg(fun, "cluster_correction")) {
    args["cluster_correction"] <- list(cc)
  }
  lo <- fz_gen_learner("outcome")
  lt <- fz_gen_learner("treatment")
  folds <- NULL
  nuis <- NULL
  r <- stats::runif(1)
  if (is_bad("folds") || r < 0.12) {
    folds <- fz_gen_folds(n, clean = !is_bad("folds"))
    # n_folds / n_rep follow from user folds; passing them too is only sometimes done
    if (fz_coin(0.7)) for (a in c("n_folds", "n_rep")) if (!is_bad(a)) args[[a]] <- NULL
  }
  else if (model != "multi" && (is_bad("nuisances") || r < 0.24)) {
    needed <- if (model == "irm") c("g0", "g1", "m") else c("l", "m", if (identical(args$score, "IV-type")) "g")
    nuis <- fz_gen_nuisances(n, needed, model, clean = !is_bad("nuisances"))
  }
  if (length(bad)) notes <- c(notes, sprintf("invalid [%s]", paste(bad, collapse = ",")))
  notes <- c(notes, fz_show_args(args), sprintf("learners %s / %s", lo$label, lt$label))
  if (!is.null(folds)) notes <- c(notes, folds$label)
  if (!is.null(nuis)) notes <- c(notes, nuis$label)
  body <- function(step, check, watch) {
    fz_watch_data(g, watch)
    spec <- step("causal_data", fz_call("causal_data", g$args))
    watch("spec", spec)
    fz_check_spec(spec, g, check)
    learner_o <- fz_build_learner(lo, step)
    learner_t <- fz_build_learner(lt, step)
    a <- c(list(spec = spec, learner_outcome = learner_o, learner_treatment = learner_t), args)
    if (!is.null(folds)) {
      watch("folds", folds$value)
      a["folds"] <- list(folds$value)
    }
    if (!is.null(nuis)) {
      watch("nuisances", nuis$value)
      a["nuisances"] <- list(nuis$value)
    }
    fit <- step(fun, fz_call(fun, a))
    fz_exercise_fit(fit, step, check)
    if (is.null(nuis) && (fz_learner_is_bad(lo) || fz_learner_is_bad(lt))) {
      bad <- c(if (fz_learner_is_bad(lo)) lo$kind, if (fz_learner_is_bad(lt)) lt$kind)
      check(FALSE, sprintf("%s succeeded with a custom learner whose predict() returns %s", fun, paste(bad, collapse = "/")))
    }
  }
  list(fun = fun, notes = notes, body = body)
}

fz_case_baseline <- function(max_n) {
  fun <- fz_pick(c("diff_in_means", "ipw", "t_learner"))
  clean <- fz_coin(0.6)
  n <- fz_n(max_n, clean = clean)
  g <- fz_gen_data(n, clean = clean, model = "irm")
  notes <- g$notes
  ok_args <- fz_coin(0.7)
  args <- list()
  if (fun != "diff_in_means") {
    args$learner <- fz_gen_learner(if (fun == "ipw") "treatment" else "outcome", clean = fz_coin(0.5))
    args$num.threads <- fz_threads_arg(ok_args || fz_coin(0.7))
  }
  if (fun == "ipw") args$trim <- if (ok_args || fz_coin(0.5)) fz_pick(list(0.01, 0.05, 0.2)) else fz_pick(list(0, 0.5, NA, "a", c(0.1, 0.2), fz_garbage()))
  if (fun == "t_learner") {
    args$n_boot <- fz_count_arg(c(0L, 0L, 1L, 2L, 10L, 25L), ok_args, 0.5)
    args["seed"] <- list(fz_seed_arg(ok_args || fz_coin(0.5)))
  }
  if (fz_coin(0.3)) args$level <- if (ok_args || fz_coin(0.5)) fz_pick(list(0.9, 0.95, 0.99)) else fz_pick(list(0, 1, 95, NA, "0.95", c(0.9, 0.95), fz_garbage()))
  via_table <- fz_coin(0.35)
  typo <- !via_table && !ok_args && fz_coin(0.2)  # a misspelt argument swallowed by `...`?
  notes <- c(notes, if (via_table) "table + causal_data args in ..." else "spec",
             fz_show_args(args[setdiff(names(args), "learner")]))
  if (!is.null(args$learner)) notes <- c(notes, sprintf("learner %s", args$learner$label))
  if (typo) notes <- c(notes, "misspelt argument lvel = 0.9")
  body <- function(step, check, watch) {
    fz_watch_data(g, watch)
    a <- args
    if (!is.null(a$learner)) {
      ld <- a$learner
      a["learner"] <- list(fz_build_learner(ld, step))
    }
    if (via_table) {
      # the table as `spec`, the other arguments of causal_data() through `...`
      ca <- g$args
      nm <- names(ca) %||% rep("", length(ca))
      if (inherits(ca[[1L]], "formula")) {  # causal_data(formula, data = table)
        table <- if ("data" %in% nm) ca$data else ca[[2L]]
        rest <- ca[-c(1L, if ("data" %in% nm) which(nm == "data") else 2L)]
        call_args <- c(list(spec = table, outcome = ca[[1L]]), rest)
      } else if (nm[1L] == "") {
        call_args <- c(list(spec = ca[[1L]]), ca[-1L])
      } else {  # causal_data(data = table, outcome = formula)
        call_args <- c(list(spec = ca$data), ca[nm != "data"])
      }
      est <- step(fun, fz_call(fun, c(call_args, a)))
    } else {
      spec <- step("causal_data", fz_call("causal_data", g$args))
      watch("spec", spec)
      if (typo) a$lvel <- 0.9
      est <- step(fun, fz_call(fun, c(list(spec = spec), a)))
      if (typo) check(FALSE, sprintf("%s(spec, lvel = 0.9): a misspelt argument is silently swallowed by `...`", fun))
    }
    if (!fz_failed(est) && fun == "t_learner") {  # n_boot defaults to 0 (no standard error)
      attr(est, "fz_n_boot") <- if (is.numeric(args$n_boot)) as.integer(args$n_boot) else 0L
    }
    if (!fz_failed(est) && fun == "diff_in_means" && !via_table) {
      w <- if (is.null(spec$weights)) rep(1, spec$n) else spec$weights
      direct <- sum((w * spec$y)[spec$d == 1]) / sum(w[spec$d == 1]) - sum((w * spec$y)[spec$d == 0]) / sum(w[spec$d == 0])
      check(fz_close(unname(est$coefficients), direct, 1e-10),
            sprintf("diff_in_means %.10g differs from the (weighted) difference of the arm means %.10g", est$coefficients, direct))
    }
    fz_exercise_fit(est, step, check, estimate = TRUE)
    if (fz_failed(est)) return(invisible())
    n_spec <- est$n
    if (fun == "ipw") check(length(est$propensity) == n_spec && all(is.finite(est$propensity)),
                            sprintf("ipw propensities have length %d (n = %d) or non-finite values", length(est$propensity), n_spec))
    if (fun == "t_learner") check(length(est$uplift) == n_spec && all(is.finite(est$uplift)),
                                  sprintf("t_learner uplift has length %d (n = %d) or non-finite values", length(est$uplift), n_spec))
    if (!is.null(args$learner) && fz_learner_is_bad(args$learner)) {
      check(FALSE, sprintf("%s succeeded with a custom learner whose predict() returns %s", fun, args$learner$kind))
    }
    # Weights and clusters of the spec must be used: the same call on the spec without them
    # must not give the identical estimate (weights) or standard error (clusters).
    if (!via_table && !fz_learner_is_bad(args$learner %||% list())) {
      if (!is.null(spec$weights) && length(unique(spec$weights)) > 1L) {
        spec0 <- spec
        spec0["weights"] <- list(NULL)
        est0 <- step(fun, fz_call(fun, c(list(spec = spec0), a)))
        if (!fz_failed(est0)) check(!identical(unname(est$coefficients), unname(est0$coefficients)),
                                    sprintf("%s silently ignores the observation weights of the spec (same estimate without them)", fun))
      }
      if (!is.null(spec$cluster) && is.finite(est$se) && length(unique(spec$cluster)) < spec$n) {
        spec0 <- spec
        spec0["cluster"] <- list(NULL)
        est0 <- step(fun, fz_call(fun, c(list(spec = spec0), a)))
        if (!fz_failed(est0)) check(!identical(est$se, est0$se),
                                    sprintf("%s silently ignores the clusters of the spec (same standard error without them)", fun))
      }
    }
  }
  list(fun = fun, notes = notes, body = body)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

fz_case_make_folds <- function(max_n) {
  clean <- fz_coin(0.5)
  use_spec <- fz_coin(0.6)
  n <- fz_n(min(max_n, 2000L), clean = clean)
  g <- if (use_spec) fz_gen_data(n, clean = TRUE) else NULL
  if (use_spec && fz_coin(0.3)) {  # clusters for the fold plan
    ids <- sample.int(fz_int(2L, 20L), n, replace = TRUE)
    g$args$cluster <- ids
    g$notes <- c(g$notes, sprintf("cluster vector (%d ids)", length(unique(ids))))
  }
  n_arg <- if (use_spec) NULL else if (clean || fz_coin(0.6)) n else fz_garbage(large = TRUE)
  args <- list(n_folds = fz_count_arg(c(2L, 3L, 5L, 10L, n, n + 1L), clean, 0.3),
               n_rep = fz_count_arg(c(1L, 2L, 3L), clean, 0.2))
  if (fz_coin(0.3)) args$stratify <- if (fz_coin(0.7)) fz_coin(0.5) else fz_pick(list(NA, "yes", c(TRUE, FALSE)))
  args["seed"] <- list(fz_seed_arg(clean))
  notes <- c(if (use_spec) c("spec", g$notes) else sprintf("spec=%s", fz_show(n_arg)), fz_show_args(args))
  body <- function(step, check, watch) {
    if (use_spec) {
      fz_watch_data(g, watch)
      spec <- step("causal_data", fz_call("causal_data", g$args))
      watch("spec", spec)
    } else {
      spec <- n_arg
    }
    seed_before <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
    folds <- step("make_folds", fz_call("make_folds", c(list(spec = spec), args)))
    seed_after <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
    if (!is.null(args$seed)) check(identical(seed_before, seed_after), "make_folds(seed = ) did not restore the caller's RNG state")
    nn <- if (inherits(spec, "fastdml_data")) spec$n else spec
    check(is.matrix(folds) && is.integer(folds), "make_folds did not return an integer matrix")
    if (!is.matrix(folds)) return(invisible())
    K <- as.integer(args$n_folds)
    check(nrow(folds) == nn && ncol(folds) == args$n_rep, sprintf("make_folds returned %s, expected %s x %s", paste(dim(folds), collapse = "x"), fz_show(nn), fz_show(args$n_rep)))
    for (s in seq_len(ncol(folds))) {
      tab <- tabulate(folds[, s], K)
      check(all(folds[, s] %in% seq_len(K)) && all(tab > 0),
            sprintf("make_folds repetition %d has empty folds or ids outside 1..K (fold sizes %s)", s, paste(tab, collapse = "/")))
      if (inherits(spec, "fastdml_data") && !is.null(spec$cluster)) {
        check(all(tapply(folds[, s], spec$cluster, function(f) length(unique(f))) == 1L), "make_folds splits a cluster across folds")
      }
    }
    if (!is.null(args$seed)) {
      again <- step("make_folds", fz_call("make_folds", c(list(spec = spec), args)))
      check(identical(folds, again), "make_folds with the same seed gave different folds")
    }
  }
  list(fun = "make_folds", notes = notes, body = body)
}

fz_case_sim_lesson <- function(max_n) {
  clean <- fz_coin(0.6)
  n <- if (clean) fz_n(max_n) else fz_pick(list(1, 2, 0, 2.5, NA, "10", -5, Inf, c(10, 20), TRUE, fz_garbage()))
  seed <- fz_seed_arg(clean)
  args <- list(n = n)
  args["seed"] <- list(seed)
  body <- function(step, check, watch) {
    before <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
    df <- step("sim_lesson", fz_call("sim_lesson", args))
    after <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
    if (!is.null(seed)) check(identical(before, after), "sim_lesson(seed = ) did not restore the caller's RNG state")
    check(is.data.frame(df) && nrow(df) == n, "sim_lesson did not return n rows")
    check(all(df$treatment %in% c(0, 1)) && all(df$outcome >= 0 & df$outcome <= 1), "sim_lesson columns out of range")
    if (!is.null(seed)) check(identical(df, step("sim_lesson", fz_call("sim_lesson", args))), "sim_lesson with the same seed differs")
    if (n >= 50) {
      spec <- step("causal_data", fastdml::causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income")))
      fit <- step("dml_irm", fastdml::dml_irm(spec, n_folds = 2L, seed = 1L))
      fz_exercise_fit(fit, step, check)
    }
  }
  list(fun = "sim_lesson", notes = fz_show_args(args), body = body)
}

fz_case_learners <- function(max_n) {
  which <- fz_pick(c("lrn_linear", "lrn_logistic", "lrn_custom"))
  args <- switch(which,
    lrn_custom = {
      a <- list(fit = if (fz_coin(0.6)) function(x, y) mean(y) else fz_garbage(),
                predict = if (fz_coin(0.6)) function(model, x) rep(model, nrow(x)) else fz_garbage())
      if (fz_coin(0.6)) a["name"] <- list(fz_pick(list("mine", NULL, 1, NA, c("a", "b"), "", fz_garbage())))
      a
    },
    list(ridge = if (fz_coin(0.3)) fz_pick(list(0, 0.5, 100)) else fz_garbage(large = TRUE)))
  use_it <- fz_coin(0.5)
  n <- fz_n(min(max_n, 500L), clean = TRUE)
  g <- fz_gen_data(n, clean = TRUE, model = "irm")
  notes <- c(sprintf("%s(%s)", which, fz_show_args(args)), if (use_it) c("then dml_plr on", g$notes))
  body <- function(step, check, watch) {
    lrn <- step(which, fz_call(which, args))
    step("print", utils::capture.output(print(lrn)), continue = TRUE)
    if (use_it) {
      fz_watch_data(g, watch)
      spec <- step("causal_data", fz_call("causal_data", g$args))
      role <- if (which == "lrn_logistic") "learner_treatment" else "learner_outcome"
      a <- list(spec = spec, n_folds = 2L, seed = 1L)
      a[[role]] <- lrn
      fit <- step("dml_plr", fz_call("dml_plr", a))
      fz_exercise_fit(fit, step, check)
    }
  }
  list(fun = which, notes = notes, body = body)
}

# A clean fit, then methods called with garbage arguments.
fz_case_methods <- function(max_n) {
  n <- fz_n(min(max_n, 600L), clean = TRUE)
  g <- fz_gen_data(n, clean = TRUE, model = "irm")
  model <- fz_pick(c("dml_plr", "dml_irm", "diff_in_means", "t_learner"))
  calls <- list(
    confint = function(f) list(parm = fz_pick(list(1, 2, "d", "nope", NA, fz_garbage())), level = fz_pick(list(0.9, 0, 1, NA, "a", c(0.9, 0.95), fz_garbage()))),
    summary = function(f) list(level = fz_pick(list(0.9, 0, 1.5, NA, fz_garbage()))),
    tidy = function(f) list(conf.int = fz_pick(list(TRUE, FALSE, NA, "yes", fz_garbage())), conf.level = fz_pick(list(0.9, 2, NA, fz_garbage()))),
    autoplot = function(f) list(type = fz_pick(list("estimates", "overlap", "nuisances", "bogus", NA, c("overlap", "estimates"), fz_garbage())), level = fz_pick(list(0.9, 0, NA, fz_garbage()))),
    print = function(f) list(digits = fz_pick(list(2, 0, -1, NA, "a", 30, fz_garbage()))),
    nuisances = function(f) list(),
    glance = function(f) list())
  if (model %in% c("diff_in_means", "t_learner")) calls <- calls[c("confint", "tidy", "print", "glance")]
  chosen <- sample(names(calls), fz_int(1L, 3L))
  margs <- lapply(chosen, function(nm) calls[[nm]](NULL))
  names(margs) <- chosen
  garbage_obj <- if ("nuisances" %in% chosen && fz_coin(0.5)) fz_garbage() else NULL
  notes <- c(g$notes, model, vapply(chosen, function(nm) sprintf("%s(%s)", nm, fz_show_args(margs[[nm]])), character(1)))
  body <- function(step, check, watch) {
    fz_watch_data(g, watch)
    spec <- step("causal_data", fz_call("causal_data", g$args))
    fit <- step(model, fz_call(model, if (model == "diff_in_means") list(spec = spec) else list(spec = spec, seed = 1L)))
    for (nm in chosen) {
      f <- switch(nm, confint = stats::confint, summary = summary, tidy = fastdml::tidy,
                  autoplot = ggplot2::autoplot, print = print, nuisances = fastdml::nuisances,
                  glance = fastdml::glance)
      obj <- if (nm == "nuisances" && !is.null(garbage_obj)) garbage_obj else fit
      out <- step(nm, utils::capture.output(res <- fz_call(f, c(list(obj), margs[[nm]]), name = nm)), continue = TRUE, plot = nm == "autoplot")
      if (!fz_failed(out) && nm == "summary") step("print.summary", utils::capture.output(print(res)), continue = TRUE)
      if (!fz_failed(out) && nm == "autoplot") step("ggplot_build", ggplot2::ggplot_build(res), continue = TRUE, plot = TRUE)
    }
  }
  list(fun = paste0("methods:", model), notes = notes, body = body)
}

# A valid spec tampered with by hand (users do edit list fields), then passed on: the
# estimators must refuse it with a classed error, never crash or read out of bounds.
fz_case_tampered <- function(max_n) {
  n <- min(max_n, fz_int(40L, 400L))
  g <- fz_gen_data(n, clean = TRUE, model = "irm")
  what <- fz_pick(c("X_short", "y_short", "d_short", "X_na", "y_na", "d_nonbinary", "d_na",
                    "cluster_double", "cluster_zero", "cluster_na", "cluster_gap", "cluster_new",
                    "weights_integer", "weights_short", "weights_negative", "weights_new", "n_wrong",
                    "X_integer", "X_no_cols", "X_character", "minimal", "continuous_type",
                    "y_character", "X_data.frame", "d_logical"))
  fun <- fz_pick(c("dml_plr", "dml_irm", "make_folds", "diff_in_means", "ipw", "t_learner"))
  notes <- c(g$notes, sprintf("spec tampered: %s; then %s", what, fun))
  body <- function(step, check, watch) {
    spec <- step("causal_data", fz_call("causal_data", g$args))
    s <- spec
    n <- spec$n
    switch(what,
      X_short = s$X <- s$X[-1L, , drop = FALSE], y_short = s$y <- s$y[-1L], d_short = s$d <- s$d[-1L],
      X_na = s$X[1L, 1L] <- NA, y_na = s$y[1L] <- NA, d_nonbinary = s$d[1L] <- 0.5, d_na = s$d[1L] <- NA,
      cluster_double = s$cluster <- as.double(seq_len(n) %% 10L + 1L),
      cluster_zero = s$cluster <- as.integer(seq_len(n) %% 10L),
      cluster_na = s$cluster <- c(NA_integer_, as.integer(seq_len(n - 1L) %% 10L + 1L)),
      cluster_gap = s$cluster <- as.integer((seq_len(n) %% 10L + 1L) * 100L),
      cluster_new = s$cluster <- sample.int(12L, n, replace = TRUE),
      weights_integer = s$weights <- rep(1L, n), weights_short = s$weights <- rep(1, 3L),
      weights_negative = s$weights <- rep(c(-1, 1), length.out = n),
      weights_new = s$weights <- stats::runif(n),
      n_wrong = s$n <- n + 7L, X_integer = storage.mode(s$X) <- "integer",
      X_no_cols = s$X <- s$X[, 0L, drop = FALSE], X_character = storage.mode(s$X) <- "character",
      minimal = s <- structure(list(X = spec$X, y = spec$y), class = "fastdml_data"),
      continuous_type = s$treatment_type <- "continuous",
      y_character = s$y <- as.character(s$y), X_data.frame = s$X <- as.data.frame(s$X),
      d_logical = s$d <- s$d == 1)
    watch("tampered spec", s)
    args <- switch(fun, dml_plr = , dml_irm = list(spec = s, n_folds = 2L, seed = 1L),
                   make_folds = list(spec = s, n_folds = 2L, seed = 1L),
                   t_learner = list(spec = s, n_boot = 2L, seed = 1L), list(spec = s))
    out <- step(fun, fz_call(fun, args))
    if (fun %in% c("dml_plr", "dml_irm")) fz_exercise_fit(out, step, check)
  }
  list(fun = fun, notes = notes, body = body)
}
