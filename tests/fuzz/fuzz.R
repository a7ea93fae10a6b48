#!/usr/bin/env Rscript
# Property-based fuzzer of fastdml, hand-run mode.
#
#   Rscript tests/fuzz/fuzz.R --cases 2000 --seed 1 [--timeout 60] [--batch 50] [--max-n 3000]
#                             [--inprocess] [--report FILE] [--max-lines N]
#   Rscript tests/fuzz/fuzz.R --case ID        # replay one case in this process, verbosely
#
# Cases are generated from --seed (see fz-util.R and the other fz-*.R parts) and run in batches in a callr::r_session
# subprocess, so that a crash (the R process dies) or a hang (a case runs past --timeout
# seconds, also inside C++) is detected and pinned to its case: the subprocess records which
# case is running; a case past its time limit is a "hang" and its session is killed; after a
# crash the running case is re-run alone in a fresh process (and, if it does not crash alone,
# the batch's earlier cases one by one) to pin the culprit. --inprocess runs everything in
# this process (no crash or C++ hang detection).
#
# Output: per-outcome counts, findings grouped by root cause with one reproducible example
# each, one line per finding of every case, and the summary line
#   fuzz: N cases, C crashes, H hangs, U unclassed, M modified, W wrong
# Exit status 1 when crashes, hangs, unclassed, modified or wrong (a failed property check on
# a silently returned result) are > 0.
#
# The package is loaded from the library path of this R process (set R_LIBS to test a build
# installed elsewhere); subprocesses get the same .libPaths().

local({
  file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  here <- if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1L]))) else getwd()
  assign("fuzz_dir", here, envir = globalenv())
})
fuzz_parts <- sort(Sys.glob(file.path(fuzz_dir, "fz-*.R")))
for (part in fuzz_parts) source(part)

parse_args <- function(args) {
  opt <- list(cases = 500L, seed = 1L, timeout = 60, batch = 50L, max_n = 3000L, case = NULL,
              inprocess = FALSE, report = NULL, max_lines = Inf)
  i <- 1L
  value <- function() {
    if (i + 1L > length(args)) stop("missing value after ", args[i], call. = FALSE)
    args[i + 1L]
  }
  while (i <= length(args)) {
    a <- args[i]
    if (grepl("=", a, fixed = TRUE)) {  # --cases=2000 form
      parts <- strsplit(a, "=", fixed = TRUE)[[1L]]
      args <- c(args[seq_len(i - 1L)], parts[1L], paste(parts[-1L], collapse = "="), args[-seq_len(i)])
      a <- args[i]
    }
    switch(a,
      "--cases" = { opt$cases <- as.integer(value()); i <- i + 1L },
      "--seed" = { opt$seed <- as.integer(value()); i <- i + 1L },
      "--timeout" = { opt$timeout <- as.numeric(value()); i <- i + 1L },
      "--batch" = { opt$batch <- as.integer(value()); i <- i + 1L },
      "--max-n" = { opt$max_n <- as.integer(value()); i <- i + 1L },
      "--case" = { opt$case <- as.integer(value()); i <- i + 1L },
      "--report" = { opt$report <- value(); i <- i + 1L },
      "--max-lines" = { opt$max_lines <- as.numeric(value()); i <- i + 1L },
      "--inprocess" = { opt$inprocess <- TRUE },
      "--help" = , "-h" = {
        cat("usage: Rscript tests/fuzz/fuzz.R --cases N --seed S [--timeout SEC] [--batch B]",
            "[--max-n N] [--inprocess] [--report FILE] [--max-lines N] | --case ID\n")
        quit(status = 0)
      },
      stop("unknown argument ", a, call. = FALSE))
    i <- i + 1L
  }
  if (anyNA(c(opt$cases, opt$seed, opt$timeout, opt$batch, opt$max_n))) stop("invalid numeric argument", call. = FALSE)
  opt
}

# ---------------------------------------------------------------------------------------------
# Replay of one case
# ---------------------------------------------------------------------------------------------

