# The bad-input catalogue, part 2: fitting functions, folds, external nuisances, learners,
# fit-time warnings, baselines and methods (the harness is in helper-bad-input.R; the
# description atop test-bad-input.R).

start_catalogue()

# ---- dml_plr(): arguments ---------------------------------------------------------------------

err("dml_plr on a data.frame instead of a spec", "argument", "`spec`",
    with_df(), function(i) dml_plr(i$df))
err("dml_plr with n_folds larger than n", "folds", "`n_folds`",
    spec_setup(), function(i) dml_plr(i$spec, n_folds = 101))
err("dml_irm with n_folds larger than n", "folds", "`n_folds`",
    spec_setup(), function(i) dml_irm(i$spec, n_folds = 101))
err("option fastdml.num.threads = 0", "argument", "`num.threads`",
    spec_setup(), function(i) {
      old <- options(fastdml.num.threads = 0)
      on.exit(options(old))
      dml_plr(i$spec)
    })
err("dml_plr with n_rep = 1.5", "argument", "`n_rep`",
    spec_setup(), function(i) dml_plr(i$spec, n_rep = 1.5))
err("dml_plr with seed = NA", "argument", "`seed`",
    spec_setup(), function(i) dml_plr(i$spec, seed = NA))
err("dml_plr with a seed beyond the integer range", "argument", "`seed`",
    spec_setup(), function(i) dml_plr(i$spec, n_folds = 2, seed = 2^31))
err("dml_plr with an unknown score", "argument", "`score`",
    spec_setup(), function(i) dml_plr(i$spec, score = "IV"))
err("dml_plr with num.threads = 0", "argument", "`num.threads`",
    spec_setup(), function(i) dml_plr(i$spec, num.threads = 0))
err("dml_plr with num.threads = '2'", "argument", "`num.threads`",
    spec_setup(), function(i) dml_plr(i$spec, num.threads = "2"))
err("dml_plr with num.threads = 1.5", "argument", "`num.threads`",
    spec_setup(), function(i) dml_plr(i$spec, num.threads = 1.5))
err("dml_plr with cluster_correction = NA", "argument", "`cluster_correction`",
    spec_setup(), function(i) dml_plr(i$spec, cluster_correction = NA))
err("dml_plr with a string as learner", "argument", "`learner_outcome`",
    spec_setup(), function(i) dml_plr(i$spec, learner_outcome = "linear"))
err("dml_plr with a classifier for a continuous treatment", "learner", "\\bm\\b.*promo",
    spec_setup(binary = FALSE), function(i) dml_plr(i$spec, learner_treatment = lrn_logistic(), n_folds = 2))
err("dml_plr with a classifier for the outcome", "learner", "\\bl\\b.*spend",
    spec_setup(), function(i) dml_plr(i$spec, learner_outcome = lrn_logistic(), n_folds = 2))
err("dml_plr with a treatment that is a linear function of a covariate", "degenerate", "promo",
    with_df(edit_col("promo", function(x, df) 2 * df$income + 1), binary = FALSE),
    function(i) plr_linear(spec_of(i$df), n_folds = 2))
err("dml_plr with a copy of the treatment among the covariates", "degenerate", "promo",
    with_df(function(df) {
      df$promo_copy <- df$promo
      df
    }, binary = FALSE),
    function(i) plr_linear(causal_data(i$df, "spend", "promo", c("age", "promo_copy")), n_folds = 2))

# ---- user folds ---------------------------------------------------------------------------------

folds_setup <- function(edit, binary = TRUE) function() {
  df <- bad_df(binary = binary)
  list(df = df, folds = edit(rep_len(1:4, nrow(df)), df))
}
plr_folds <- function(...) {
  extra <- list(...)
  function(i) do.call(dml_plr, c(list(spec_of(i$df), folds = i$folds), extra))
}
err("folds with NA", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, NA)), plr_folds())
err("folds with a 0 id", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, 0L)), plr_folds())
err("folds with a non-integer id", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, 1.5)), plr_folds())
err("folds with Inf", "folds", "`folds`", folds_setup(function(f, df) replace(f, 3, Inf)), plr_folds())
err("folds of the wrong length", "folds", "`folds`.*99", folds_setup(function(f, df) f[-1]), plr_folds())
err("folds with a single fold", "folds", "`folds`.*single fold", folds_setup(function(f, df) rep(1L, length(f))), plr_folds())
err("folds with an empty fold id", "folds", "`folds`.*fold 2", folds_setup(function(f, df) ifelse(f == 2L, 4L, f)), plr_folds())
err("folds disagreeing with an explicit n_folds", "folds", "`n_folds`", folds_setup(function(f, df) f), plr_folds(n_folds = 5))
err("folds disagreeing with an explicit n_rep", "folds", "`n_rep`", folds_setup(function(f, df) f), plr_folds(n_rep = 2))
err("fold matrix with a broken second column", "folds", "`folds`.*column 2",
    folds_setup(function(f, df) cbind(f, 1L)), plr_folds())
