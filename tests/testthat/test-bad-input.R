# A catalogue of bad or unusual inputs for every exported function.
#
# Each case is a row of a table: a label, a `setup()` that builds the case's inputs (small
# data, fixed seeds), a `run(i)` that makes the call on those inputs, the expected condition
# (an error of class fastdml_error_<what>, a warning fastdml_warning_<what>, a message
# fastdml_message_<what>, or "ok" with a check of the result) and a regular expression that the
# message must match: it names the argument or the column. For every case the harness checks
#   1. the class of the condition (and, for errors, the parent class fastdml_error);
#   2. that its message names the argument or column (regexp, whitespace-normalised);
#   3. that every input object (data.frame, data.table, matrix, vectors, folds, nuisance lists,
#      fits) is unchanged: a deep copy is taken before the call and compared with identical();
# and also that no internal message of the C++ core ("FoldPlan:", "LinearLearner:", ...,
# fastdml_error_internal) reaches the user and that no unclassed R warning escapes (unless the
# case says the warning comes from the user's own expression).
#
# Cases are written with the behaviour that SHOULD happen; a case that fails documents an input
# the package does not handle well yet.

#
# The harness is in helper-bad-input.R; the fitting functions' cases are in
# test-bad-input-fits.R.

start_catalogue()

# ---- causal_data(): data.frame input ----------------------------------------------------------

err("outcome with NA", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 3, NA))), cd())
err("outcome with NaN", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 5, NaN))), cd())
err("outcome with Inf", "non_finite", "spend",
    with_df(edit_col("spend", function(x, df) replace(x, 7, -Inf))), cd())
err("binary treatment with NA", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x, 2, NA))), cd())
err("logical treatment with NA", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x == 1, 4, NA))), cd())
err("continuous treatment with Inf", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x, 9, Inf)), binary = FALSE), cd())
err("continuous treatment with NaN", "non_finite", "promo",
    with_df(edit_col("promo", function(x, df) replace(x, 9, NaN)), binary = FALSE), cd())
err("covariate with NA", "non_finite", "income",
    with_df(edit_col("income", function(x, df) replace(x, c(3, 8), NA))), cd())
err("covariates with NaN and Inf", "non_finite", "age.*visits",
    with_df(function(df) {
      df$age[1] <- NaN
      df$visits[2] <- Inf
      df
    }), cd())
err("factor covariate with NA", "non_finite", "region",
    with_df(function(df) {
      df$region <- factor(rep(c("north", "south"), length.out = nrow(df)))
      df$region[6] <- NA
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "region")))
err("character outcome", "type", "spend",
    with_df(edit_col("spend", function(x, df) format(x))), cd())
err("factor outcome", "type", "spend",
    with_df(edit_col("spend", function(x, df) factor(x > 0))), cd())
err("Date treatment", "type", "promo",
    with_df(edit_col("promo", function(x, df) as.Date("2024-01-01") + x)), cd())
err("complex treatment", "type", "promo",
    with_df(edit_col("promo", function(x, df) complex(real = x)), binary = FALSE), cd())
err("Date covariate", "type", "signup",
    with_df(function(df) {
      df$signup <- as.Date("2020-01-01") + seq_len(nrow(df))
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "signup")))
err("list column as covariate", "type", "tenure",
    with_df(function(df) {
      df$tenure <- as.list(df$tenure)
      df
    }), cd())
err("constant outcome", "constant", "spend",
    with_df(edit_col("spend", function(x, df) rep(2.5, length(x)))), cd())
err("treatment with a single value", "constant", "promo",
    with_df(edit_col("promo", function(x, df) rep(1, length(x)))), cd())
err("character treatment with one level", "constant", "promo",
    with_df(edit_col("promo", function(x, df) rep("email", length(x)))), cd())
err("factor treatment with one level in use", "constant", "promo",
    with_df(edit_col("promo", function(x, df) factor(rep("email", length(x)), levels = c("none", "email")))),
    cd())
