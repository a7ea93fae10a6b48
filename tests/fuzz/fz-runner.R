# Fuzzer part: case ids, the in-process case runner, the classification of outcomes and the
# report (see fz-util.R for the whole).

# ---------------------------------------------------------------------------------------------
# Case generation and the runner
# ---------------------------------------------------------------------------------------------

fuzz_case_kinds <- c(causal_data = 0.15, make_folds = 0.05, dml_plr = 0.17, dml_irm = 0.17,
                     dml_multi_irm = 0.08, baseline = 0.12, sim_lesson = 0.03, learners = 0.04,
                     methods = 0.06, property = 0.09, tampered = 0.04)

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
    dml_multi_irm = fz_case_dml(max_n, "multi"),
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