err("folds as a character vector", "folds", "`folds`", folds_setup(function(f, df) as.character(f)), plr_folds())
err("folds whose training sample lacks the treated arm (IRM)", "folds", "fold 1.*treated",
    folds_setup(function(f, df) ifelse(df$promo == 1, 1L, 2L)),
    function(i) dml_irm(spec_of(i$df), folds = i$folds))
err("folds whose training sample lacks the treated arm (PLR, logistic propensity)", "folds", "fold 1",
    folds_setup(function(f, df) ifelse(df$promo == 1, 1L, 2L)),
    function(i) dml_plr(spec_of(i$df), learner_treatment = lrn_logistic(), folds = i$folds))
warn("folds that split clusters", "folds", "`folds`.*split",
     function() {
       df <- bad_df()
       list(df = df, cl = rep_len(1:20, nrow(df)), folds = rep(1:2, each = nrow(df) / 2))
     }, function(i) dml_plr(spec_of(i$df, cluster = i$cl), folds = i$folds))
ok("folds given as a data.frame, integer fold matrix left untouched",
   function() {
     df <- bad_df()
     f <- make_folds(spec_of(df), n_folds = 3, n_rep = 2, seed = 1)
     list(df = df, folds = f, folds_df = as.data.frame(f))
   }, function(i) list(a = dml_plr(spec_of(i$df), folds = i$folds_df), b = dml_irm(spec_of(i$df), folds = i$folds)),
   check = function(fits, i, res) {
     expect_identical(fits$a$n_rep, 2L)
     expect_true(all(nuisances(fits$b)$folds == i$folds))
   })
ok("make_folds returns the documented integer matrix for a double n_folds",
   spec_setup(), function(i) make_folds(i$spec, n_folds = 3, n_rep = 2, seed = 1),
   check = function(folds, i, res) {
     expect_true(is.matrix(folds) && is.integer(folds))
     expect_identical(dim(folds), c(100L, 2L))
   })

# ---- external nuisances -------------------------------------------------------------------------

plr_nuisances <- function(edit, binary = FALSE) function() {
  df <- bad_df(binary = binary)
  fit <- dml_plr(spec_of(df), n_folds = 2, seed = 1)
  nu <- nuisances(fit)[c("l", "m")]
  list(df = df, nu = edit(nu, df))
}
plr_ext <- function(...) {
  extra <- list(...)
  function(i) do.call(dml_plr, c(list(spec_of(i$df), nuisances = i$nu), extra))
}
err("nuisances that are not a list", "nuisances", "`nuisances`",
    plr_nuisances(function(nu, df) cbind(nu$l, nu$m)), plr_ext())
err("nuisances without names", "nuisances", "`nuisances`",
    plr_nuisances(function(nu, df) unname(nu)), plr_ext())
err("nuisances missing m", "nuisances", "lacks m",
    plr_nuisances(function(nu, df) nu["l"]), plr_ext())
err("nuisance of the wrong length", "nuisances", "Nuisance l",
    plr_nuisances(function(nu, df) {
      nu$l <- nu$l[-1, , drop = FALSE]
      nu
    }), plr_ext())
err("nuisance with NA", "nuisances", "Nuisance m",
    plr_nuisances(function(nu, df) {
      nu$m[2, 1] <- NA
      nu
    }), plr_ext())
err("character nuisance", "nuisances", "Nuisance l",
    plr_nuisances(function(nu, df) {
      nu$l <- format(nu$l)
      nu
    }), plr_ext())
err("nuisances with different numbers of columns", "nuisances", "nuisances",
    plr_nuisances(function(nu, df) {
      nu$l <- cbind(nu$l, nu$l)
      nu
    }), plr_ext())
