# Fuzzer part: generators of data, learners, folds, external nuisances and arguments (see
# fz-util.R for the whole).

# ---------------------------------------------------------------------------------------------
# Data generators
# ---------------------------------------------------------------------------------------------

# Number of rows: mostly small (fast), sometimes tiny (1..10) or a few thousand.
fz_n <- function(max_n = 3000L, clean = FALSE) {
  lo <- if (clean) 40L else 1L
  n <- fz_pick(list(fz_int(lo, 10L + lo), fz_int(max(lo, 10L), 200L), fz_int(200L, 1000L),
                    fz_int(1000L, 3000L)), prob = c(if (clean) 0.05 else 0.12, 0.6, 0.22, 0.06))
  min(n, max_n)
}

fz_covariate <- function(n, type, z) {
  switch(type,
    num = z * stats::runif(1, -1, 1) + stats::rnorm(n),
    int = sample.int(50L, n, replace = TRUE),
    logical = stats::runif(n) < 0.5,
    factor = factor(sample(c("lo", "mid", "hi")[seq_len(fz_int(2L, 3L))], n, replace = TRUE)),
    char = sample(c("red", "green", "blue"), n, replace = TRUE),
    factor_unused = factor(sample(c("a", "b"), n, replace = TRUE), levels = c("a", "b", "zz")),
    Date = as.Date("2020-01-01") + sample.int(300L, n, replace = TRUE),
    POSIXct = as.POSIXct("2020-01-01", tz = "UTC") + stats::runif(n, 0, 1e6),
    list = I(as.list(stats::rnorm(n))),
    na = { x <- stats::rnorm(n); x[sample.int(n, max(1L, n %/% 10L))] <- NA; x },
    nan = { x <- stats::rnorm(n); x[sample.int(n, 1L)] <- NaN; x },
    inf = { x <- stats::rnorm(n); x[sample.int(n, 1L)] <- fz_pick(list(Inf, -Inf)); x },
    na_factor = { x <- factor(sample(c("u", "v"), n, replace = TRUE)); x[sample.int(n, 1L)] <- NA; x },
    const = rep(3, n),
    huge = stats::rnorm(n) * 1e200,
    tiny = stats::rnorm(n) * 1e-200,
    nearconst = 1 + stats::rnorm(n) * 1e-13,
    rare = { x <- numeric(n); x[sample.int(n, 1L)] <- 1; x },
    complex = complex(real = stats::rnorm(n), imaginary = 1),
    idchar = sprintf("id%05d", sample.int(n)),
    empty_level = sample(c("", "k"), n, replace = TRUE),
    dupcol = z,
    stop("unknown covariate type ", type))
}

