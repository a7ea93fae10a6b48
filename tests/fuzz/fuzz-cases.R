# Property-based fuzzer of fastdml: case generators, the in-process case runner and the
# classification of outcomes. Sourced by tests/fuzz/fuzz.R (hand mode, cases run in callr
# subprocesses) and by tests/testthat/test-fuzz.R (small in-process budget).
#
# A case is generated from one integer seed (`fuzz_make_case(id)`): random data and random
# (often invalid) arguments for one exported function, plus a body that calls the package
# through `step()` and checks properties through `check()`. `fuzz_run_case(id)` evaluates the
# body and classifies it:
#   "ok"        no condition at all;
#   "classed"   only conditions of the package's contract were signalled: errors inheriting
#               "fastdml_error", warnings inheriting "fastdml_warning", messages inheriting
#               "fastdml_message";
#   "unclassed" any error, warning or message (from any step, including errors thrown by a
#               user's lrn_custom() learner that the package let through unwrapped) that does
#               not inherit those classes;
#   "wrong"     a property check failed on a result the package returned silently (e.g. a
#               non-finite estimate, a formula transform ignored, a sign not flipping when
#               the treatment coding is flipped);
#   "modified"  an input object (data.frame, data.table, matrix, vector, spec, folds,
#               nuisances) differs after the case from a deep copy taken before it;
#   "hang"      the case ran past its time limit;
#   "crash"     the R process died (only detected by the subprocess runner of fuzz.R).
# Each result also keeps flags (a case can be unclassed and modified at once); `outcome` is
# the most severe: crash > hang > modified > wrong > unclassed > classed > ok.
#
# Only the base R RNG, the package and its dependencies (data.table, ggplot2) are used.

fuzz_outcome_levels <- c("ok", "classed", "unclassed", "wrong", "modified", "hang", "crash")

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

fz_pick <- function(x, prob = NULL) x[[sample.int(length(x), 1L, prob = prob)]]
fz_coin <- function(p) stats::runif(1) < p
fz_int <- function(lo, hi) if (hi <= lo) as.integer(lo) else as.integer(sample(lo:hi, 1L))

# Whether an exported function of the installed fastdml has an argument.
fz_has_arg <- function(fun, arg) {
  f <- tryCatch(getExportedValue("fastdml", fun), error = function(e) NULL)
  is.function(f) && arg %in% names(formals(f))
}

fz_failure <- function(cond) structure(list(cond = cond), class = "fz_failure")
fz_failed <- function(x) inherits(x, "fz_failure")

# A short, one-line rendering of an argument value for case descriptions.
fz_show <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.function(x)) return("<function>")
  if (inherits(x, "formula")) return(paste(deparse(x, width.cutoff = 200L), collapse = ""))
  if (inherits(x, "fastdml_learner")) return(sprintf("<learner %s>", x$label))
  if (is.environment(x)) return("<environment>")
  if (is.name(x)) return(sprintf("as.name(\"%s\")", as.character(x)))
  if (is.atomic(x) && length(x) <= 3L && is.null(dim(x))) {
    out <- paste(deparse(x, width.cutoff = 100L), collapse = "")
    return(if (nchar(out) > 60) paste0(substr(out, 1, 57), "...") else out)
  }
  dims <- if (is.null(dim(x))) length(x) else paste(dim(x), collapse = "x")
  sprintf("<%s[%s]>", class(x)[1L], dims)
}

fz_show_args <- function(args) {
  if (!length(args)) return("")
  nm <- names(args)
  if (is.null(nm)) nm <- rep("", length(args))
  paste(ifelse(nm == "", "", paste0(nm, "=")), vapply(args, fz_show, character(1)),
        sep = "", collapse = ", ")
}

# Deep copy for the "modified in place" check: data.table::copy() for data.tables (it keeps
# the self reference, so identical() compares the data), serialize round trip otherwise.
fz_deep_copy <- function(x) {
  if (inherits(x, "data.table")) return(data.table::copy(x))
  unserialize(serialize(x, NULL))
}