err("nuisances disagreeing with an explicit n_rep", "nuisances", "`n_rep`",
    plr_nuisances(function(nu, df) nu), plr_ext(n_rep = 2))
err("nuisances with an explicit n_folds but no folds", "nuisances", "`n_folds`",
    plr_nuisances(function(nu, df) nu), plr_ext(n_folds = 2))
err("nuisances with broken folds", "folds", "`folds`",
    plr_nuisances(function(nu, df) c(nu, list(folds = rep(1L, nrow(df))))), plr_ext())
err("IV-type score with nuisances lacking g", "nuisances", "lacks g",
    plr_nuisances(function(nu, df) nu), plr_ext(score = "IV-type"))

irm_nuisances <- function(edit) function() {
  df <- bad_df()
  fit <- dml_irm(spec_of(df), n_folds = 2, seed = 1)
  nu <- nuisances(fit)[c("g0", "g1", "m")]
  list(df = df, nu = edit(nu, df))
}
irm_ext <- function(...) {
  extra <- list(...)
  function(i) do.call(dml_irm, c(list(spec_of(i$df), nuisances = i$nu), extra))
}
err("external propensity above 1", "nuisances", "\\bm\\b.*outside",
    irm_nuisances(function(nu, df) {
      nu$m[1, 1] <- 1.2
      nu
    }), irm_ext())
err("external propensity below 0", "nuisances", "\\bm\\b.*outside",
    irm_nuisances(function(nu, df) {
      nu$m[1, 1] <- -0.2
      nu
    }), irm_ext())
err("external propensity with NaN", "nuisances", "Nuisance m",
    irm_nuisances(function(nu, df) {
      nu$m[3, 1] <- NaN
      nu
    }), irm_ext())
err("ATE with external nuisances lacking g1", "nuisances", "g1",
    irm_nuisances(function(nu, df) nu[c("g0", "m")]), irm_ext(estimand = "ATE"))
ok("ATT with external nuisances without g1; extreme propensities leave the list untouched",
   irm_nuisances(function(nu, df) {
     nu <- nu[c("g0", "m")]
     nu$m[1:3, 1] <- c(0, 1e-4, 0.001)
     nu
   }), function(i) suppressWarnings(dml_irm(spec_of(i$df), estimand = "ATT", nuisances = i$nu, trim = 0.05)),
   check = function(fit, i, res) {
     expect_true(is.finite(coef(fit)))
     expect_identical(nuisances(fit)$m, i$nu$m)
   })

# ---- custom learners ------------------------------------------------------------------------------

err("lrn_custom with fit not a function", "argument", "`fit`",
    function() list(), function(i) lrn_custom(fit = 1, predict = lm_pred))
err("lrn_custom without predict", "argument", "`predict`",
    function() list(), function(i) lrn_custom(fit = lm_fit))
err("lrn_custom with an empty name", "argument", "`name`",
    function() list(), function(i) lrn_custom(lm_fit, lm_pred, name = ""))
err("lrn_custom with name NA", "argument", "`name`",
    function() list(), function(i) lrn_custom(lm_fit, lm_pred, name = NA_character_))
err("lrn_custom with two names", "argument", "`name`",
    function() list(), function(i) lrn_custom(lm_fit, lm_pred, name = c("a", "b")))

custom_plr <- function(predict, which = "outcome", fit = lm_fit, ...) {
  extra <- list(...)
  function(i) {
    lrn <- lrn_custom(fit, predict, name = "mine")
    args <- c(list(spec_of(i$df), n_folds = 2), extra)
    args[[paste0("learner_", which)]] <- lrn
    do.call(dml_plr, args)
  }
}
err("custom learner returning the wrong length", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) lm_pred(model, x)[-1]))
err("custom learner returning NA", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) replace(lm_pred(model, x), 2, NA)))
err("custom learner returning Inf", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) rep(Inf, nrow(x)), which = "treatment"))
err("custom learner returning a character vector", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) format(lm_pred(model, x)), which = "treatment"))
err("custom learner returning a factor", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) factor(lm_pred(model, x) > 0)))
err("custom learner returning NULL", "learner", "nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) NULL))
err("custom learner returning a 3-column matrix", "learner", "3 columns.*nuisance l, fold 1, repetition 1",
    with_df(), custom_plr(function(model, x) {
      p <- lm_pred(model, x)
      cbind(p, p, p)
    }))
err("custom classifier returning an unnamed 2-column matrix", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), function(i) {
      lrn <- lrn_custom(lm_fit, function(model, x) {
        p <- prob_pred(model, x)
        cbind(1 - p, p)
      })
      dml_irm(spec_of(i$df), learner_treatment = lrn, n_folds = 2)
    })