# Random data set with outcome `y`, treatment `d`, covariates and optional weights/clusters,
# together with the arguments of causal_data(). `clean` data are valid with high probability;
# otherwise one or two "defect sites" (covariates, treatment, outcome, weights, cluster,
# control, traps, format, interface) get a defect and the rest stays valid, so that messy
# cases still reach the code behind the first check. Returns a list with the data object
# (`data`: a data.frame, data.table, matrix or list), `df` (the data.frame causal_data()
# sees), `args` (arguments of causal_data(), possibly a formula), `meta` (what the checks
# need) and `notes` (the description).
fz_gen_data <- function(n, clean, model = "any") {
  notes <- character()
  sites <- c("cov", "treat", "outcome", "weights", "cluster", "control", "traps", "format", "interface")
  messy <- if (clean) character() else sample(sites, fz_pick(list(1L, 1L, 1L, 2L)))
  is_messy <- function(site) site %in% messy
  if (length(messy)) notes <- c(notes, sprintf("defects in [%s]", paste(messy, collapse = ",")))
  z <- stats::rnorm(n)

  # Covariates.
  p <- if (is_messy("cov") && fz_coin(0.25)) n + fz_int(1L, 5L) else fz_int(1L, 8L)
  p <- max(1L, min(p, 60L))
  clean_types <- c("num", "num", "num", "num", "int", "logical", "factor", "char")
  messy_types <- c("factor_unused", "Date", "POSIXct", "list", "na", "nan", "inf", "na_factor",
                   "const", "huge", "tiny", "nearconst", "rare", "complex", "idchar", "empty_level",
                   "dupcol")
  types <- c("num", vapply(seq_len(p - 1L), function(j) fz_pick(clean_types), character(1)))
  if (is_messy("cov") && p <= 60L) {
    at <- sample.int(p, min(p, fz_int(1L, 2L)))
    types[at] <- vapply(at, function(j) fz_pick(messy_types), character(1))
  }
  if (n > 400L) types[types == "idchar"] <- "num"  # keep the expansion into n - 1 indicators cheap
  if (p > 8L) types[types %in% c("factor", "char", "idchar", "factor_unused")] <- "num"
  X <- lapply(types, fz_covariate, n = n, z = z)
  names(X) <- paste0("x", seq_len(p))
  notes <- c(notes, sprintf("n=%d p=%d", n, p))
  if (any(types != "num")) notes <- c(notes, sprintf("cov types [%s]", paste(types, collapse = ",")))

  # Treatment.
  tk_clean <- c("01", "01", "01", "01", "01int", "logical", "factor", "ab")
  if (model == "multi") tk_clean <- c("three", "three", "four", "four", "factor")
  if (!model %in% c("irm", "multi")) tk_clean <- c(tk_clean, "continuous")
  tk <- if (!is_messy("treat")) fz_pick(tk_clean) else
    fz_pick(c("pm1", "12", "onelevel", "three", "na", "date", "rare1", "rare2", "factor_unused",
              "inf", "string_num", "empty_char", "list", "continuous",
              if (model == "multi") c("rare_arm", "four_unused")))
  b <- stats::rbinom(n, 1L, stats::plogis(0.8 * z))
  if (n >= 2L && length(unique(b)) < 2L) b[1L] <- 1L - b[1L]
  if (n >= 40L) {  # at least 10 rows per arm, so that 5-fold cross-fitting works
    for (arm in 0:1) if (sum(b == arm) < 10L) b[sample(which(b != arm), 10L - sum(b == arm))] <- arm
  }
  d <- switch(tk,
    "01" = as.double(b), "01int" = as.integer(b), logical = b == 1L,
    factor = factor(ifelse(b == 1L, "trt", "ctl"), levels = c("ctl", "trt")),
    ab = ifelse(b == 1L, "b", "a"), continuous = 0.5 * z + stats::rnorm(n),
    pm1 = 2 * b - 1, "12" = b + 1, onelevel = rep(1, n),
    three = sample(c("a", "b", "c"), n, replace = TRUE),
    four = factor(sample(c("w", "x", "y", "z"), n, replace = TRUE, prob = c(0.4, 0.3, 0.2, 0.1)),
                  levels = c("w", "x", "y", "z")),
    four_unused = factor(sample(c("w", "x", "y"), n, replace = TRUE), levels = c("w", "x", "y", "z")),
    rare_arm = { x <- ifelse(b == 1L, "b", "a"); x[sample.int(n, 1L)] <- "c"; x },
    na = { x <- as.double(b); x[sample.int(n, 1L)] <- NA; x },
    date = as.Date("2020-01-01") + b,
    rare1 = { x <- numeric(n); x[sample.int(n, 1L)] <- 1; x },
    rare2 = { x <- numeric(n); x[sample.int(n, min(2L, n))] <- 1; x },
    factor_unused = factor(ifelse(b == 1L, "trt", "ctl"), levels = c("ctl", "trt", "other")),
    inf = { x <- as.double(b); x[sample.int(n, 1L)] <- Inf; x },
    string_num = as.character(b),
    empty_char = ifelse(b == 1L, "x", ""),
    list = I(as.list(b)))
  notes <- c(notes, sprintf("treatment %s", tk))
  d_num <- if (tk == "continuous") d else if (tk %in% c("three", "four")) 0.5 * (as.integer(factor(d)) - 1) else b

  # Outcome.
  yk <- if (!is_messy("outcome")) fz_pick(c("num", "num", "num", "int")) else
    fz_pick(c("logical", "na", "inf", "nan", "factor", "char", "const", "huge", "date", "list"))
  y0 <- 1 + 0.5 * d_num + z + stats::rnorm(n)
  y <- switch(yk, num = y0, int = as.integer(round(3 * y0)), logical = y0 > 1,
              na = { y0[sample.int(n, 1L)] <- NA; y0 }, inf = { y0[sample.int(n, 1L)] <- Inf; y0 },
              nan = { y0[sample.int(n, 1L)] <- NaN; y0 }, factor = factor(y0 > 1),
              char = as.character(round(y0, 2)), const = rep(2, n), huge = y0 * 1e250,
              date = as.Date("2020-01-01") + round(y0), list = I(as.list(y0)))
  if (yk != "num") notes <- c(notes, sprintf("outcome %s", yk))

  df <- data.frame(y = seq_len(n))
  df$y <- y
  df$d <- d
  for (j in seq_along(X)) df[[names(X)[j]]] <- X[[j]]
  outcome <- "y"
  treatment <- "d"
  covariates <- names(X)

  # Weights.
  weights <- NULL
  w_values <- NULL
  if (is_messy("weights") || fz_coin(0.2)) {
    wk <- if (!is_messy("weights")) fz_pick(c("unif", "int", "zeros", "ones")) else
      fz_pick(c("neg", "na", "allzero", "char", "logical", "short", "inf", "huge", "nan", "arm_zero", "one_positive"))
    w <- switch(wk, unif = stats::runif(n, 0.2, 2), int = sample.int(3L, n, replace = TRUE),
                zeros = { x <- stats::runif(n, 0.5, 1.5); x[sample.int(n, max(1L, n %/% 5L))] <- 0; x },
                ones = rep(1, n), neg = { x <- stats::runif(n); x[sample.int(n, 1L)] <- -1; x },
                na = { x <- stats::runif(n); x[sample.int(n, 1L)] <- NA; x }, allzero = rep(0, n),
                char = as.character(stats::runif(n)), logical = stats::runif(n) < 0.5,
                short = stats::runif(max(0L, n - 1L)), inf = { x <- stats::runif(n); x[1L] <- Inf; x },
                huge = stats::runif(n) * 1e305, nan = { x <- stats::runif(n); x[1L] <- NaN; x },
                arm_zero = ifelse(d_num == 1, 0, 1), one_positive = { x <- numeric(n); x[1L] <- 1; x })
    if (wk != "short" && fz_coin(0.5)) {
      df$w <- w
      weights <- "w"
    } else {
      weights <- w
    }
    w_values <- w
    notes <- c(notes, sprintf("weights %s (%s)", wk, if (is.character(weights) && length(weights) == 1L) "column" else "vector"))
  }

  # Clusters.
  cluster <- NULL
  if (is_messy("cluster") || fz_coin(0.15)) {
    ck <- if (!is_messy("cluster")) fz_pick(c("many", "char", "factor")) else
      fz_pick(c("one", "two", "three", "na", "short", "list", "few", "singletons"))
    g <- switch(ck, many = fz_int(10L, 40L), char = fz_int(10L, 30L), factor = fz_int(10L, 30L),
                one = 1L, two = 2L, three = 3L, na = 10L, short = 10L, list = 10L, few = fz_int(2L, 6L),
                singletons = n)
    ids <- if (ck == "singletons") seq_len(n) else sample.int(g, n, replace = TRUE)
    cl <- switch(ck, char = sprintf("c%02d", ids), factor = factor(ids),
                 na = { x <- ids; x[sample.int(n, 1L)] <- NA; x }, short = ids[-1L],
                 list = I(as.list(ids)), ids)
    if (ck != "short" && fz_coin(0.5)) {
      df$cl <- cl
      cluster <- "cl"
    } else {
      cluster <- cl
    }
    notes <- c(notes, sprintf("cluster %s (%d ids, %s)", ck, g, if (is.character(cluster) && length(cluster) == 1L) "column" else "vector"))
  }

  control <- NULL
  if (is_messy("control") || fz_coin(0.1)) {
    levs <- switch(tk, factor = c("ctl", "trt"), ab = c("a", "b"), logical = c("FALSE", "TRUE"),
                   three = c("a", "b", "c"), four = c("w", "x", "y", "z"),
                   "01" = c("0", "1"), "01int" = c("0", "1"), c("a", "b"))
    control <- if (!is_messy("control")) fz_pick(levs) else
      fz_pick(list("zzz", NA, c("a", "b"), 1, "1", TRUE, fz_garbage()))
    notes <- c(notes, sprintf("control=%s", fz_show(control)))
  }

  # Traps.
  traps <- character()
  if (is_messy("traps")) {
    traps <- sample(c("collision", "collision", "dupname", "treat_is_outcome", "treat_in_cov",
                      "outcome_in_cov", "cov_missing", "cov_dup", "weird_names", "cov_empty",
                      "cluster_in_cov", "weights_is_outcome", "no_rows", "one_row",
                      "outcome_copy"),
                    fz_pick(list(1L, 1L, 2L)))
  }
  if ("collision" %in% traps) {
    # a factor `x` with level "1" expands to the indicator `x1`, the name of a numeric column
    df$x <- factor(sample(c("0", "1"), n, replace = TRUE))
    df$x1 <- stats::rnorm(n)
    ord <- sample(c("x", "x1"))
    covariates <- c(setdiff(covariates, c("x", "x1")), ord)
    df <- df[, c(setdiff(names(df), c("x", "x1")), ord), drop = FALSE]
  }
  if ("dupname" %in% traps && ncol(df) >= 3L) {
    j <- fz_int(3L, ncol(df))
    names(df)[j] <- fz_pick(setdiff(names(df), names(df)[j]))
  }
  if ("weird_names" %in% traps) {
    new <- fz_pick(list("x 1", "", "\u00e9t\u00e9", "1x", "x-1", "NA", "TRUE", "`x`", "y"))
    names(df)[names(df) == "x1"] <- new
    covariates[covariates == "x1"] <- new
  }
  if ("outcome_copy" %in% traps && is.numeric(df$y)) {  # a covariate that is the outcome
    df$ycopy <- df$y * (1 + 1e-9 * stats::rnorm(nrow(df)))
    covariates <- c(covariates, "ycopy")
  }
  if ("treat_is_outcome" %in% traps) treatment <- "y"
  if ("treat_in_cov" %in% traps) covariates <- c(covariates, "d")
  if ("outcome_in_cov" %in% traps) covariates <- c(covariates, "y")
  if ("cov_missing" %in% traps) covariates <- c(covariates, "nope")
  if ("cov_dup" %in% traps) covariates <- c(covariates, covariates[1L])
  if ("cov_empty" %in% traps) covariates <- character(0)
  if ("cluster_in_cov" %in% traps && identical(cluster, "cl")) covariates <- c(covariates, "cl")
  if ("weights_is_outcome" %in% traps) weights <- "y"
  if ("no_rows" %in% traps) df <- df[0L, , drop = FALSE]
  if ("one_row" %in% traps) df <- df[1L, , drop = FALSE]
  if (length(traps)) notes <- c(notes, sprintf("traps [%s]", paste(traps, collapse = ",")))

  # How covariates are named: explicitly, NULL (all other columns) or ".".
  cov_mode <- fz_pick(c("names", "names", "null", "dot"))
  if (length(traps) && any(traps %in% c("treat_in_cov", "outcome_in_cov", "cov_missing", "cov_dup",
                                         "cov_empty", "cluster_in_cov", "collision"))) cov_mode <- "names"
  cov_arg <- switch(cov_mode, names = covariates, null = NULL, dot = ".")

  # Data format.
  all_numeric <- all(vapply(df, function(x) is.numeric(x) || is.logical(x), logical(1)))
  fmt <- fz_pick(c("data.frame", "data.frame", "data.table", "data.table", if (all_numeric) "matrix"))
  if (is_messy("format")) fmt <- fz_pick(c("matrix", "nocolnames", "list", "vector"))
  data <- switch(fmt,
    data.frame = df,
    data.table = {
      dt <- suppressWarnings(data.table::as.data.table(df))
      if (anyDuplicated(names(df))) data.table::setnames(dt, names(df))
      dt
    },
    matrix = suppressWarnings(as.matrix(df)),
    nocolnames = unname(suppressWarnings(as.matrix(df))),
    list = as.list(df),
    vector = df$y)
  notes <- c(notes, if (fmt == "matrix") sprintf("%s matrix", typeof(data)) else fmt)
  # the data.frame that causal_data() sees (a character matrix makes every column character)
  df_seen <- if (fmt == "matrix") as.data.frame(data, stringsAsFactors = FALSE) else df

  # Interface: column names, formula (also with transforms), or garbage for one argument.
  mode <- if (is_messy("interface")) fz_pick(c("transform", "garbage", "garbage")) else
    fz_pick(c("names", "formula", "transform"), prob = c(0.7, 0.26, 0.04))
  formula <- NULL
  transform <- NULL
  if (mode %in% c("formula", "transform") && !any(c("cov_empty", "dupname") %in% traps) &&
      all(nzchar(c(outcome, treatment, if (!identical(cov_arg, ".")) cov_arg)))) {
    q <- function(x) ifelse(make.names(x) == x, x, paste0("`", gsub("`", "\\\\`", x), "`"))
    rhs_cov <- if (is.null(cov_arg) || identical(cov_arg, ".")) "." else paste(q(cov_arg), collapse = " + ")
    lhs <- q(outcome)
    if (mode == "transform" && is.numeric(df$y) && outcome == "y") {
      transform <- list(outcome = fz_pick(c("log", "times2")))
      lhs <- if (transform$outcome == "log") "log(y + 100)" else "I(2 * y)"
      if (rhs_cov != "." && "x1" %in% cov_arg && is.numeric(df$x1)) {
        rhs_cov <- sub("(^| )x1( |$)", "\\1I(x1^2)\\2", rhs_cov)
        transform$x1 <- TRUE
      }
    }
    formula <- stats::as.formula(sprintf("%s ~ %s | %s", lhs, q(treatment), rhs_cov), env = globalenv())
    call_style <- fz_pick(c("formula_data", "data_formula", "outcome_formula"))
    args <- switch(call_style,
      formula_data = list(formula, data = data),
      data_formula = list(data, formula),
      outcome_formula = list(data = data, outcome = formula))
    notes <- c(notes, sprintf("formula %s (%s)", paste(deparse(formula, width.cutoff = 200L), collapse = ""), call_style))
  } else {
    args <- list(data, outcome = outcome, treatment = treatment)
    if (!is.null(cov_arg) || fz_coin(0.3)) args["covariates"] <- list(cov_arg)
  }
  if (!is.null(cluster)) args$cluster <- cluster
  if (!is.null(weights)) args$weights <- weights
  if (!is.null(control)) args["control"] <- list(control)
  if (mode == "garbage") {
    what <- fz_pick(c("data", "outcome", "treatment", "covariates", "cluster", "weights", "control"))
    val <- fz_garbage()
    if (what == "data") args[1L] <- list(val) else args[what] <- list(val)
    notes <- c(notes, sprintf("garbage %s=%s", what, fz_show(val)))
  }
  if (is.null(formula)) notes <- c(notes, sprintf("causal_data(%s)", fz_show_args(args[-1L])))

  list(data = data, df = df_seen, args = args, notes = notes, clean = clean,
       meta = list(outcome = outcome, treatment = treatment, covariates = cov_arg,
                   tk = tk, yk = yk, cluster = cluster, weights = weights, w_values = w_values,
                   control = control, traps = traps, transform = transform, fmt = fmt, n = n,
                   messy = messy))
}