err("constant numeric covariate", "constant", "tenure",
    with_df(edit_col("tenure", function(x, df) rep(3, length(x)))), cd())
err("constant character covariate", "constant", "region",
    with_df(function(df) {
      df$region <- "north"
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "region")))
err("binary model on a treatment with three levels", "treatment", "3 arms",
    with_df(edit_col("promo", function(x, df) factor(rep(c("none", "email", "sms"), length.out = length(x))))),
    function(i) dml_irm(causal_data(i$df, "spend", "promo", COVS)))
err("outcome equal to treatment", "column", "spend",
    with_df(), function(i) causal_data(i$df, "spend", "spend", COVS))
err("covariate is the outcome", "column", "spend",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "spend")))
err("covariate is the treatment", "column", "promo",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "promo")))
err("covariate listed twice", "column", "income",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "income", "income")))
err("unknown covariate", "column", "salary",
    with_df(), function(i) causal_data(i$df, "spend", "promo", c("age", "salary")))
err("unknown outcome", "column", "revenue",
    with_df(), function(i) causal_data(i$df, "revenue", "promo", COVS))
err("unknown treatment", "column", "coupon",
    with_df(), function(i) causal_data(i$df, "spend", "coupon", COVS))
err("two outcome names", "argument", "`outcome`",
    with_df(), function(i) causal_data(i$df, c("spend", "age"), "promo", c("income", "tenure")))
err("outcome not given", "argument", "`outcome`",
    with_df(), function(i) causal_data(i$df, treatment = "promo", covariates = COVS))
err("covariates as column numbers", "argument", "`covariates`",
    with_df(), function(i) causal_data(i$df, "spend", "promo", 1:2))
err("empty covariates", "argument", "`covariates`",
    with_df(), function(i) causal_data(i$df, "spend", "promo", character()))
err("no covariate left after outcome and treatment", "argument", "`covariates`",
    with_df(function(df) df[, c("spend", "promo")]), function(i) causal_data(i$df, "spend", "promo"))
err("duplicated column names in a data.frame", "column", "income",
    with_df(function(df) {
      names(df)[3] <- "income"
      df
    }), function(i) causal_data(i$df, "spend", "promo", c("age", "visits")))
err("data is a plain list", "data", "`data`",
    function() list(lst = as.list(bad_df())), function(i) causal_data(i$lst, "spend", "promo", COVS))
err("data with a single row", "data", "`data`.*1 row",
    with_df(function(df) df[1, ]), cd())
err("data is NULL", "data", "`data`",
    function() list(), function(i) causal_data(NULL, "spend", "promo", COVS))
err("control that is not a level", "argument", "`control`",
    with_df(), cd(control = 5))
err("control with a continuous treatment", "argument", "`control`",
    with_df(binary = FALSE), cd(control = 0))
err("control NA", "argument", "`control`",
    with_df(), cd(control = NA))

# ---- causal_data(): weights and clusters ------------------------------------------------------

weights_setup <- function(edit) function() {
  df <- bad_df()
  list(df = df, w = edit(seq(0.5, 2, length.out = nrow(df)), df))
}
err("weights vector with NA", "non_finite", "weights",
    weights_setup(function(w, df) replace(w, 3, NA)), function(i) spec_of(i$df, weights = i$w))
err("weights vector with Inf", "non_finite", "weights",
    weights_setup(function(w, df) replace(w, 3, Inf)), function(i) spec_of(i$df, weights = i$w))
err("weights column with NaN", "non_finite", "wt",
    with_df(function(df) {
      df$wt <- replace(rep(1, nrow(df)), 10, NaN)
      df
    }), function(i) spec_of(i$df, weights = "wt"))
err("negative weights", "weights", "weights",
    weights_setup(function(w, df) replace(w, c(2, 4), -1)), function(i) spec_of(i$df, weights = i$w))
err("zero weights on the whole treated arm", "weights", "weights.*arm",
    weights_setup(function(w, df) w * (df$promo == 0)), function(i) spec_of(i$df, weights = i$w))