ok("custom classifier returning columns named 0/1 for the propensity",
   with_df(), function(i) {
     lrn <- lrn_custom(lm_fit, function(model, x) {
       p <- prob_pred(model, x)
       cbind(`0` = 1 - p, `1` = p)
     })
     suppressWarnings(dml_irm(spec_of(i$df), learner_treatment = lrn, n_folds = 2, seed = 1))
   }, check = function(fit, i, res) {
     expect_true(all(nuisances(fit)$m >= 0.05 & nuisances(fit)$m <= 0.95))
   })
err("custom learner whose fit throws (PLR)", "learner", "nuisance m, fold 1, repetition 1",
    with_df(), custom_plr(lm_pred, which = "treatment", fit = function(x, y) stop("singular fit")))
err("custom learner whose predict throws in the second repetition", "learner",
    "nuisance l, fold 1, repetition 2",
    with_df(), function(i) {
      calls <- 0
      lrn <- lrn_custom(lm_fit, function(model, x) {
        calls <<- calls + 1
        if (calls > 3) stop("out of memory")
        lm_pred(model, x)
      })
      dml_plr(spec_of(i$df), learner_outcome = lrn, n_folds = 3, n_rep = 2, seed = 1)
    })
err("custom learner whose fit throws (IRM)", "learner", "nuisance g0, fold 1, repetition 1",
    with_df(), function(i) {
      dml_irm(spec_of(i$df), learner_outcome = lrn_custom(function(x, y) stop("no"), lm_pred), n_folds = 2)
    })
warn("custom learner worse than a constant", "nuisance_fit", "Nuisance l",
     with_df(binary = FALSE), custom_plr(function(model, x) stats::rnorm(nrow(x), 0, 10), seed = 1))

# ---- built-in learners ----------------------------------------------------------------------------

err("lrn_linear with negative ridge", "argument", "`ridge`", function() list(), function(i) lrn_linear(ridge = -1))
err("lrn_linear with ridge NA", "argument", "`ridge`", function() list(), function(i) lrn_linear(ridge = NA))
err("lrn_linear with two ridge values", "argument", "`ridge`", function() list(), function(i) lrn_linear(ridge = c(1, 2)))
err("lrn_logistic with ridge Inf", "argument", "`ridge`", function() list(), function(i) lrn_logistic(ridge = Inf))
err("lrn_logistic with ridge as a string", "argument", "`ridge`", function() list(), function(i) lrn_logistic(ridge = "1"))

# ---- dml_irm() ------------------------------------------------------------------------------------

