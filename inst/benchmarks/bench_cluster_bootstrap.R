# Benchmark: the nonparametric cluster bootstrap of ratios of sums (DESIGN.md §4 "Inference";
# specs/recsys-aipw.md step 4), fastdml:::cluster_bootstrap_draws(): n rows in G clusters,
# K segments, B draws. Data: scores phi ~ N(0, 1), weights w ~ U(0.5, 1.5), cluster ids
# uniform in 1..G, segment uniform in 1..K; num[, k] = w * phi * 1{segment k},
# den[, k] = w * 1{segment k}.
# Reports elapsed seconds (median of 3 calls) and memory above the data:
#   R heap: gc(reset = TRUE) before, then (max used - used before) in Mb of Ncells + Vcells;
#   process: /proc/self/status VmHWM (peak resident set) after minus VmRSS before, with the
#   peak first reset to the current RSS (echo 5 > /proc/self/clear_refs) where the kernel
#   allows it; without the reset the VmHWM difference is only a lower bound.
# Target: under 2 s and under 100 MB above the data on 2 cores (the draws are serial: the
# generator is R's RNG on the main thread, so threads do not matter).
# Run by hand from the package root (never in tests):
#   Rscript inst/benchmarks/bench_cluster_bootstrap.R [n] [G] [B]     # defaults 1e6 1e4 1000
# Results are printed and written to inst/benchmarks/results/bench_cluster_bootstrap_<date>.txt.
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) >= 1L) as.numeric(args[1]) else 1e6
G <- if (length(args) >= 2L) as.integer(args[2]) else 10000L
B <- if (length(args) >= 3L) as.integer(args[3]) else 1000L
suppressPackageStartupMessages(library(fastdml))

status_kb <- function(field) {
  line <- grep(paste0("^", field, ":"), readLines("/proc/self/status"), value = TRUE)
  if (length(line) == 0L) return(NA_real_)
  as.numeric(gsub("[^0-9]", "", line))
}
reset_peak <- function() {
  !inherits(try(cat("5", file = "/proc/self/clear_refs"), silent = TRUE), "try-error")
}

run <- function(K, seed = 20261125) {
  set.seed(seed)
  cluster <- sample.int(G, n, replace = TRUE)
  segment <- sample.int(K, n, replace = TRUE)
  w <- stats::runif(n, 0.5, 1.5)
  phi <- stats::rnorm(n)
  inside <- outer(segment, seq_len(K), `==`)
  num <- w * phi * inside
  den <- w * inside
  rm(inside, segment, w, phi)
  data_mb <- (object.size(num) + object.size(den) + object.size(cluster)) / 2^20
  times <- numeric(3)
  for (r in 1:3) {
    invisible(gc())
    start <- Sys.time()
    draws <- fastdml:::cluster_bootstrap_draws(num, den, cluster, B, seed = r)
    times[r] <- as.numeric(difftime(Sys.time(), start, units = "secs"))
  }
  rm(draws)
  before <- gc(reset = TRUE)
  rss_before <- status_kb("VmRSS")
  hwm_before <- status_kb("VmHWM")
  was_reset <- reset_peak()
  draws <- fastdml:::cluster_bootstrap_draws(num, den, cluster, B, seed = 4)
  after <- gc()
  hwm_after <- status_kb("VmHWM")
  heap_mb <- sum(after[, 6L]) - sum(before[, 2L])
  process_mb <- (hwm_after - if (was_reset) rss_before else hwm_before) / 1024
  data.frame(n = n, G = G, K = K, B = B, data_mb = round(as.numeric(data_mb), 1),
             median_s = round(stats::median(times), 3), min_s = round(min(times), 3),
             max_s = round(max(times), 3), r_heap_mb = round(heap_mb, 1),
             vmhwm_above_mb = round(process_mb, 1), rss_before_mb = round(rss_before / 1024),
             vmhwm_after_mb = round(hwm_after / 1024), hwm_reset = was_reset,
             nan_draws = sum(is.nan(draws)), sd_first = signif(stats::sd(draws[, 1]), 4))
}

res <- rbind(run(1L), run(5L))
header <- c(sprintf("bench_cluster_bootstrap %s  R %s  %s  cores available %d", format(Sys.time()),
                    getRversion(), R.version$platform, parallel::detectCores()),
            "times: elapsed seconds of fastdml:::cluster_bootstrap_draws() (3 calls); memory above the data, MB")
out <- c(header, utils::capture.output(print(res, row.names = FALSE)))
cat(out, sep = "\n")
dir.create(file.path("inst", "benchmarks", "results"), showWarnings = FALSE, recursive = TRUE)
writeLines(out, file.path("inst", "benchmarks", "results",
                          sprintf("bench_cluster_bootstrap_%s.txt", format(Sys.Date()))))