# Vectors passed as cluster/weights and the data object are inputs: watch them all.
fz_watch_data <- function(g, watch) {
  watch("data", g$data)
  if (!is.null(g$meta$cluster) && !(is.character(g$meta$cluster) && length(g$meta$cluster) == 1L)) watch("cluster", g$meta$cluster)
  if (!is.null(g$meta$weights) && !(is.character(g$meta$weights) && length(g$meta$weights) == 1L)) watch("weights", g$meta$weights)
}

# ---------------------------------------------------------------------------------------------
# Learners
# ---------------------------------------------------------------------------------------------

# Custom learner behaviours. `accepted` behaviours may legitimately give a fit; the others must
# end in an error or at least a warning, never in a silent result.
fz_custom_kinds <- list(
  mean = TRUE, lm = TRUE, matrix2 = TRUE, list = TRUE, data.frame = TRUE, char_num = TRUE,
  out01 = TRUE,
  wrong_length = FALSE, scalar = FALSE, na = FALSE, some_na = FALSE, character = FALSE,
  error_fit = FALSE, error_predict = FALSE, factor = FALSE, null = FALSE, inf = FALSE)

fz_custom_learner_fns <- function(kind) {
  mean_fit <- function(x, y) mean(y)
  lm_fit <- function(x, y) {
    b <- stats::lm.fit(cbind(1, x), y)$coefficients
    b[is.na(b)] <- 0
    b
  }
  rep_pred <- function(f) function(model, x) f(rep(model[[1L]], nrow(x)), x)
  switch(kind,
    mean = list(mean_fit, function(model, x) rep(model, nrow(x))),
    lm = list(lm_fit, function(model, x) drop(cbind(1, x) %*% model)),
    matrix2 = list(mean_fit, rep_pred(function(p, x) cbind(1 - p, p))),
    list = list(mean_fit, rep_pred(function(p, x) as.list(p))),
    data.frame = list(mean_fit, rep_pred(function(p, x) data.frame(p = p))),
    char_num = list(mean_fit, rep_pred(function(p, x) as.character(p))),
    out01 = list(mean_fit, rep_pred(function(p, x) p + 2)),
    wrong_length = list(mean_fit, rep_pred(function(p, x) c(p, 0.5))),
    scalar = list(mean_fit, function(model, x) model),
    na = list(mean_fit, rep_pred(function(p, x) rep(NA_real_, length(p)))),
    some_na = list(mean_fit, rep_pred(function(p, x) { p[1L] <- NA; p })),
    character = list(mean_fit, rep_pred(function(p, x) rep("high", length(p)))),
    error_fit = list(function(x, y) stop("fuzz learner: fit exploded"), function(model, x) rep(0, nrow(x))),
    error_predict = list(mean_fit, function(model, x) stop("fuzz learner: predict exploded")),
    factor = list(mean_fit, rep_pred(function(p, x) factor(ifelse(seq_along(p) %% 2 == 0, "yes", "no")))),
    null = list(mean_fit, function(model, x) NULL),
    inf = list(mean_fit, rep_pred(function(p, x) { p[1L] <- Inf; p })))
}