err("dml_irm with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) dml_irm(i$spec))
err("dml_irm with a three-valued numeric treatment", "treatment", "promo",
    with_df(edit_col("promo", function(x, df) rep_len(0:2, length(x)))), function(i) dml_irm(spec_of(i$df)))
err("dml_irm with estimand ATC", "argument", "`estimand`",
    spec_setup(), function(i) dml_irm(i$spec, estimand = "ATC"))
err("dml_irm with trim = 0", "argument", "`trim`", spec_setup(), function(i) dml_irm(i$spec, trim = 0))
err("dml_irm with trim = 0.5", "argument", "`trim`", spec_setup(), function(i) dml_irm(i$spec, trim = 0.5))
err("dml_irm with trim = NA", "argument", "`trim`", spec_setup(), function(i) dml_irm(i$spec, trim = NA))
err("dml_irm with normalize = NA", "argument", "`normalize`", spec_setup(), function(i) dml_irm(i$spec, normalize = NA))
err("dml_irm with normalize = 'yes'", "argument", "`normalize`", spec_setup(), function(i) dml_irm(i$spec, normalize = "yes"))
err("dml_irm with a classifier for a continuous outcome", "learner", "g0.*spend",
    spec_setup(), function(i) dml_irm(i$spec, learner_outcome = lrn_logistic(), n_folds = 2))
err("dml_irm with fewer treated rows than folds", "folds", "treated",
    with_df(edit_col("promo", function(x, df) replace(numeric(length(x)), 1:3, 1))),
    function(i) dml_irm(spec_of(i$df), n_folds = 5))
warn("dml_irm with a regression learner for the propensity", "propensity", "`learner_treatment`",
     with_df(edit_col("promo", function(x, df) {
       set.seed(5)
       stats::rbinom(length(x), 1, stats::plogis(3 * df$age))
     })), function(i) dml_irm(spec_of(i$df), learner_treatment = lrn_linear(), n_folds = 2, seed = 1))

# ---- fit-time warnings ---------------------------------------------------------------------------

warn("few clusters in dml_plr", "few_clusters", "4 clusters",
     function() {
       df <- bad_df()
       list(df = df, cl = rep_len(1:4, nrow(df)))
     }, function(i) dml_plr(spec_of(i$df, cluster = i$cl), n_folds = 2, seed = 1))
warn("few clusters in diff_in_means", "few_clusters", "3 clusters",
     function() {
       df <- bad_df()
       list(df = df, cl = rep_len(1:3, nrow(df)))
     }, function(i) diff_in_means(spec_of(i$df, cluster = i$cl)))
warn("high-dimensional covariates switch to ridge", "high_dimensional", "Nuisance l.*lrn_linear",
     function() {
       set.seed(3)
       df <- as.data.frame(matrix(stats::rnorm(60 * 40), 60, dimnames = list(NULL, paste0("v", 1:40))))
       df$spend <- stats::rnorm(60)
       df$promo <- stats::rnorm(60)
       list(df = df)
     }, function(i) plr_linear(causal_data(i$df, "spend", "promo"), n_folds = 2, seed = 1))
warn("weak treatment", "weak_treatment", "promo",
     with_df(edit_col("promo", function(x, df) {
       set.seed(2)
       2 * df$income + 1 + stats::rnorm(length(x), sd = 0.1)
     }), binary = FALSE), function(i) plr_linear(spec_of(i$df), n_folds = 2, seed = 1))
warn("poor overlap", "overlap", "ATE",
     with_df(edit_col("promo", function(x, df) {
       set.seed(4)
       stats::rbinom(length(x), 1, stats::plogis(6 * df$age))
     })), function(i) dml_irm(spec_of(i$df), n_folds = 2, seed = 1))
warn("separation of the propensity", "separation", "Nuisance m",
     with_df(edit_col("promo", function(x, df) as.numeric(df$age > 0))),
     function(i) irm_linear(spec_of(i$df), n_folds = 2, seed = 1))
warn("a covariate separating the treatment, with the default (boosting) learners", "overlap", "ATE",
     with_df(edit_col("promo", function(x, df) as.numeric(df$age > 0))),
     function(i) dml_irm(spec_of(i$df), n_folds = 2, seed = 1))
warn("a copy of the outcome among the covariates", NULL, "spend_copy",
     with_df(function(df) {
       df$spend_copy <- df$spend
       df
     }), function(i) dml_plr(causal_data(i$df, "spend", "promo", c("age", "spend_copy")), n_folds = 2, seed = 1))

# ---- baselines ---------------------------------------------------------------------------------

err("diff_in_means with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) diff_in_means(i$spec))
err("ipw with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) ipw(i$spec))
err("t_learner with a continuous treatment", "treatment", "promo",
    spec_setup(binary = FALSE), function(i) t_learner(i$spec))
err("diff_in_means with level = 1", "argument", "`level`", spec_setup(), function(i) diff_in_means(i$spec, level = 1))
err("diff_in_means with level = 95", "argument", "`level`", spec_setup(), function(i) diff_in_means(i$spec, level = 95))
err("diff_in_means with a misspelled argument", "argument", "levle",
    spec_setup(), function(i) diff_in_means(i$spec, levle = 0.9))
err("diff_in_means on a table with NA in the outcome", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 1, NA))),
    function(i) diff_in_means(i$df, outcome = "spend", treatment = "promo", covariates = COVS))
err("diff_in_means on a plain list", "data", "`data`",
    function() list(lst = list(a = 1)), function(i) diff_in_means(i$lst))
err("ipw with trim = 0.6", "argument", "`trim`", spec_setup(), function(i) ipw(i$spec, trim = 0.6))
err("ipw with a string as learner", "argument", "`learner`", spec_setup(), function(i) ipw(i$spec, learner = "logistic"))
err("ipw with num.threads = -1", "argument", "`num.threads`", spec_setup(), function(i) ipw(i$spec, num.threads = -1))
err("ipw on a data.table with zero weights on the control arm", "weights", "wt.*arm",
    dt_setup(function(dt) data.table::set(dt, j = "wt", value = as.numeric(dt$promo == 1))),
    function(i) ipw(i$dt, outcome = "spend", treatment = "promo", covariates = COVS, weights = "wt"))
