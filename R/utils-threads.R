# Thread count used by every fitting function: the argument, else
# getOption("fastdml.num.threads"), else 2; capped by OMP_THREAD_LIMIT and the cores available.
resolve_num_threads <- function(num.threads = NULL) {
  if (is.null(num.threads)) num.threads <- getOption("fastdml.num.threads", 2L)
  if (!is.numeric(num.threads) || length(num.threads) != 1L || is.na(num.threads) ||
      !is.finite(num.threads) || num.threads < 1 || num.threads != round(num.threads)) {
    fd_abort("argument", c("{.arg num.threads} must be a single whole number >= 1.",
                     i = "You supplied {.val {num.threads}}."))
  }
  limit <- .fastdml_thread_limit()
  env_limit <- suppressWarnings(as.integer(Sys.getenv("OMP_THREAD_LIMIT", "")))
  if (!is.na(env_limit) && env_limit >= 1L) limit <- min(limit, env_limit)
  as.integer(max(1, min(num.threads, limit)))
}

# Runs `code` with the RNG seeded by `seed` (set.seed semantics) and restores the caller's RNG
# state afterwards; with seed = NULL the current RNG stream is used and advanced.
with_seed <- function(seed, code) {
  if (is.null(seed)) return(code)
  if (!is.numeric(seed) || length(seed) != 1L || !is.finite(seed) ||
      abs(seed) > .Machine$integer.max) {
    fd_abort("argument", "{.arg seed} must be a single whole number (at most {format(.Machine$integer.max, big.mark = ',')} in size) or {.code NULL}, not {.val {format_value(seed)}}.")
  }
  had_seed <- exists(".Random.seed", envir = globalenv(), inherits = FALSE)
  if (had_seed) old <- get(".Random.seed", envir = globalenv(), inherits = FALSE)
  on.exit(if (had_seed) {
    assign(".Random.seed", old, envir = globalenv())
  } else {
    rm(".Random.seed", envir = globalenv())
  })
  set.seed(seed)
  code
}