err("zero weights everywhere with a continuous treatment", "weights", "weights",
    function() {
      df <- bad_df(binary = FALSE)
      list(df = df, w = numeric(nrow(df)))
    }, function(i) spec_of(i$df, weights = i$w))
err("weights vector of the wrong length", "length", "`weights`",
    weights_setup(function(w, df) w[-1]), function(i) spec_of(i$df, weights = i$w))
err("weights naming an unknown column", "column", "wt2",
    with_df(), function(i) spec_of(i$df, weights = "wt2"))
err("character weights column", "type", "wt",
    with_df(function(df) {
      df$wt <- as.character(seq_len(nrow(df)))
      df
    }), function(i) spec_of(i$df, weights = "wt"))
err("weights column that is the outcome", "column", "spend",
    with_df(), function(i) spec_of(i$df, weights = "spend"))

cluster_setup <- function(edit) function() {
  df <- bad_df()
  list(df = df, cl = edit(rep_len(1:20, nrow(df)), df))
}
err("clusters with NA", "non_finite", "cluster",
    cluster_setup(function(cl, df) replace(cl, 5, NA)), function(i) spec_of(i$df, cluster = i$cl))
err("cluster vector of the wrong length", "length", "`cluster`",
    cluster_setup(function(cl, df) cl[-(1:3)]), function(i) spec_of(i$df, cluster = i$cl))
err("a single cluster", "constant", "cluster",
    cluster_setup(function(cl, df) rep(7L, length(cl))), function(i) spec_of(i$df, cluster = i$cl))
err("cluster naming an unknown column", "column", "store",
    with_df(), function(i) spec_of(i$df, cluster = "store"))
err("cluster column that is the treatment", "column", "promo",
    with_df(), function(i) spec_of(i$df, cluster = "promo"))
err("clusters given as a list of the right length", NULL, "`cluster`.*(atomic|vector|list)",
    cluster_setup(function(cl, df) as.list(cl)), function(i) spec_of(i$df, cluster = i$cl))

# ---- causal_data(): data.table input ----------------------------------------------------------

err("data.table outcome with NA", "non_finite", "spend",
    dt_setup(function(dt) {
      data.table::set(dt, 4L, "spend", NA_real_)
      dt
    }), function(i) causal_data(i$dt, "spend", "promo", COVS))
err("data.table with duplicated column names", "column", "income",
    dt_setup(function(dt) data.table::setnames(dt, "tenure", "income")),
    function(i) causal_data(i$dt, "spend", "promo", c("age", "visits")))
err("data.table unknown covariate", "column", "salary",
    dt_setup(), function(i) causal_data(i$dt, "spend", "promo", c("age", "salary")))
err("data.table formula with unknown covariate", "column", "salary",
    dt_setup(), function(i) causal_data(spend ~ promo | age + salary, data = i$dt))
err("data.table negative weights column", "weights", "wt",
    dt_setup(function(dt) data.table::set(dt, j = "wt", value = c(-1, rep(1, nrow(dt) - 1)))),
    function(i) causal_data(i$dt, "spend", "promo", COVS, weights = "wt"))
err("data.table constant covariate via formula", "constant", "tenure",
    dt_setup(function(dt) data.table::set(dt, j = "tenure", value = 1)),
    function(i) causal_data(spend ~ promo | age + tenure, data = i$dt))

# ---- causal_data(): matrix input --------------------------------------------------------------

mat_setup <- function(edit = identity) function() list(m = edit(as.matrix(bad_df())))
err("matrix without column names", "data", "column names",
    mat_setup(unname), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with duplicated column names", "column", "income",
    mat_setup(function(m) {
      colnames(m)[3] <- "income"
      m
    }), function(i) causal_data(i$m, "spend", "promo", c("age", "visits")))