err("ipw with a custom learner that throws", "learner", "propensity",
    spec_setup(), function(i) ipw(i$spec, learner = lrn_custom(function(x, y) stop("no"), lm_pred)))
warn("ipw with a regression learner for the propensity", "propensity", "`learner`",
     with_df(edit_col("promo", function(x, df) {
       set.seed(5)
       stats::rbinom(length(x), 1, stats::plogis(3 * df$age))
     })), function(i) ipw(spec_of(i$df), learner = lrn_linear()))
err("t_learner with n_boot = -1", "argument", "`n_boot`", spec_setup(), function(i) t_learner(i$spec, n_boot = -1))
err("t_learner with a character seed", "argument", "`seed`",
    spec_setup(), function(i) t_learner(i$spec, n_boot = 2, seed = "a"))
err("t_learner with a seed beyond the integer range", "argument", "`seed`",
    spec_setup(), function(i) t_learner(i$spec, n_boot = 2, seed = 1e12))
err("t_learner with a classifier for a continuous outcome", "learner", "g1.*spend",
    spec_setup(), function(i) t_learner(i$spec, learner = lrn_logistic()))
err("t_learner with a custom learner of the wrong length", "learner", "nuisance g1",
    spec_setup(), function(i) t_learner(i$spec, learner = lrn_custom(lm_fit, function(model, x) 1)))
ok("baselines on a matrix with weight and cluster vectors leave the inputs untouched",
   function() {
     df <- bad_df()
     list(m = as.matrix(df), w = seq(0.5, 2, length.out = nrow(df)), cl = rep_len(1:20, nrow(df)))
   }, function(i) {
     args <- list(i$m, "spend", "promo", COVS, weights = i$w, cluster = i$cl)
     list(dim = do.call(diff_in_means, args), ipw = do.call(ipw, args),
          tl = do.call(t_learner, c(args, n_boot = 3, seed = 1)))
   }, check = function(fits, i, res) {
     for (fit in fits) expect_true(is.finite(coef(fit)))
   })

# ---- sim_lesson() ------------------------------------------------------------------------------

err("sim_lesson with n = 1", "argument", "`n`", function() list(), function(i) sim_lesson(1))
err("sim_lesson with n = 'a'", "argument", "`n`", function() list(), function(i) sim_lesson("a"))
err("sim_lesson with n = 2.5", "argument", "`n`", function() list(), function(i) sim_lesson(2.5))
err("sim_lesson with two values of n", "argument", "`n`", function() list(), function(i) sim_lesson(c(10, 20)))
err("sim_lesson with n = Inf", "argument", "`n`", function() list(), function(i) sim_lesson(Inf))
err("sim_lesson with a character seed", "argument", "`seed`", function() list(), function(i) sim_lesson(10, seed = "a"))
err("sim_lesson with a seed beyond the integer range", "argument", "`seed`",
    function() list(), function(i) sim_lesson(10, seed = 1e12))

# ---- methods -----------------------------------------------------------------------------------

