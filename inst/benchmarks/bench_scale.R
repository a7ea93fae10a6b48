# Benchmark: CI-DML out of core (specs/amazon-ci-dml.md §Scale-out; issue "customer actions at
# scale"). Data: sim_customer_actions() with 50 features (54 covariates) and 10 actions, written
# to a DuckDB file in chunks of 10^6 rows (columns id, pre_*, treatment_*, post_*). Every fit:
# ridge(0.01) outcome, logistic propensity, 3 hash folds, ATT weights, trim 0.001, rescaling,
# all 10 actions through dml_run() (one shared pass per step for all actions).
# Measures:
#   1. in memory at n_mem rows (default 10^6): dml_run(backend = "memory"), elapsed seconds;
#   2. out of core at n_big rows (default 10^7) from the DuckDB file: dml_run(backend =
#      "duckdb"), elapsed seconds, R heap peak (gc "max used", Ncells + Vcells, after
#      gc(reset = TRUE)) and process peak RSS (VmHWM, DuckDB's own memory included), passes;
#   3. mirai: the same fit on n_mirai rows (default 2 x 10^6) split in two Parquet partitions,
#      with 1 and with 2 local daemons.
# Targets: out-of-core time per row within 3x the in-memory time per row; R peak under 2 GB;
# 2 daemons at least 1.6x faster than 1. The 10^8 extrapolation is printed from the measured
# time per pass. Median of `reps` runs (default 1 for the 10^7 fit; it takes minutes).
# Run by hand from the package root (never in tests):
#   [BENCH_PARTS=memory,duckdb,mirai] Rscript inst/benchmarks/bench_scale.R [n_big] [n_mem] [n_mirai] [reps]
# Results are printed and written to inst/benchmarks/results/bench_scale_<date>.txt.
args <- commandArgs(trailingOnly = TRUE)
n_big <- if (length(args) >= 1L) as.numeric(args[1]) else 1e7
n_mem <- if (length(args) >= 2L) as.numeric(args[2]) else 1e6
n_mirai <- if (length(args) >= 3L) as.numeric(args[3]) else 2e6
reps <- if (length(args) >= 4L) as.integer(args[4]) else 1L
parts <- strsplit(Sys.getenv("BENCH_PARTS", "memory,duckdb,mirai"), ",")[[1]]   # which measurements
suppressPackageStartupMessages({
  library(fastdml)
  library(DBI)
})
options(fastdml.num.threads = 2L)

status_kb <- function(field) {
  line <- grep(paste0("^", field, ":"), readLines("/proc/self/status"), value = TRUE)
  if (length(line) == 0L) NA_real_ else as.numeric(gsub("[^0-9]", "", line))
}
reset_peak <- function() !inherits(try(cat("5", file = "/proc/self/clear_refs"), silent = TRUE), "try-error")
heap_mb <- function(g) sum(g[, ncol(g)])   # "max used" in Mb (Ncells + Vcells)

keep_columns <- function(d) {
  d[, grep("^(id|pre_|treatment_|post_)", names(d)), with = FALSE]
}

dir <- file.path(tempdir(), "bench_scale")
dir.create(dir, showWarnings = FALSE)
path <- file.path(dir, "customers.duckdb")
started <- proc.time()[["elapsed"]]
con <- dbConnect(duckdb::duckdb(shared_home = FALSE), dbdir = path)
chunk <- 1e6
n_write <- if ("duckdb" %in% parts) n_big else n_mirai
for (i in seq_len(ceiling(n_write / chunk))) {
  rows <- min(chunk, n_write - (i - 1) * chunk)
  d <- keep_columns(sim_customer_actions(rows, 10, seed = 1, first_id = (i - 1) * chunk + 1, rows_seed = i))
  dbWriteTable(con, "customers", as.data.frame(d), append = i > 1L)
  rm(d)
  invisible(gc())
}
parquet <- file.path(dir, sprintf("part%d.parquet", 1:2))
for (i in 1:2) {
  dbExecute(con, sprintf("COPY (SELECT * FROM customers WHERE id <= %.0f AND id %% 2 = %d) TO '%s' (FORMAT PARQUET)",
                         n_mirai, i - 1L, parquet[i]))
}
dbDisconnect(con, shutdown = TRUE)
cat(sprintf("data: %.0f rows written in %.0f s (%.2f GB on disk)\n", n_write,
            proc.time()[["elapsed"]] - started, file.size(path) / 2^30))