err("character matrix", "type", "spend",
    mat_setup(function(m) {
      out <- matrix(format(m), nrow(m), dimnames = dimnames(m))
      out
    }), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with NaN in a covariate", "non_finite", "visits",
    mat_setup(function(m) {
      m[3, "visits"] <- NaN
      m
    }), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with Inf in the outcome", "non_finite", "spend",
    mat_setup(function(m) {
      m[1, "spend"] <- Inf
      m
    }), function(i) causal_data(i$m, "spend", "promo", COVS))
err("matrix with a single-valued treatment", "constant", "promo",
    mat_setup(function(m) {
      m[, "promo"] <- 0
      m
    }), function(i) causal_data(i$m, "spend", "promo", COVS))

# ---- causal_data(): formula interface ---------------------------------------------------------

err("formula without |", "formula", "\\|",
    with_df(), function(i) causal_data(spend ~ promo + age, data = i$df))
err("formula with two treatments", "formula", "treatment",
    with_df(), function(i) causal_data(spend ~ promo + age | income, data = i$df))
err("formula with an unknown covariate", "column", "salary",
    with_df(), function(i) causal_data(spend ~ promo | age + salary, data = i$df))
err("formula with an unknown variable inside a transform", "column", "salary",
    with_df(), function(i) causal_data(spend ~ promo | age + log(salary), data = i$df))
err("formula with an unknown treatment", "column", "coupon",
    with_df(), function(i) causal_data(spend ~ coupon | age, data = i$df))
err("formula with an outcome transform of an unknown variable", "formula", "log\\(revenue\\)",
    with_df(), function(i) causal_data(log(revenue) ~ promo | age, data = i$df))
err("formula with a failing covariate transform", "formula", "poly\\(age, 200\\)",
    with_df(), function(i) causal_data(spend ~ promo | poly(age, 200), data = i$df))
err("formula with a covariate transform that stops", "formula", "explode\\(age\\)",
    with_df(), function(i) {
      explode <- function(x) stop("cannot transform")
      causal_data(spend ~ promo | explode(age), data = i$df)
    })
err("formula with an outcome transform giving NaN", "non_finite", "log\\(spend\\)",
    with_df(), function(i) causal_data(log(spend) ~ promo | age, data = i$df))
warn("formula whose covariate transform warns", "formula", "coarse\\(income\\)",
     with_df(), function(i) {
       coarse <- function(x) {
         warning("values rounded")
         round(x)
       }
       causal_data(spend ~ promo | age + coarse(income), data = i$df)
     })
err("formula with a covariate term of the wrong length", "formula", "I\\(1:3\\)",
    with_df(), function(i) causal_data(spend ~ promo | age + I(1:3), data = i$df))
err("formula with a one-value outcome", "formula", "mean\\(spend\\)",
    with_df(), function(i) causal_data(mean(spend) ~ promo | age, data = i$df))
err("one-sided formula", "formula", "outcome",
    with_df(), function(i) causal_data(~ promo | age, data = i$df))
err("formula without covariates", "formula", "covariates",
    with_df(), function(i) causal_data(spend ~ promo | 1, data = i$df))
err("formula without data", "data", "`data`",
    function() list(), function(i) causal_data(spend ~ promo | age))
err("formula with the same outcome and treatment", "column", "spend",
    with_df(), function(i) causal_data(spend ~ spend | age, data = i$df))
err("formula with the outcome as a covariate", "column", "spend",
    with_df(), function(i) causal_data(spend ~ promo | age + spend, data = i$df))
err("formula with the treatment as a covariate", "column", "promo",
    with_df(), function(i) causal_data(spend ~ promo | age + promo, data = i$df))
err("formula with a covariate computed from the outcome", "column", "spend",
    with_df(), function(i) causal_data(spend ~ promo | age + I(spend^2), data = i$df))
err("formula with a covariate interacting with the treatment", "column", "promo",
    with_df(), function(i) causal_data(spend ~ promo | age + income:promo, data = i$df))