fit_setup <- function(model = "plr", binary = TRUE) function() {
  df <- bad_df(binary = binary)
  spec <- spec_of(df)
  fit <- if (model == "plr") dml_plr(spec, n_folds = 2, seed = 1) else dml_irm(spec, n_folds = 2, seed = 1)
  list(df = df, fit = fit, est = if (binary) diff_in_means(spec) else NULL)
}
err("confint with an unknown parm", "argument", "`parm`", fit_setup(), function(i) confint(i$fit, parm = "coupon"))
err("confint with parm = 2", "argument", "`parm`", fit_setup(), function(i) confint(i$fit, parm = 2))
err("confint with level = 0", "argument", "`level`", fit_setup(), function(i) confint(i$fit, level = 0))
err("confint with a character level", "argument", "`level`", fit_setup("irm"), function(i) confint(i$fit, level = "0.9"))
err("confint of a baseline with an unknown parm", "argument", "`parm`", fit_setup(), function(i) confint(i$est, parm = "coupon"))
err("tidy with conf.int = NA", "argument", "`conf.int`", fit_setup(), function(i) tidy(i$fit, conf.int = NA))
err("tidy with conf.level = 1.5", "argument", "`conf.level`", fit_setup(), function(i) tidy(i$fit, conf.level = 1.5))
err("tidy of a baseline with conf.int = 1", "argument", "`conf.int`", fit_setup(), function(i) tidy(i$est, conf.int = 1))
err("summary with level = -0.1", "argument", "`level`", fit_setup("irm"), function(i) summary(i$fit, level = -0.1))
err("summary with two levels", "argument", "`level`", fit_setup(), function(i) summary(i$fit, level = c(0.9, 0.95)))
err("autoplot with an unknown type", "argument", "`type`", fit_setup(), function(i) ggplot2::autoplot(i$fit, type = "foo"))
err("autoplot with type = NA", "argument", "`type`", fit_setup(), function(i) ggplot2::autoplot(i$fit, type = NA))
err("autoplot with level = 2", "argument", "`level`", fit_setup("irm"), function(i) ggplot2::autoplot(i$fit, level = 2))
err("overlap plot of a continuous treatment", "argument", "overlap",
    fit_setup(binary = FALSE), function(i) ggplot2::autoplot(i$fit, type = "overlap"))
err("nuisances() of a data.frame", "argument", "nuisances\\(\\)", fit_setup(), function(i) nuisances(i$df))
err("nuisances() of a baseline estimate", "argument", "nuisances\\(\\)", fit_setup(), function(i) nuisances(i$est))
ok("methods leave the fit untouched",
   fit_setup("irm"), function(i) {
     list(confint(i$fit, level = 0.9), tidy(i$fit, conf.int = FALSE), summary(i$fit), glance(i$fit),
          nuisances(i$fit), ggplot2::autoplot(i$fit, type = "overlap"),
          ggplot2::autoplot(i$fit, type = "nuisances"), tidy(i$est), glance(i$est))
   }, check = function(value, i, res) {
     expect_identical(nrow(value[[4]]), 1L)
   })
ok("glance and summary of a fit from external nuisances without folds",
   plr_nuisances(function(nu, df) nu), function(i) {
     fit <- dml_plr(spec_of(i$df), nuisances = i$nu)
     list(glance = glance(fit), summary = summary(fit), tidy = tidy(fit))
   }, check = function(value, i, res) {
     expect_true(is.na(value$glance$n_folds))
     expect_identical(value$glance$n_rep, 1L)
   })

# ---- in-place modification of inputs across full pipelines -----------------------------------------

ok("full pipeline on a data.table with weights and clusters leaves it untouched",
   function() {
     df <- bad_df(n = 120)
     df$wt <- seq(0.5, 2, length.out = 120)
     df$store <- rep_len(1:12, 120)
     list(dt = data.table::as.data.table(df))
   }, function(i) {
     spec <- causal_data(spend ~ promo | age + income + I(tenure^2), data = i$dt, weights = "wt", cluster = "store")
     list(plr = dml_plr(spec, n_folds = 3, seed = 1, score = "IV-type"),
          irm = dml_irm(spec, n_folds = 3, seed = 1, trim = 0.05, normalize = TRUE))
   }, check = function(fits, i, res) {
     expect_true(all(is.finite(vapply(fits, coef, numeric(1)))))
   })
ok("full pipeline on vectors of weights and clusters leaves them untouched",
   function() {
     df <- bad_df(n = 120)
     list(df = df, w = seq(0.5, 2, length.out = 120), cl = rep_len(1:12, 120))
   }, function(i) {
     spec <- spec_of(i$df, weights = i$w, cluster = i$cl)
     list(dml_plr(spec, n_folds = 3, seed = 1), dml_irm(spec, n_folds = 3, seed = 1, estimand = "ATT"))
   }, check = function(fits, i, res) {
     expect_true(all(is.finite(vapply(fits, coef, numeric(1)))))
   })
ok("integer and logical columns are accepted",
   with_df(function(df) {
     df$promo <- df$promo == 1
     df$spend <- as.integer(round(df$spend * 10))
     df$age <- as.integer(round(df$age * 10))
     df
   }), function(i) dml_irm(spec_of(i$df), n_folds = 2, seed = 1),
   check = function(fit, i, res) {
     expect_identical(fit$spec$treatment_levels, c("FALSE", "TRUE"))
   })

run_catalogue(min_cases = 100L)