# A learner description: built-in with a random ridge (rarely an invalid ridge), boosting with
# small random settings (rarely an invalid one), a custom learner with a behaviour from
# fz_custom_kinds, or garbage in place of a learner.
fz_gen_learner <- function(role, clean = FALSE) {
  r <- stats::runif(1)
  if (fz_coin(0.2)) {
    args <- list(n_rounds = fz_pick(list(1L, 5L, 20L)), max_depth = fz_pick(list(0L, 2L, 6L)),
                 max_leaves = fz_pick(list(0L, 4L, 31L)), min_child_size = fz_pick(list(1L, 20L)),
                 subsample = fz_pick(list(1, 0.5)), colsample = fz_pick(list(1, 0.5)),
                 max_bins = fz_pick(list(3L, 16L, 255L)))
    if (!clean && fz_coin(0.05)) args[[fz_pick(names(args))]] <- fz_garbage(large = TRUE)
    return(list(type = "boost", args = args, label = sprintf("lrn_boost(%s)", fz_show_args(args))))
  }
  if (clean || r < 0.72) {
    kind <- if (role == "treatment" && fz_coin(0.6)) "logistic" else fz_pick(c("linear", "linear", "logistic"))
    ridge <- fz_pick(list(0, 0, 0, 0.1, 1, 1e-8, 1e3))
    if (!clean && fz_coin(0.04)) ridge <- fz_garbage(large = TRUE)
    return(list(type = kind, ridge = ridge, label = sprintf("lrn_%s(ridge=%s)", kind, fz_show(ridge))))
  }
  if (r < 0.95) {
    kind <- fz_pick(names(fz_custom_kinds))
    name <- if (fz_coin(0.1)) fz_pick(list(NULL, 1, NA, c("a", "b"), "")) else kind
    return(list(type = "custom", kind = kind, name = name,
                label = sprintf("lrn_custom(%s%s)", kind, if (identical(name, kind)) "" else paste0(", name=", fz_show(name)))))
  }
  g <- fz_garbage()
  list(type = "garbage", value = g, label = sprintf("learner=%s", fz_show(g)))
}

