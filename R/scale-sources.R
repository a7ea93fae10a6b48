# Data sources of the scale-out back ends: each turns a pass (R/scale-engine.R) into its sums
# over all chunks. In memory: row ranges of a data frame. DuckDB: a .duckdb table, Parquet or
# CSV files, streamed in chunks from a query to the C++ passes. dbplyr: any DBI-backed lazy
# table, every pass an SQL aggregate run by the engine (R/scale-sql.R). mirai: partitions (data
# frames or files) on worker processes, each reducing its own chunks, summed on the driver.

#' A table for the scale-out back ends
#'
#' Describes where the rows of a CI-DML fit live, for `dml_plr(table, ..., backend = )` and
#' [dml_run()]: the fit then runs as a few passes of per-fold sufficient statistics
#' (specs/amazon-ci-dml.md §Scale-out) and R memory is bounded by the statistics, not by the
#' number of rows. Folds come from [hash_folds()] of the id column, so every back end (and the
#' in-memory fit with `folds = hash_folds(id, K, seed)`) uses the same folds.
#'
#' @param source A data frame; a path to a `.duckdb` file (with `table`), or paths / a glob of
#'   `.parquet` or `.csv` files (read by DuckDB); a DBI connection (with `table`); a dbplyr
#'   lazy table; or, for `backend = "mirai"`, a list of partitions: data frames, or file paths
#'   (Parquet, CSV, or `.duckdb` files holding `table`) that each worker reads itself.
#' @param outcome,treatment Column names (several outcomes allowed for [dml_run()]).
#' @param covariates Covariate column names.
#' @param id Name of the integer row id column.
#' @param table Table name for a `.duckdb` file or a DBI connection.
#' @param chunk_rows Rows per streamed chunk.
#' @return A `fastdml_table` object.
#' @family estimators
#' @examples
#' d <- sim_customer_actions(2000, 2, seed = 1)
#' tab <- causal_table(d, "post_1", "treatment_1", grep("^pre_", names(d), value = TRUE))
#' fit <- dml_plr(tab, lrn_linear(ridge = 0.01), lrn_logistic(), n_folds = 3, seed = 1,
#'                ipw = "ATT", trim = 0.001, backend = "memory")
#' fit
#' @export
causal_table <- function(source, outcome, treatment, covariates, id = "id", table = NULL,
                         chunk_rows = 1e5) {
  for (arg in c("outcome", "treatment", "covariates")) {
    value <- get(arg)
    if (!is.character(value) || !length(value) || anyNA(value)) {
      fd_abort("argument", "{.arg {arg}} must be column names.")
    }
  }
  check_string(id, "id")
  check_count(chunk_rows, "chunk_rows", 100L)
  structure(list(source = source, outcome = outcome, treatment = treatment,
                 covariates = covariates, id = id, table = table, chunk_rows = as.integer(chunk_rows)),
            class = "fastdml_table")
}

#' @export
print.fastdml_table <- function(x, ...) {
  what <- if (is.data.frame(x$source)) sprintf("data frame, %d rows", nrow(x$source)) else
    if (is.character(x$source)) paste(x$source, collapse = ", ") else class(x$source)[1L]
  cat(cli::format_inline("{.cls fastdml_table}: {what}"), "\n", sep = "")
  cat(cli::format_inline("outcome {.field {x$outcome}}, treatment {.field {x$treatment}}, {length(x$covariates)} covariate{?s}, id {.field {x$id}}"), "\n", sep = "")
  invisible(x)
}

require_package <- function(package, backend) {
  if (!requireNamespace(package, quietly = TRUE)) {
    fd_abort("package", c("{.code backend = \"{backend}\"} needs the {.pkg {package}} package.",
                          i = "Install it with {.code install.packages(\"{package}\")}."))
  }
}

# list(reduce = function(pass) -> sums over the source's chunks, close = function() cleanup).
scale_reducer <- function(table, plan, backend) {
  switch(backend,
    memory = list(reduce = function(pass) reduce_frame(table$source, plan, pass, table$chunk_rows),
                  close = function() invisible()),
    duckdb = db_reducer(table, plan, backend),
    dbplyr = {
      relation <- db_relation(table, backend)
      sql_reducer(relation$con, relation$from, plan)
    },
    mirai = mirai_reducer(table, plan))
}

reduce_frame <- function(data, plan, pass, chunk_rows) {
  n <- nrow(data)
  total <- NULL
  for (start in seq(1L, n, by = chunk_rows)) {
    rows <- start:min(n, start + chunk_rows - 1L)
    total <- combine_pass(total, chunk_pass(data[rows, , drop = FALSE], plan, pass), pass$type)
  }
  total
}

# DuckDB (files, .duckdb tables, connections): stream the query's rows as Arrow chunks (DBI's
# dbFetch() would materialise the whole result in R), so R holds one chunk at a time.
db_reducer <- function(table, plan, backend) {
  require_package("DBI", backend)
  relation <- db_relation(table, backend)
  columns <- unique(c(plan$id, plan$covariates, plan$treatments, unlist(plan$outcomes)))
  sql <- sprintf("SELECT %s FROM %s", paste(DBI::dbQuoteIdentifier(relation$con, columns), collapse = ", "),
                 relation$from)
  require_package("nanoarrow", backend)
  reduce <- function(pass) {
    result <- DBI::dbSendQueryArrow(relation$con, sql)
    on.exit(DBI::dbClearResult(result))
    total <- NULL
    repeat {
      chunk <- DBI::dbFetchArrowChunk(result, chunk_size = table$chunk_rows)
      if (chunk$length == 0L) break
      total <- combine_pass(total, chunk_pass(as.data.frame(chunk), plan, pass), pass$type)
    }
    total
  }
  list(reduce = reduce, close = relation$close)
}