# Calls an exported function with the arguments bound to variables of a small environment,
# so that match.call() and error calls stay short (no data inlined into the call).
fz_call <- function(fun, args, name = if (is.character(fun)) fun else ".f") {
  f <- if (is.function(fun)) fun else getExportedValue("fastdml", fun)
  env <- new.env(parent = baseenv())
  assign(name, f, envir = env)
  nm <- names(args)
  if (is.null(nm)) nm <- rep("", length(args))
  vars <- sprintf(".a%d", seq_along(args))
  for (i in seq_along(args)) assign(vars[i], args[[i]], envir = env)
  call_args <- lapply(vars, as.name)
  names(call_args) <- nm
  eval(as.call(c(list(as.name(name)), call_args)), env)
}

# Random garbage for any argument: a value and its label. `large` adds values that are only
# safe where a large number cannot allocate memory proportional to it.
fz_garbage <- function(large = FALSE) {
  g <- list(NULL, NA, NA_real_, NA_character_, "a", "5", c(2, 3), -1, 0, Inf, -Inf, NaN, 1.5,
            TRUE, FALSE, function(x) x, list(1), matrix(1:4, 2), factor("a"),
            as.Date("2020-01-01"), "", character(0), numeric(0), as.name("x"), y ~ x,
            c(a = 1), -0.5, 2i, new.env())
  if (large) g <- c(g, list(1e6, 1e300, -1e6))
  fz_pick(g)
}

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
  if (model != "irm") tk_clean <- c(tk_clean, "continuous")
  tk <- if (!is_messy("treat")) fz_pick(tk_clean) else
    fz_pick(c("pm1", "12", "onelevel", "three", "na", "date", "rare1", "rare2", "factor_unused",
              "inf", "string_num", "empty_char", "list", "continuous"))
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
  d_num <- if (tk == "continuous") d else b

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