ok("formula `.` after a transformed outcome leaves the raw outcome out",
   with_df(), function(i) causal_data(log(spend + 20) ~ promo | ., data = i$df),
   check = function(spec, i, res) {
     expect(!"spend" %in% spec$covariates,
            sprintf("the raw outcome `spend` became a covariate: %s", paste(spec$covariates, collapse = ", ")))
   })
err("formula and an explicit treatment argument that disagrees", "argument", "`treatment`",
    with_df(), function(i) causal_data(i$df, spend ~ promo | age, treatment = "visits"))

# ---- causal_data(): messages and warnings -------------------------------------------------------

inform("-1/+1 treatment is binary with a note", "binary_treatment", "promo.*-1",
       with_df(edit_col("promo", function(x, df) 2 * x - 1)), cd())
inform("1/2 treatment is binary with a note", "binary_treatment", "promo.*control 1",
       with_df(edit_col("promo", function(x, df) x + 1)), cd())
inform("character covariate is expanded", "expanded", "region.*east",
       with_df(function(df) {
         df$region <- rep(c("north", "south", "east"), length.out = nrow(df))
         df
       }), function(i) causal_data(i$df, "spend", "promo", c("age", "region")))
inform("logical covariate is expanded", "expanded", "member",
       with_df(function(df) {
         df$member <- df$age > 0
         df
       }), function(i) causal_data(i$df, "spend", "promo", c("income", "member")))
inform("factor covariate in a formula on a data.table is expanded", "expanded", "plan",
       function() {
         dt <- data.table::as.data.table(bad_df())
         data.table::set(dt, j = "plan", value = factor(rep(c("basic", "pro"), length.out = nrow(dt))))
         list(dt = dt)
       }, function(i) causal_data(spend ~ promo | age + plan, data = i$dt))
inform("indicator renamed when its name is taken", "renamed", "region_b",
       with_df(function(df) {
         df$region <- rep(c("a", "b"), length.out = nrow(df))
         df$regionb <- df$age * 2
         df
       }), function(i) causal_data(i$df, "spend", "promo", c("regionb", "region")))
warn("nearly constant outcome", "constant_outcome", "spend",
     with_df(edit_col("spend", function(x, df) replace(numeric(length(x)), 1:4, 1))), cd())

# ---- make_folds() ----------------------------------------------------------------------------

err("make_folds with spec = 1", "argument", "`spec`", function() list(), function(i) make_folds(1))
err("make_folds with a data.frame as spec", "argument", "`spec`",
    with_df(), function(i) make_folds(i$df))
err("make_folds with spec beyond the integer range", "argument", "`spec`",
    function() list(), function(i) make_folds(1e10))
err("make_folds with n_folds larger than n", "folds", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 101))
err("make_folds with n_folds beyond the integer range", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 1e10))
err("make_folds with more folds than clusters", "folds", "`n_folds`.*clusters",
    function() {
      df <- bad_df()
      list(df = df, cl = rep_len(1:3, nrow(df)))
    }, function(i) make_folds(spec_of(i$df, cluster = i$cl), n_folds = 5))
err("make_folds with n_folds = 1", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 1))
err("make_folds with n_folds = 2.5", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = 2.5))
err("make_folds with n_folds = NA", "argument", "`n_folds`",
    spec_setup(), function(i) make_folds(i$spec, n_folds = NA))
err("make_folds with n_rep = 0", "argument", "`n_rep`",
    spec_setup(), function(i) make_folds(i$spec, n_rep = 0))
err("make_folds with stratify = NA", "argument", "`stratify`",
    spec_setup(), function(i) make_folds(i$spec, stratify = NA))
err("make_folds with stratify = 'yes'", "argument", "`stratify`",
    spec_setup(), function(i) make_folds(i$spec, stratify = "yes"))
err("make_folds with a character seed", "argument", "`seed`",
    spec_setup(), function(i) make_folds(i$spec, seed = "a"))
err("make_folds with a seed beyond the integer range", "argument", "`seed`",
    spec_setup(), function(i) make_folds(i$spec, seed = 1e12))

run_catalogue(min_cases = 100L)