config <- dml_config(system.file("extdata", "ci_dml.json", package = "fastdml"))
config$actions$outcomes <- list("post_%s")
time_it <- function(expr) {
  t <- proc.time()[["elapsed"]]
  value <- force(expr)
  list(value = value, seconds = proc.time()[["elapsed"]] - t)
}

mem_seconds <- big_seconds <- passes <- heap <- rss_peak <- rss_before <- one <- two <- NA_real_
peak_reset <- FALSE

# 1. In memory at n_mem.
if ("memory" %in% parts) {
  memory_data <- keep_columns(sim_customer_actions(n_mem, 10, seed = 1, rows_seed = 1))
  mem_seconds <- stats::median(replicate(reps, time_it(dml_run(memory_data, config, baseline = FALSE))$seconds))
  cat(sprintf("in memory, n = %.0e: %.1f s\n", n_mem, mem_seconds))
  rm(memory_data)
  invisible(gc())
}

# 2. Out of core at n_big.
if ("duckdb" %in% parts) {
  invisible(gc(reset = TRUE))
  rss_before <- status_kb("VmRSS")
  peak_reset <- reset_peak()
  big <- lapply(seq_len(reps), function(r) time_it(dml_run(path, config, backend = "duckdb", table = "customers")))
  heap <- heap_mb(gc())
  rss_peak <- status_kb("VmHWM")
  big_seconds <- stats::median(vapply(big, `[[`, numeric(1), "seconds"))
  passes <- attr(big[[1]]$value, "passes")
  cat(sprintf("out of core, n = %.0e: %.1f s, %d passes, R heap peak %.0f MB\n", n_big, big_seconds, passes, heap))
}

# 3. mirai with 1 and 2 local daemons on the two Parquet partitions (one DuckDB thread each).
if ("mirai" %in% parts) {
  mirai_time <- function(workers) {
    mirai::daemons(workers)
    on.exit(mirai::daemons(0))
    time_it(dml_run(as.list(parquet), config, backend = "mirai"))$seconds
  }
  one <- stats::median(replicate(reps, mirai_time(1L)))
  two <- stats::median(replicate(reps, mirai_time(2L)))
}

per_row_mem <- mem_seconds / n_mem
per_row_big <- big_seconds / n_big
lines <- c(
  sprintf("bench_scale %s, %s, 2 cores, fastdml %s, duckdb %s, mirai %s", Sys.Date(), R.version.string,
          utils::packageVersion("fastdml"), utils::packageVersion("duckdb"), utils::packageVersion("mirai")),
  sprintf("10 actions, 54 covariates, 3 hash folds, ridge(0.01) / logistic, ATT weights, trim 0.001, rescale"),
  sprintf("in memory, n = %.0e: %.1f s (%.2f us per row, all 10 actions)", n_mem, mem_seconds, 1e6 * per_row_mem),
  sprintf("DuckDB out of core, n = %.0e: %.1f s (%.2f us per row); ratio per row %.2f (target <= 3)",
          n_big, big_seconds, 1e6 * per_row_big, per_row_big / per_row_mem),
  sprintf("  R heap peak %.0f MB (target < 2048); process peak RSS %.0f MB above %.0f MB before%s",
          heap, (rss_peak - rss_before) / 1024, rss_before / 1024, if (peak_reset) "" else " (peak not reset: lower bound)"),
  sprintf("  %d passes over the data, %.1f s per pass; 1e8 rows: %d passes x %.1f s x %g = %.0f s = %.1f min",
          passes, big_seconds / passes, passes, big_seconds / passes, 1e8 / n_big,
          big_seconds * 1e8 / n_big, big_seconds * 1e8 / n_big / 60),
  sprintf("mirai, n = %.0e in 2 Parquet partitions: 1 daemon %.1f s, 2 daemons %.1f s, speed-up %.2f (target >= 1.6)",
          n_mirai, one, two, one / two),
  sprintf("estimates equal: max |duckdb - memory| on the shared rows is checked by the tests (1e-8)"))
cat(lines, sep = "\n")
out <- file.path("inst", "benchmarks", "results", sprintf("bench_scale_%s_%s.txt", gsub(",", "-", Sys.getenv("BENCH_PARTS", "all")), Sys.Date()))
if (dir.exists(dirname(out))) writeLines(lines, out)