replay_case <- function(id, opt) {
  suppressPackageStartupMessages(library(fastdml))
  case <- fuzz_make_case(id, opt$max_n)
  cat(sprintf("case %d (%s, %s)\n  %s\n", id, case$kind, case$fun, gsub("; ", "\n  ", case$desc)))
  r <- fuzz_run_case(id, timeout = opt$timeout, max_n = opt$max_n)
  cat(sprintf("\noutcome: %s (%.2f s)\n", r$outcome, r$elapsed))
  if (nrow(r$conds)) {
    cat("\nconditions (step, type, class, signalled by, classed, ignored):\n")
    for (i in seq_len(nrow(r$conds))) {
      c <- r$conds[i, ]
      cat(sprintf("- %s: %s <%s> %s%s%s\n    %s\n", c$step, c$type, c$class,
                  if (nzchar(c$call)) paste0(c$call, "() ") else "",
                  if (c$classed) "[classed]" else "[UNCLASSED]", if (c$ignored) " [ignored: plotting message]" else "",
                  c$message))
    }
  }
  for (v in r$violations) cat("WRONG:", v, "\n")
  for (m in r$modified) cat("MODIFIED: input", m, "\n")
  cat("\nThe case body is fz_case_*() in tests/fuzz/fz-cases.R; to debug interactively:\n",
      sprintf("  for (f in Sys.glob('tests/fuzz/fz-*.R')) source(f); case <- fuzz_make_case(%d); case$body  # then fuzz_run_case(%d)\n", id, id))
  invisible(r)
}

# ---------------------------------------------------------------------------------------------
# Subprocess runner
# ---------------------------------------------------------------------------------------------

# Runs in the subprocess: every case of `ids`, one result file per case, the running case's
# id in `progress` (rewritten when each case starts).
batch_worker <- function(case_files, ids, out_dir, timeout, max_n) {
  Sys.setenv(LANGUAGE = "en")
  env <- new.env()
  for (file in case_files) sys.source(file, envir = env)
  for (pkg in c("fastdml", "data.table", "ggplot2")) suppressPackageStartupMessages(loadNamespace(pkg))
  for (id in ids) {
    writeLines(as.character(id), file.path(out_dir, "progress"))
    res <- env$fuzz_run_case(id, timeout = timeout, max_n = max_n)
    saveRDS(res, file.path(out_dir, paste0(id, ".rds")))
  }
  TRUE
}

new_session <- function(out_dir) {
  callr::r_session$new(
    options = callr::r_session_options(libpath = .libPaths(), stdout = NULL,
                                       stderr = file.path(out_dir, "stderr"),
                                       env = c(LANGUAGE = "en")),
    wait = TRUE)
}

read_result <- function(out_dir, id) {
  f <- file.path(out_dir, paste0(id, ".rds"))
  if (file.exists(f)) readRDS(f) else NULL
}

stderr_tail <- function(out_dir) {
  f <- file.path(out_dir, "stderr")
  if (!file.exists(f)) return("")
  lines <- readLines(f, warn = FALSE)
  lines <- lines[nzchar(trimws(lines))]
  paste(utils::tail(lines, 4L), collapse = " / ")
}

# Runs `ids` in one session; returns list(done = ids with results, state = "ok" / "crash" /
# "hang", current = id running when it stopped, detail).
run_in_session <- function(ids, out_dir, opt) {
  unlink(file.path(out_dir, c("progress", "stderr")))
  rs <- new_session(out_dir)
  on.exit(try(rs$kill(), silent = TRUE), add = TRUE)
  rs$call(batch_worker, list(case_files = fuzz_parts, ids = ids,
                             out_dir = out_dir, timeout = opt$timeout, max_n = opt$max_n))
  grace <- 10  # seconds past the per-case limit before the parent kills the subprocess
  current <- NA
  started <- Sys.time()
  repeat {
    state <- rs$poll_process(500)
    prog <- file.path(out_dir, "progress")
    if (file.exists(prog)) {
      id <- suppressWarnings(as.integer(readLines(prog, warn = FALSE)[1L]))
      if (length(id) && !is.na(id) && !identical(id, current)) {
        current <- id
        started <- Sys.time()
      }
    }
    if (state == "ready") {
      msg <- rs$read()
      if (!is.null(msg) && msg$code == 200L) {
        if (is.null(msg$error)) return(list(state = "ok"))
        # the worker itself failed (not a case): treat like a crash of the running case
        return(list(state = "crash", current = current,
                    detail = paste("worker error:", conditionMessage(msg$error))))
      }
      if (!is.null(msg) && msg$code %in% c(500L, 501L, 502L)) {
        return(list(state = "crash", current = current, detail = sprintf("R process died (%s)", stderr_tail(out_dir))))
      }
    }
    if (!rs$is_alive()) {
      return(list(state = "crash", current = current, detail = sprintf("R process died (%s)", stderr_tail(out_dir))))
    }
    if (!is.na(current) && as.numeric(difftime(Sys.time(), started, units = "secs")) > opt$timeout + grace) {
      rs$kill()
      return(list(state = "hang", current = current,
                  detail = sprintf("no result after %g s (killed; C++ code not interruptible?)", opt$timeout + grace)))
    }
  }
}

