# Property-based fuzzer of fastdml, in parts sourced together (every fz-*.R file of this
# folder) by tests/fuzz/fuzz.R (hand mode, cases run in callr subprocesses) and by
# tests/testthat/test-fuzz.R (small in-process budget): fz-util.R (this file: outcomes, small
# helpers, the checks of returned results), fz-data.R (data, learner, fold and nuisance
# generators), fz-cases.R (one case kind per exported function), fz-property.R (property
# checks) and fz-runner.R (the case runner, classification and report).
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
# the self reference, so identical() compares the data), also inside lists (e.g. the
# `stacking` table of nuisances(fit)), serialize round trip otherwise.
fz_deep_copy <- function(x) {
  if (inherits(x, "data.table")) return(data.table::copy(x))
  if (is.function(x) || is.environment(x)) return(x)
  if (is.list(x) && !is.data.frame(x)) {
    out <- lapply(x, fz_deep_copy)
    attributes(out) <- attributes(x)
    return(out)
  }
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
  k <- if (inherits(fit, "dml_multi_irm")) length(fit$spec$treatment_levels) - 1L else 1L
  check(length(theta) == k && all(is.finite(theta)), sprintf("non-finite estimate (%s) returned silently", fz_show(theta)))
  na_se_ok <- estimate && grepl("^T-learner", fit$method) && identical(attr(fit, "fz_n_boot"), 0L)
  if (!na_se_ok) check(length(se) == k && all(is.finite(se) & se >= 0), sprintf("standard error %s returned silently", fz_show(se)))
  if (!fz_failed(cf) && length(theta) == k) check(identical(unname(cf), theta), "coef() differs from the estimate")
  if (!fz_failed(v) && all(is.finite(se))) check(fz_close(diag(as.matrix(v)), se^2, 1e-12), "the diagonal of vcov() is not se^2")
  if (!fz_failed(ci) && all(is.finite(se)) && all(is.finite(theta))) {
    check(fz_close(as.double(ci), c(theta - stats::qnorm(0.975) * se, theta + stats::qnorm(0.975) * se), 1e-10), "confint() is not estimate +- z se")
  }
  if (!estimate && all(is.finite(theta)) && all(is.finite(se))) {
    sens <- step("sensitivity", fastdml::sensitivity(fit, cf_y = 0.04, cf_d = 0.03), continue = TRUE)
    if (!fz_failed(sens)) {
      tab <- sens$table
      check(all(tab$theta_lower <= tab$estimate + 1e-12 & tab$estimate <= tab$theta_upper + 1e-12),
            "sensitivity bounds do not contain the estimate")
      check(all(tab$ci_lower <= tab$theta_lower + 1e-12 & tab$theta_upper <= tab$ci_upper + 1e-12),
            "the bias-aware CI does not contain the bounds")
      check(all(tab$rv >= 0 & tab$rv <= 1 & tab$rva >= 0 & tab$rva <= tab$rv + 1e-8),
            "robustness values outside [0, 1] or rva > rv")
    }
  }
  if (!estimate && inherits(fit, "dml_plr") && fit$score == "partialling out" && all(is.finite(theta)) &&
      fit$spec$treatment_type == "binary" && !is.null(fit$nuisances$l)) {
    ci <- step("update(ipw = ATT)", stats::update(fit, ipw = "ATT", trim = 0.01, rescale = TRUE), continue = TRUE)
    if (!fz_failed(ci)) {
      tab <- step("tidy(vcov = HC*)", fastdml::tidy(ci, vcov = c("const", "HC0", "HC1", "HC2", "HC3")), continue = TRUE)
      if (!fz_failed(tab) && is.finite(ci$se) && is.na(ci$n_clusters) && ci$n_rep == 1L) {
        se <- stats::setNames(tab$std.error, tab$vcov)
        check(fz_close(se[["HC0"]], ci$se, 1e-8), "CI-DML: tidy(vcov = 'HC0') differs from the fit's SE")
        check(all(is.finite(se)) && se[["HC0"]] <= se[["HC2"]] * (1 + 1e-10) && se[["HC2"]] <= se[["HC3"]] * (1 + 1e-10),
              "CI-DML: HC0 <= HC2 <= HC3 violated")
      }
    }
  }
  if (!estimate && all(is.finite(theta))) {
    bs <- step("bootstrap_cluster", fastdml::bootstrap_cluster(fit, B = 20L, seed = 1L), continue = TRUE)
    if (!fz_failed(bs)) {
      check(all(bs$table$conf.low <= bs$table$conf.high + 1e-12), "bootstrap_cluster(): inverted interval")
    }
  }
  if (!estimate && inherits(fit, c("dml_irm", "dml_multi_irm")) && all(is.finite(theta))) {
    arms <- fit$spec$treatment_levels
    contrast <- arms[length(arms)]
    blp <- step("cate_blp", fastdml::cate_blp(fit, ~ 1, contrast = contrast), continue = TRUE)
    gt <- step("gate", fastdml::gate(fit, rep("all", fit$n), contrast = contrast), continue = TRUE)
    if (!fz_failed(blp) && !fz_failed(gt)) {
      check(fz_close(unname(coef(blp)), gt$table$estimate, 1e-10) && fz_close(unname(sqrt(diag(vcov(blp)))), gt$table$std.error, 1e-10),
            "cate_blp(~ 1) and gate() with one group differ (both are the weighted mean of the pseudo-outcomes)")
      cal <- step("calibration", fastdml::calibration(stats::fitted(blp) + seq_len(fit$n) / fit$n, fit, n_groups = 2L), continue = TRUE)
      if (!fz_failed(cal)) check(all(is.finite(cal$test$estimate)), "calibration() returned non-finite coefficients")
      pv <- step("policy_value", fastdml::policy_value(fit, list(none = rep(arms[1L], fit$n), last = rep(contrast, fit$n)),
                                                       n_boot = 20L, seed = 1L), continue = TRUE)
      if (!fz_failed(pv)) {
        tab <- pv$table
        check(all(abs(tab$estimate[tab$rule == "none" & tab$term == "net value"]) < 1e-12),
              "policy_value(): treating no one has a non-zero net value")
        check(all(is.finite(tab$estimate)) && all(tab$boot.low <= tab$boot.high + 1e-12), "policy_value(): non-finite value or inverted interval")
      }
    }
  }
  if (inherits(fit, "dml_multi_irm") && all(is.finite(theta))) {
    rel <- step("relative_effects", fastdml::relative_effects(fit), continue = TRUE)
    dg <- step("diagnose", fastdml::diagnose(fit), continue = TRUE)
    if (!fz_failed(dg)) step("print.diagnose", utils::capture.output(print(dg)), continue = TRUE)
    # With three or more arms the stored propensities are probabilities; with two they are
    # dml_irm()'s raw predictions (a regression learner's may leave [0, 1]; the scores clip
    # them), so only their sum is checked there.
    levels <- fit$spec$treatment_levels
    ms <- lapply(levels, function(nm) fit$nuisances[[paste0("m_", nm)]])
    if (length(levels) > 2L) {
      for (i in seq_along(levels)) {
        check(!is.null(ms[[i]]) && all(ms[[i]] >= 0 & ms[[i]] <= 1),
              sprintf("propensity m_%s missing or outside [0, 1]", levels[i]))
      }
    } else {
      sums_to_one <- !any(vapply(ms, is.null, logical(1))) &&
        fz_close(as.vector(ms[[1L]] + ms[[2L]]), rep(1, length(ms[[1L]])), 1e-12)
      check(sums_to_one, "two-arm propensities m_control + m_treated differ from 1")
    }
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