# Builds the learner inside a step (lrn_* may refuse their arguments).
fz_build_learner <- function(desc, step) {
  switch(desc$type,
    linear = step("lrn_linear", fz_call("lrn_linear", list(ridge = desc$ridge))),
    logistic = step("lrn_logistic", fz_call("lrn_logistic", list(ridge = desc$ridge))),
    boost = step("lrn_boost", fz_call("lrn_boost", desc$args)),
    custom = {
      fns <- fz_custom_learner_fns(desc$kind)
      args <- list(fit = fns[[1L]], predict = fns[[2L]])
      args["name"] <- list(desc$name)
      step("lrn_custom", fz_call("lrn_custom", args))
    },
    garbage = desc$value)
}

fz_learner_is_bad <- function(desc) {
  identical(desc$type, "custom") && !isTRUE(fz_custom_kinds[[desc$kind]])
}

# ---------------------------------------------------------------------------------------------
# Fit arguments
# ---------------------------------------------------------------------------------------------

fz_gen_folds <- function(n, clean) {
  if (clean || fz_coin(0.4)) {
    k <- fz_int(2L, 5L)
    if (n < k) k <- max(1L, n)
    f <- sample(rep_len(seq_len(k), n))
    if (fz_coin(0.3)) f <- cbind(f, sample(f))
    return(list(value = f, label = sprintf("valid folds K=%d%s", k, if (is.matrix(f)) " x2 reps" else "")))
  }
  k <- 3L
  base <- sample(rep_len(seq_len(k), n))
  kind <- fz_pick(c("short", "na", "zero", "gap", "single", "fractional", "character", "data.frame",
                    "list", "zero_cols", "inf", "negative", "huge_id", "logical", "array3", "factor"))
  v <- switch(kind,
    short = base[-1L], na = { base[1L] <- NA; base }, zero = { base[1L] <- 0L; base },
    gap = base * 2L, single = rep(1L, n), fractional = base + 0.5, character = as.character(base),
    data.frame = data.frame(f = base), list = as.list(base), zero_cols = matrix(integer(0), n, 0L),
    inf = { x <- as.double(base); x[1L] <- Inf; x }, negative = -base,
    huge_id = { x <- base; x[1L] <- 1e6; x }, logical = base == 1L,
    array3 = array(base, c(n, 1L, 1L)), factor = factor(base))
  list(value = v, label = sprintf("broken folds (%s)", kind))
}