# One case alone in a fresh process: its result, or "crash"/"hang".
run_alone <- function(id, opt) {
  out_dir <- tempfile("fuzzone")
  dir.create(out_dir)
  on.exit(unlink(out_dir, recursive = TRUE), add = TRUE)
  st <- run_in_session(id, out_dir, opt)
  list(state = st$state, result = read_result(out_dir, id), detail = st$detail)
}

run_batch <- function(ids, opt) {
  out_dir <- tempfile("fuzzbatch")
  dir.create(out_dir)
  on.exit(unlink(out_dir, recursive = TRUE), add = TRUE)
  results <- list()
  todo <- ids
  while (length(todo)) {
    st <- run_in_session(todo, out_dir, opt)
    for (id in todo) {
      r <- read_result(out_dir, id)
      if (!is.null(r)) results[[as.character(id)]] <- r
    }
    if (st$state == "ok") break
    cur <- st$current
    if (is.na(cur)) cur <- todo[1L]
    case <- fuzz_make_case(cur, opt$max_n)
    flags <- c(crash = st$state == "crash", hang = st$state == "hang", modified = FALSE,
               wrong = FALSE, unclassed = FALSE, classed = FALSE)
    note <- st$detail
    if (st$state == "crash") {
      # Pin the culprit: the running case alone, then (if it survives alone) each earlier case
      # of the batch alone.
      alone <- run_alone(cur, opt)
      if (alone$state == "crash") {
        note <- paste(note, "- crashes alone too")
      } else {
        culprit <- NA
        earlier <- ids[seq_len(match(cur, ids) - 1L)]
        for (e in earlier) if (run_alone(e, opt)$state == "crash") { culprit <- e; break }
        note <- if (is.na(culprit)) paste(note, "- does not crash alone (depends on the earlier cases of its batch)") else
          sprintf("%s - the culprit is case %d, which crashes alone", note, culprit)
        if (!is.na(culprit)) {
          cc <- fuzz_make_case(culprit, opt$max_n)
          results[[as.character(culprit)]] <- fuzz_result(culprit, cc$kind, cc$fun, cc$desc,
            c(crash = TRUE, hang = FALSE, modified = FALSE, wrong = FALSE, unclassed = FALSE, classed = FALSE),
            note = sprintf("crashes alone (found after a crash of case %d in its batch)", cur))
        }
        if (!is.null(alone$result)) {
          results[[as.character(cur)]] <- alone$result
          results[[as.character(cur)]]$note <- note
          flags <- NULL
        }
      }
    }
    if (!is.null(flags)) {
      results[[as.character(cur)]] <- fuzz_result(cur, case$kind, case$fun, case$desc, flags, note = note)
    }
    todo <- setdiff(todo, as.integer(names(results)))
    todo <- setdiff(todo, cur)
  }
  results[as.character(intersect(ids, as.integer(names(results))))]
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

main <- function() {
  opt <- parse_args(commandArgs(trailingOnly = TRUE))
  if (!is.null(opt$case)) {
    r <- replay_case(opt$case, opt)
    quit(status = if (r$outcome %in% c("ok", "classed")) 0 else 1)
  }
  if (!requireNamespace("fastdml", quietly = TRUE)) stop("package fastdml is not installed in ", paste(.libPaths(), collapse = ":"))
  ids <- fuzz_case_ids(opt$cases, opt$seed)
  t0 <- Sys.time()
  if (opt$inprocess) {
    results <- fuzz_run(ids, timeout = opt$timeout, max_n = opt$max_n, progress = TRUE)
  } else {
    if (!requireNamespace("callr", quietly = TRUE)) stop("callr is needed for the subprocess mode (or use --inprocess)")
    batches <- split(ids, ceiling(seq_along(ids) / opt$batch))
    results <- list()
    for (b in seq_along(batches)) {
      results <- c(results, run_batch(batches[[b]], opt))
      f <- fuzz_flag_counts(results)
      message(sprintf("fuzz: %d/%d cases (%.0f s): %d crashes, %d hangs, %d unclassed, %d modified, %d wrong",
                      length(results), length(ids), as.numeric(difftime(Sys.time(), t0, units = "secs")),
                      f[["crash"]], f[["hang"]], f[["unclassed"]], f[["modified"]], f[["wrong"]]))
    }
    results <- unname(results)
  }
  report <- fuzz_report(results, max_lines = opt$max_lines)
  cat(sprintf("fastdml %s; %d cases from seed %d; timeout %g s; %.0f s\n\n",
              as.character(utils::packageVersion("fastdml")), length(ids), opt$seed, opt$timeout,
              as.numeric(difftime(Sys.time(), t0, units = "secs"))))
  writeLines(report)
  if (!is.null(opt$report)) writeLines(fuzz_report(results), opt$report)
  f <- fuzz_flag_counts(results)
  quit(status = if (sum(f) > 0) 1 else 0)
}

main()