# The connection, the FROM clause and how to close what was opened here.
db_relation <- function(table, backend) {
  source <- table$source
  if (backend == "dbplyr") {
    if (!inherits(source, "tbl_lazy")) fd_abort("argument", "{.code backend = \"dbplyr\"} needs a dbplyr lazy table as {.arg source}.")
    require_package("dbplyr", backend)
    return(list(con = dbplyr::remote_con(source),
                from = sprintf("(%s) AS fastdml_source", dbplyr::sql_render(source)),
                close = function() invisible()))
  }
  require_package("duckdb", backend)
  if (inherits(source, "DBIConnection")) {
    if (is.null(table$table)) fd_abort("argument", "Give {.arg table}: the table of the connection to read.")
    return(list(con = source, from = DBI::dbQuoteIdentifier(source, table$table),
                close = function() invisible()))
  }
  if (!is.character(source)) {
    fd_abort("argument", "{.code backend = \"duckdb\"} needs a {.file .duckdb} file, Parquet or CSV paths, or a DBI connection as {.arg source}.")
  }
  if (length(source) == 1L && grepl("\\.duckdb$", source)) {
    if (!file.exists(source)) fd_abort("argument", "The DuckDB file {.file {source}} does not exist.")
    if (is.null(table$table)) fd_abort("argument", "Give {.arg table}: the table of {.file {source}} to read.")
    con <- DBI::dbConnect(duckdb_driver(table), dbdir = source, read_only = TRUE)
    return(list(con = con, from = DBI::dbQuoteIdentifier(con, table$table),
                close = function() DBI::dbDisconnect(con, shutdown = TRUE)))
  }
  reader <- if (all(grepl("\\.parquet$", source))) "read_parquet" else if (all(grepl("\\.csv$", source))) "read_csv_auto" else
    fd_abort("argument", c("Paths must all be {.file .parquet} or all {.file .csv} files (or one {.file .duckdb} file).", x = "Got {.file {source}}."))
  con <- DBI::dbConnect(duckdb_driver(table))
  files <- paste(sprintf("'%s'", gsub("'", "''", source)), collapse = ", ")
  list(con = con, from = sprintf("%s([%s])", reader, files),
       close = function() DBI::dbDisconnect(con, shutdown = TRUE))
}

# A DuckDB driver, with `table$threads` threads when set (mirai workers use one each).
duckdb_driver <- function(table) {
  config <- if (is.null(table$threads)) list() else list(threads = as.character(table$threads))
  duckdb::duckdb(shared_home = FALSE, config = config)
}

# mirai: every partition is reduced on a daemon (fastdml loaded there); sums add on the driver.
# Without daemons set, local daemons (one per partition, up to num.threads) run for this fit.
mirai_reducer <- function(table, plan) {
  require_package("mirai", "mirai")
  partitions <- table$source
  if (is.data.frame(partitions)) partitions <- split_rows(partitions, max(2L, plan$num_threads))
  if (!is.list(partitions) || !length(partitions)) {
    fd_abort("argument", "{.code backend = \"mirai\"} needs a list of partitions (data frames or file paths) as {.arg source}.")
  }
  local <- !mirai::daemons_set()
  if (local) mirai::daemons(min(length(partitions), max(1L, plan$num_threads)))
  worker_plan <- plan
  worker_plan$num_threads <- 1L
  chunk_rows <- table$chunk_rows
  table_name <- table$table
  reduce <- function(pass) {
    tasks <- lapply(partitions, function(part) {
      mirai::mirai(reduce_partition(part, plan, pass, chunk_rows, table_name),
                   reduce_partition = reduce_partition, part = part, plan = worker_plan,
                   pass = pass, chunk_rows = chunk_rows, table_name = table_name)
    })
    total <- NULL
    for (task in tasks) {
      value <- mirai::call_mirai(task)$data
      if (mirai::is_error_value(value)) {
        fd_abort("backend", c("A mirai worker failed: {as.character(value)}",
                              i = "Check that fastdml is installed where the daemons run."))
      }
      total <- combine_pass(total, value, pass$type)
    }
    total
  }
  list(reduce = reduce, close = function() if (local) mirai::daemons(0))
}

# One partition on a worker: a data frame (row ranges), or a file: Parquet or .duckdb (table
# `table_name`) streamed through a one-thread DuckDB (one worker, one core), CSV through DuckDB
# when installed, else read.csv().
reduce_partition <- function(part, plan, pass, chunk_rows, table_name = NULL) {
  if (is.data.frame(part)) return(reduce_frame(part, plan, pass, chunk_rows))
  if (grepl("\\.csv$", part) && !requireNamespace("duckdb", quietly = TRUE)) {
    return(reduce_frame(utils::read.csv(part), plan, pass, chunk_rows))
  }
  table <- list(source = part, table = table_name, chunk_rows = chunk_rows, threads = 1L)
  reducer <- db_reducer(table, plan, "duckdb")
  on.exit(reducer$close())
  reducer$reduce(pass)
}

split_rows <- function(data, parts) {
  groups <- cut(seq_len(nrow(data)), parts, labels = FALSE)
  lapply(split(seq_len(nrow(data)), groups), function(rows) data[rows, , drop = FALSE])
}