# A learner description: built-in with a random ridge (rarely an invalid ridge), a custom
# learner with a behaviour from fz_custom_kinds, or garbage in place of a learner.
fz_gen_learner <- function(role, clean = FALSE) {
  r <- stats::runif(1)
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
# Checks shared by the cases
# ---------------------------------------------------------------------------------------------

fz_close <- function(a, b, tol) {
  length(a) == length(b) && all(is.finite(a)) && all(is.finite(b)) &&
    all(abs(a - b) <= tol * (1 + abs(a) + abs(b)))
}

# Properties of a causal_data() result against the inputs it was made from.
fz_check_spec <- function(spec, g, check) {
  m <- g$meta
  df <- g$df
  if (!inherits(spec, "fastdml_data")) return(invisible())
  check(identical(spec$n, nrow(df)) || spec$n == nrow(df), "spec$n differs from nrow(data)")
  check(spec$outcome != spec$treatment,
        "causal_data accepted the outcome column as the treatment (effect of y on y)")
  X <- spec$X
  check(is.matrix(X) && is.double(X) && nrow(X) == nrow(df), "spec$X is not an n x p double matrix")
  check(!anyDuplicated(colnames(X)), "duplicated column names in spec$X")
  check(all(is.finite(X)), "spec$X has non-finite values")
  check(all(is.finite(spec$y)) && length(spec$y) == nrow(df), "spec$y is not n finite values")
  # Expected number of covariate columns after expansion (collisions of indicator names).
  covs <- m$covariates
  if (is.null(covs) || identical(covs, ".")) {
    drop <- c(spec$outcome, spec$treatment,
              if (is.character(m$cluster) && length(m$cluster) == 1L) m$cluster,
              if (is.character(m$weights) && length(m$weights) == 1L) m$weights)
    covs <- setdiff(names(df), drop)
  }
  if (!anyDuplicated(names(df)) && all(covs %in% names(df)) && is.null(m$transform)) {
    expected <- sum(vapply(unique(covs), function(col) {
      x <- df[[col]]
      if (is.factor(x)) length(levels(droplevels(x))) - 1L
      else if (is.character(x) || is.logical(x)) length(unique(x)) - 1L
      else 1L
    }, numeric(1)))
    check(ncol(X) == expected,
          sprintf("covariate matrix has %d columns, expected %d (indicator names collide and a column is silently dropped)",
                  ncol(X), expected))
  }
  # Formula transforms must be applied (or refused), never silently dropped.
  if (!is.null(m$transform) && is.numeric(df$y)) {
    raw <- as.double(df$y)
    if (!is.null(m$transform$outcome)) {
      check(!isTRUE(all.equal(spec$y, raw)) || isTRUE(all.equal(raw, if (m$transform$outcome == "log") log(raw + 100) else 2 * raw)),
            sprintf("formula transform of the outcome (%s) silently ignored: spec$y is the raw column", m$transform$outcome))
    }
    if (isTRUE(m$transform$x1)) {
      sq <- as.double(df$x1)^2
      check(any(vapply(seq_len(ncol(X)), function(j) isTRUE(all.equal(unname(X[, j]), sq)), logical(1))),
            "formula transform I(x1^2) silently ignored: no column of spec$X is x1^2")
    }
  }
  # Treatment coding.
  d_col <- df[[spec$treatment]]
  if (identical(spec$treatment_type, "binary")) {
    check(all(spec$d %in% c(0, 1)), "binary treatment not coded 0/1 in spec$d")
    if (is.numeric(d_col) && is.atomic(m$control) && length(m$control) == 1L && !is.na(m$control) &&
        identical(as.character(m$control), "1") && all(spec$d == d_col)) {
      check(FALSE, "control = 1 silently ignored for a numeric 0/1 treatment (the sign of every effect is the opposite of what was asked)")
    }
    if (is.numeric(d_col) && all(d_col %in% c(0, 1)) && is.null(g$args$control)) {
      check(all(spec$d == d_col), "spec$d differs from the 0/1 treatment column")
    }
  }
  # Weights are kept as given.
  if (!is.null(spec$weights) && !is.null(m$w_values) && is.numeric(m$w_values) && length(m$w_values) == nrow(df)) {
    check(isTRUE(all.equal(as.double(spec$weights), as.double(m$w_values))), "spec$weights differ from the weights given")
  }
  invisible()
}

# Methods on a successful DML fit (or a baseline estimate), with sanity checks of the values.
# Every call goes through step(); plotting steps are marked plot = TRUE (see fuzz_run_case).
fz_exercise_fit <- function(fit, step, check, estimate = FALSE) {
  if (fz_failed(fit) || is.null(fit)) return(invisible())
  step("print", utils::capture.output(print(fit)), continue = TRUE)
  if (!estimate) {
    s <- step("summary", summary(fit), continue = TRUE)
    if (!fz_failed(s)) step("print.summary", utils::capture.output(print(s)), continue = TRUE)
  }
  cf <- step("coef", stats::coef(fit), continue = TRUE)
  v <- step("vcov", stats::vcov(fit), continue = TRUE)
  ci <- step("confint", stats::confint(fit), continue = TRUE)
  nb <- step("nobs", stats::nobs(fit), continue = TRUE)
  td <- step("tidy", fastdml::tidy(fit), continue = TRUE)
  gl <- step("glance", fastdml::glance(fit), continue = TRUE)
  if (!estimate) {
    nu <- step("nuisances", fastdml::nuisances(fit), continue = TRUE)
    for (type in c("estimates", "overlap", "nuisances")) {
      p <- step(paste0("autoplot:", type), ggplot2::autoplot(fit, type = type), continue = TRUE, plot = TRUE)
      if (!fz_failed(p)) step(paste0("ggplot_build:", type), ggplot2::ggplot_build(p), continue = TRUE, plot = TRUE)
    }
  }
  # Sanity of the numbers returned silently.
  theta <- unname(fit$coefficients)
  se <- fit$se
  check(length(theta) == 1L && is.finite(theta), sprintf("non-finite estimate (%s) returned silently", fz_show(theta)))
  na_se_ok <- estimate && grepl("^T-learner", fit$method) && identical(attr(fit, "fz_n_boot"), 0L)
  if (!na_se_ok) check(length(se) == 1L && is.finite(se) && se >= 0, sprintf("standard error %s returned silently", fz_show(se)))
  if (!fz_failed(cf) && length(theta) == 1L) check(identical(unname(cf), theta), "coef() differs from the estimate")
  if (!fz_failed(v) && is.finite(se)) check(fz_close(as.double(v), se^2, 1e-12), "vcov() is not se^2")
  if (!fz_failed(ci) && is.finite(se) && is.finite(theta)) {
    check(fz_close(as.double(ci), theta + c(-1, 1) * stats::qnorm(0.975) * se, 1e-10), "confint() is not estimate +- z se")
  }
  if (!fz_failed(td) && is.data.frame(td)) check(fz_close(td$estimate, theta, 1e-12) || !is.finite(theta), "tidy()$estimate differs from coef()")
  if (!fz_failed(nb)) check(identical(as.double(nb), as.double(fit$n)), "nobs() differs from n")
  if (!estimate && !fz_failed(nu <- fit$nuisances) && is.list(nu)) {
    n <- fit$n
    for (nm in setdiff(names(nu), "quality")) {
      check(is.matrix(nu[[nm]]) && nrow(nu[[nm]]) == n && ncol(nu[[nm]]) == fit$n_rep,
            sprintf("nuisance %s is not an n x n_rep matrix", nm))
    }
    if (!is.null(fit$clipped_share)) check(all(fit$clipped_share >= 0 & fit$clipped_share <= 1), "clipped share outside [0, 1]")
  }
  invisible()
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

# dml_plr / dml_irm with random arguments, learners, folds and nuisances. Data defects and
# argument defects are drawn independently (so that invalid arguments meet valid data).
fz_case_dml <- function(max_n, model) {
  clean <- fz_coin(0.6)
  n <- fz_n(max_n, clean = clean)
  g <- fz_gen_data(n, clean = clean, model = model)
  notes <- g$notes
  arg_names <- c(if (model == "irm") c("estimand", "trim", "normalize") else "score",
                 "n_folds", "n_rep", "seed", "num.threads", "folds", "nuisances")
  bad <- if (fz_coin(0.35)) sample(arg_names, fz_pick(list(1L, 1L, 2L))) else character()
  is_bad <- function(a) a %in% bad
  args <- list()
  if (model == "irm") {
    args["estimand"] <- list(if (!is_bad("estimand")) fz_pick(c("ATE", "ATT")) else fz_pick(list("ate", NA, c("ATE", "ATT"), "ATC", 1, fz_garbage())))
    args["trim"] <- list(if (!is_bad("trim")) fz_pick(list(0.01, 0.01, 0.05, 0.1, 1e-10, 0.49)) else fz_pick(list(0, 0.5, -1, NA, "0.1", c(0.1, 0.2), 1, Inf, fz_garbage())))
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
  if (cc_pass && fz_has_arg(if (model == "irm") "dml_irm" else "dml_plr", "cluster_correction")) {
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
  else if (is_bad("nuisances") || r < 0.24) {
    needed <- if (model == "irm") c("g0", "g1", "m") else c("l", "m", if (identical(args$score, "IV-type")) "g")
    nuis <- fz_gen_nuisances(n, needed, model, clean = !is_bad("nuisances"))
  }
  if (length(bad)) notes <- c(notes, sprintf("invalid [%s]", paste(bad, collapse = ",")))
  notes <- c(notes, fz_show_args(args), sprintf("learners %s / %s", lo$label, lt$label))
  if (!is.null(folds)) notes <- c(notes, folds$label)
  if (!is.null(nuis)) notes <- c(notes, nuis$label)
  fun <- if (model == "irm") "dml_irm" else "dml_plr"
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

# ---------------------------------------------------------------------------------------------
# Case generation and the runner
# ---------------------------------------------------------------------------------------------

fuzz_case_kinds <- c(causal_data = 0.16, make_folds = 0.06, dml_plr = 0.19, dml_irm = 0.19,
                     baseline = 0.13, sim_lesson = 0.03, learners = 0.04, methods = 0.06,
                     property = 0.10, tampered = 0.04)

# Case seeds of a run: independent draws, so that the first k cases of a run of any length
# are the same.
fuzz_case_ids <- function(cases, seed) {
  old <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else assign(".Random.seed", old, envir = globalenv()))
  set.seed(seed)
  sample.int(.Machine$integer.max - 1L, cases, replace = TRUE)
}

# Generates the case of seed `id` (deterministic). Needs no package but base R, data.table.
fuzz_make_case <- function(id, max_n = 3000L) {
  set.seed(id)
  kind <- sample(names(fuzz_case_kinds), 1L, prob = fuzz_case_kinds)
  case <- suppressWarnings(suppressMessages(switch(kind,
    causal_data = fz_case_causal_data(max_n),
    make_folds = fz_case_make_folds(max_n),
    dml_plr = fz_case_dml(max_n, "plr"),
    dml_irm = fz_case_dml(max_n, "irm"),
    baseline = fz_case_baseline(max_n),
    sim_lesson = fz_case_sim_lesson(max_n),
    learners = fz_case_learners(max_n),
    methods = fz_case_methods(max_n),
    property = fz_case_property(max_n),
    tampered = fz_case_tampered(max_n))))
  case$id <- id
  case$kind <- kind
  case$desc <- paste(case$notes, collapse = "; ")
  case
}

fz_condition_row <- function(type, cond, label, plot) {
  cls <- class(cond)
  msg <- tryCatch(conditionMessage(cond), error = function(e) "<no message>")
  msg <- gsub("\033\\[[0-9;]*m", "", msg)  # drop ANSI styling
  msg <- gsub("[[:space:]]+", " ", trimws(msg))
  classed <- switch(type,
    error = inherits(cond, "fastdml_error"),
    warning = inherits(cond, "fastdml_warning"),
    message = inherits(cond, "fastdml_message"),
    FALSE)
  # Plotting steps (autoplot + ggplot_build) may emit ggplot2's own informative messages
  # (e.g. binning or scale messages): only *messages* there that are not the package's own are
  # ignored; errors and warnings of plotting steps count like any other.
  ignored <- isTRUE(plot) && type == "message" && !classed
  # the function that signalled it (cli_abort() reports its caller): groups findings by source
  call <- tryCatch({
    cl <- conditionCall(cond)
    if (is.call(cl) && is.name(cl[[1L]])) as.character(cl[[1L]]) else ""
  }, error = function(e) "")
  data.frame(step = label, type = type, class = paste(cls, collapse = "/"), call = call,
             message = msg, classed = classed, ignored = ignored, stringsAsFactors = FALSE)
}

# Runs case `id` in this process and classifies it (see the top of the file). `timeout` is an
# elapsed-time limit per case (setTimeLimit: R code and C++ code that checks for interrupts).
fuzz_run_case <- function(id, timeout = Inf, max_n = 3000L) {
  log <- new.env(parent = emptyenv())
  log$conds <- list()
  log$violations <- character()
  log$watch <- list()
  log$timed_out <- FALSE
  t0 <- proc.time()[["elapsed"]]
  case <- tryCatch(fuzz_make_case(id, max_n), error = function(e) e)
  if (inherits(case, "error")) {  # a bug of the fuzzer itself: reported as a "harness" error
    gen_error <- case
    case <- list(id = id, kind = "?", fun = "?", desc = "generator failed",
                 body = function(step, check, watch) step("harness", stop(gen_error)))
  }
  record <- function(type, cond, label, plot) {
    log$conds[[length(log$conds) + 1L]] <- fz_condition_row(type, cond, label, plot)
  }
  step <- function(label, expr, continue = FALSE, plot = FALSE) {
    res <- tryCatch(
      withCallingHandlers(expr,
        warning = function(w) {
          record("warning", w, label, plot)
          tryInvokeRestart("muffleWarning")
        },
        message = function(m) {
          record("message", m, label, plot)
          tryInvokeRestart("muffleMessage")
        }),
      error = function(e) {
        if (proc.time()[["elapsed"]] - t0 >= timeout) log$timed_out <- TRUE
        else record("error", e, label, plot)
        fz_failure(e)
      },
      interrupt = function(i) {
        if (proc.time()[["elapsed"]] - t0 >= timeout) log$timed_out <- TRUE
        else record("interrupt", simpleCondition("interrupt", NULL), label, plot)
        fz_failure(i)
      })
    if (fz_failed(res) && (!continue || log$timed_out)) {
      stop(structure(class = c("fz_stop", "error", "condition"), list(message = "case stopped", call = NULL)))
    }
    res
  }
  # A non-finite number is "returned silently" only when no fastdml_warning_non_finite_result
  # was signalled for it.
  check <- function(ok, what) {
    announced <- grepl("returned silently", what) &&
      any(vapply(log$conds, function(row) grepl("fastdml_warning_non_finite_result", row$class, fixed = TRUE), logical(1)))
    if (!isTRUE(ok) && !announced) log$violations <- c(log$violations, what)
    invisible(ok)
  }
  watch <- function(name, obj) {
    if (fz_failed(obj) || is.null(obj)) return(invisible())
    log$watch[[length(log$watch) + 1L]] <- list(name = name, obj = obj, copy = fz_deep_copy(obj))
    invisible()
  }
  set.seed(bitwXor(as.integer(id), 1234567L))
  if (is.finite(timeout)) {
    setTimeLimit(elapsed = timeout, transient = TRUE)
    on.exit(setTimeLimit(elapsed = Inf), add = TRUE)
  }
  harness <- tryCatch({
    case$body(step, check, watch)
    NULL
  }, fz_stop = function(e) NULL, error = function(e) {
    if (proc.time()[["elapsed"]] - t0 >= timeout) log$timed_out <- TRUE
    else record("error", e, "harness", FALSE)
    NULL
  }, interrupt = function(i) {
    log$timed_out <- TRUE
    NULL
  })
  if (is.finite(timeout)) setTimeLimit(elapsed = Inf)
  modified <- character()
  for (w in log$watch) if (!identical(w$obj, w$copy)) modified <- c(modified, w$name)
  conds <- if (length(log$conds)) do.call(rbind, log$conds) else
    data.frame(step = character(), type = character(), class = character(), call = character(),
               message = character(), classed = logical(), ignored = logical(), stringsAsFactors = FALSE)
  counted <- conds[!conds$ignored, , drop = FALSE]
  flags <- c(crash = FALSE, hang = log$timed_out, modified = length(modified) > 0L,
             wrong = length(log$violations) > 0L, unclassed = any(!counted$classed),
             classed = nrow(counted) > 0L && all(counted$classed))
  fuzz_result(id = id, kind = case$kind, fun = case$fun, desc = case$desc, flags = flags,
              conds = conds, violations = unique(log$violations), modified = unique(modified),
              elapsed = proc.time()[["elapsed"]] - t0)
}

fuzz_result <- function(id, kind, fun, desc, flags, conds = NULL, violations = character(),
                        modified = character(), elapsed = NA_real_, note = NULL) {
  order <- c("crash", "hang", "modified", "wrong", "unclassed", "classed")
  hit <- order[flags[order]]
  outcome <- if (length(hit)) hit[1L] else "ok"
  structure(list(id = id, kind = kind, fun = fun, desc = desc, outcome = outcome, flags = flags,
                 conds = conds, violations = violations, modified = modified, elapsed = elapsed,
                 note = note), class = "fuzz_result")
}

# Runs cases in this process (test mode, or fuzz.R --inprocess).
fuzz_run <- function(ids, timeout = 60, max_n = 3000L, progress = FALSE) {
  for (pkg in c("fastdml", "data.table", "ggplot2")) suppressPackageStartupMessages(loadNamespace(pkg))
  old_seed <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
  on.exit(if (is.null(old_seed)) suppressWarnings(rm(".Random.seed", envir = globalenv())) else
    assign(".Random.seed", old_seed, envir = globalenv()), add = TRUE)
  out <- vector("list", length(ids))
  for (i in seq_along(ids)) {
    out[[i]] <- fuzz_run_case(ids[i], timeout = timeout, max_n = max_n)
    if (progress && i %% 50L == 0L) message(sprintf("fuzz: %d/%d cases", i, length(ids)))
  }
  out
}

# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------

fuzz_flag_counts <- function(results) {
  flags <- c("crash", "hang", "unclassed", "modified", "wrong")
  vapply(flags, function(f) sum(vapply(results, function(r) isTRUE(r$flags[[f]]), logical(1))), numeric(1))
}

fuzz_outcome_counts <- function(results) {
  tab <- table(factor(vapply(results, `[[`, character(1), "outcome"), levels = fuzz_outcome_levels))
  stats::setNames(as.integer(tab), names(tab))
}

fuzz_summary_line <- function(results) {
  f <- fuzz_flag_counts(results)
  sprintf("fuzz: %d cases, %d crashes, %d hangs, %d unclassed, %d modified, %d wrong",
          length(results), f[["crash"]], f[["hang"]], f[["unclassed"]], f[["modified"]], f[["wrong"]])
}

# Normalised message for grouping by root cause: numbers, quoted values and names blanked.
fz_normalise <- function(msg, width = 60L) {
  msg <- gsub("\"[^\"]*\"|(?<![A-Za-z])'[^']*'|`[^`]*`|\u2018[^\u2019]*\u2019|\u201c[^\u201d]*\u201d", "<v>", msg, perl = TRUE)
  msg <- gsub("\\b(x|cl|w)[0-9]+[A-Za-z]*\\b|\\b(x|y|d|w|cl|f)\\b", "<col>", msg)
  msg <- gsub("-?[0-9]+(\\.[0-9]+)?(e[-+]?[0-9]+)?", "N", msg)
  msg <- gsub("<[A-Za-z_./]+>", "<v>", msg)
  msg <- gsub("(<(col|v)>(,| and|, and)? ?)+", "<v> ", msg)
  substr(trimws(msg), 1L, width)
}

# The findings of a case (non-ok, non-classed): one row per distinct problem.
fz_findings <- function(r) {
  rows <- list()
  add <- function(outcome, step, type, class, message, call = "") {
    rows[[length(rows) + 1L]] <<- data.frame(outcome = outcome, step = step, type = type, class = class,
                                             call = call, message = message, stringsAsFactors = FALSE)
  }
  if (isTRUE(r$flags[["crash"]])) add("crash", r$fun, "crash", "", r$note %||% "R process died")
  if (isTRUE(r$flags[["hang"]])) add("hang", r$fun, "hang", "", r$note %||% "time limit reached")
  for (m in r$modified) add("modified", r$fun, "modified", "", sprintf("input `%s` modified in place", m))
  for (v in r$violations) add("wrong", r$fun, "property", "", v)
  if (!is.null(r$conds) && nrow(r$conds)) {
    # classed, but the package says "this is a bug": listed for information (no effect on flags)
    internal <- r$conds[grepl("fastdml_error_internal", r$conds$class, fixed = TRUE), , drop = FALSE]
    for (i in seq_len(nrow(internal))) add("internal", internal$step[i], internal$type[i], internal$class[i], internal$message[i], internal$call[i])
    bad <- r$conds[!r$conds$classed & !r$conds$ignored, , drop = FALSE]
    bad <- bad[!duplicated(paste(bad$step, bad$type, bad$class, bad$message)), , drop = FALSE]
    for (i in seq_len(nrow(bad))) add("unclassed", bad$step[i], bad$type[i], bad$class[i], bad$message[i], bad$call[i])
  }
  if (length(rows)) do.call(rbind, rows) else NULL
}

fz_case_line <- function(r, f) {
  what <- if (f$type %in% c("error", "warning", "message", "interrupt")) {
    sprintf("step %s: %s <%s>%s %s", f$step, f$type, f$class, if (nzchar(f$call)) sprintf(" in %s()", f$call) else "", f$message)
  } else {
    f$message
  }
  sprintf("[%s] case %d %s: %s | %s", f$outcome, r$id, r$fun, substr(r$desc, 1L, 400L), substr(what, 1L, 400L))
}

# Report lines: outcome counts, findings grouped by root cause (most frequent first, one
# reproducible example each), every finding of every case, and the summary line.
fuzz_report <- function(results, replay = "Rscript tests/fuzz/fuzz.R --case %d", max_lines = Inf) {
  out <- c("Outcomes (most severe per case: crash > hang > modified > wrong > unclassed > classed > ok):")
  counts <- fuzz_outcome_counts(results)
  out <- c(out, paste(sprintf("  %-10s %d", names(counts), counts), collapse = "\n"))
  all <- list()
  for (r in results) {
    f <- fz_findings(r)
    if (is.null(f)) next
    f$id <- r$id
    f$fun <- r$fun
    f$line <- vapply(seq_len(nrow(f)), function(i) fz_case_line(r, f[i, ]), character(1))
    all[[length(all) + 1L]] <- f
  }
  if (length(all)) {
    all <- do.call(rbind, all)
    all$key <- ifelse(all$outcome %in% c("unclassed", "internal"),
      paste(all$outcome, all$step, all$type, sub("/.*", "", all$class),
            ifelse(nzchar(all$call), paste0(all$call, "()"), "-"), fz_normalise(all$message), sep = " | "),
      paste(all$outcome, all$step, fz_normalise(all$message, 110L), sep = " | "))
    tab <- sort(table(all$key), decreasing = TRUE)
    sev <- c(crash = 1, hang = 2, modified = 3, wrong = 4, unclassed = 5, internal = 6)
    keys <- names(tab)
    keys <- keys[order(sev[sub(" .*", "", keys)], -as.integer(tab[keys]))]
    out <- c(out, "", "Findings grouped by root cause (outcome | step | type | class | signalled by | message), most frequent first.",
             "(\"internal\" rows are classed fastdml_error_internal errors, i.e. input that reached the C++ core unvalidated: informational, not counted.)")
    for (k in keys) {
      ex <- all[all$key == k, , drop = FALSE][1L, ]
      out <- c(out, sprintf("%5d x  %s", as.integer(tab[[k]]), k),
               sprintf("         e.g. %s", ex$line),
               sprintf("         replay: %s", sprintf(replay, ex$id)))
    }
    lines <- unique(all$line)
    out <- c(out, "", sprintf("All findings (%d lines):", length(lines)))
    if (length(lines) > max_lines) lines <- c(utils::head(lines, max_lines), sprintf("... %d more", length(lines) - max_lines))
    out <- c(out, lines)
  }
  c(out, "", fuzz_summary_line(results))
}