fz_gen_nuisances <- function(n, names_needed, model, clean) {
  mk <- function(nm) {
    if (nm == "m" && model == "irm") stats::runif(n, 0.05, 0.95) else stats::rnorm(n)
  }
  nu <- stats::setNames(lapply(names_needed, mk), names_needed)
  if (clean || fz_coin(0.4)) {
    if (fz_coin(0.3)) nu <- lapply(nu, function(x) cbind(x, x + stats::rnorm(n, sd = 0.01)))
    return(list(value = nu, label = sprintf("valid external nuisances [%s]", paste(names_needed, collapse = ","))))
  }
  kind <- fz_pick(c("short", "na", "missing_name", "wrong_case", "prob_out", "character", "zero_cols",
                    "mismatched_cols", "not_list", "inf", "logical", "folds_broken", "unnamed",
                    "folds_mismatch", "integer"))
  nm1 <- names_needed[1L]
  switch(kind,
    short = nu[[nm1]] <- nu[[nm1]][-1L],
    na = nu[[nm1]][1L] <- NA,
    missing_name = nu[[nm1]] <- NULL,
    wrong_case = names(nu)[1L] <- toupper(nm1),
    prob_out = if ("m" %in% names_needed) nu$m[1L] <- fz_pick(list(1.5, -0.2)) else nu[[nm1]][1L] <- 1e300,
    character = nu[[nm1]] <- as.character(nu[[nm1]]),
    zero_cols = nu <- lapply(nu, function(x) matrix(numeric(0), n, 0L)),
    mismatched_cols = nu[[nm1]] <- cbind(nu[[nm1]], nu[[nm1]]),
    not_list = nu <- nu[[nm1]],
    inf = nu[[nm1]][1L] <- Inf,
    logical = nu[[nm1]] <- nu[[nm1]] > 0,
    folds_broken = nu$folds <- rep(1L, n),
    unnamed = nu <- unname(nu),
    folds_mismatch = nu$folds <- cbind(sample(rep_len(1:2, n)), sample(rep_len(1:2, n))),
    integer = nu[[nm1]] <- as.integer(round(nu[[nm1]] * 10)))
  list(value = nu, label = sprintf("broken external nuisances (%s)", kind))
}

fz_threads_arg <- function(clean) {
  if (clean || fz_coin(0.8)) return(fz_pick(list(1L, 2L, 2L, 4L)))
  fz_pick(list(0, NA, Inf, 1e10, "2", 1.5, -1, TRUE, c(1, 2), NULL, 0.5))
}

fz_seed_arg <- function(clean) {
  if (clean || fz_coin(0.8)) return(fz_pick(list(NULL, 1L, 42L, 12345L)))
  fz_pick(list(NA, "a", c(1, 2), 1.5, -1, Inf, 1e10, TRUE, function() 1))
}

fz_count_arg <- function(valid, clean, p_bad = 0.15) {
  if (clean || !fz_coin(p_bad)) return(fz_pick(as.list(valid)))
  fz_pick(list(0, 1, -2, 2.5, NA, "3", Inf, NULL, c(2, 3), TRUE, fz_garbage()))
}
