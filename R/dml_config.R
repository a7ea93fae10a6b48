# JSON configuration of CI-DML runs (specs/amazon-ci-dml.md): dml_config() reads, merges and validates it, resolve_config()
# applies it to a table's column names. Every problem is a fastdml_error_config naming the field path and the fix.

CONFIG_FIELDS <- c("description", "include", "column_groups", "id", "actions", "cross_fitting", "stages", "baseline")
CONFIG_STAGES <- list(standardizer = "input", propensity_model = c("learner", "params", "input", "target", "output"),
                      propensity_metrics = "metrics", outcome_model = c("learner", "params", "input", "target", "output"),
                      outcome_metrics = "metrics",
                      residualer = c("ipw", "trim", "trim_mode", "rescale", "intercept", "vcov", "output"))

#' Read a JSON configuration of a CI-DML run
#'
#' Reads the configuration of a CI-DML analysis over many actions (a treatment column and its
#' outcome columns each), merges its includes, validates it (a problem is an error of class
#' `fastdml_error_config` naming the field, e.g. `stages[2].learner`, and the fix) and builds the
#' learners. Example: `extdata/ci_dml.json`, which includes `extdata/ci_dml_stages.json`.
#'
#' Fields: `include` (files relative to the including file, which overrides their fields;
#' `stages` is replaced whole), `column_groups` (named regular expressions), `id`, `actions`
#' (`treatment`: a selector whose regular expression's first capture group is the action key;
#' `outcomes`: templates where `%s` is the key), `cross_fitting` (`n_folds` = 3, `seed`),
#' `stages` and `baseline` (`method` = `"ci_po"`, `n_bins` = 10, `bootstrap` = 200). Stages, in
#' this order and each at most once: `standardizer` (optional), `propensity_model`,
#' `propensity_metrics` (optional), `outcome_model`, `outcome_metrics` (optional; metrics among
#' `"r2"`, `"rmse"`, `"auc"`, `"logloss"`) and `residualer` (`ipw` = `"ATT"`, `"ATE"` or
#' `"none"`; `trim` in \[0, 0.5) = 0.001; `trim_mode` = `"drop"` or `"clip"`; `rescale` = true;
#' `intercept` = false; `vcov` among `"const"`, `"HC0"` (default) to `"HC3"`; `output` =
#' `"residual_%s"`). Selectors (`input`, `target`): `"@name"` is a column group, a string starting
#' with `^` a regular expression (Perl), another string a column name, a list column names.
#' Learners: `"linear"`, `"ridge"` (linear; `params.ridge` required), `"logistic"`, `"boost"`
#' ([lrn_linear()], [lrn_logistic()], [lrn_boost()] with `params` as arguments).
#'
#' @param path A `.json` file, a JSON string, or a parsed list (as from
#'   `jsonlite::fromJSON(simplifyVector = FALSE)`). Reading JSON needs the jsonlite package.
#' @return A `fastdml_config`: a list of `column_groups`, `id`, `actions`, `cross_fitting`,
#'   `stages` (validated, defaults filled in), `learners` (`treatment`, `outcome`: learner
#'   objects), `metrics`, `standardize`, `residualer` (`ipw`, `trim`, `trim_mode`, `rescale`,
#'   `intercept`, `vcov`, `output`), `baseline` and `source` (the files read, main file first).
#' @family data preparation
#' @examples
#' file <- system.file("extdata", "ci_dml.json", package = "fastdml")
#' if (nzchar(file) && requireNamespace("jsonlite", quietly = TRUE)) {
#'   config <- dml_config(file)
#'   config
#'   config$learners$outcome
#' }
#' @export
dml_config <- function(path) {
  if (is.list(path)) {
    loaded <- load_config(path, "<list>", getwd(), character())
  } else if (!is_name_string(path)) {
    cfg_abort("{.arg path} must be a .json file, a JSON string or a parsed list.", x = "{got(path)}")
  } else if (startsWith(trimws(path), "{")) {
    loaded <- load_config(read_config_json(path, "<string>"), "<string>", getwd(), character())
  } else {
    if (!file.exists(path) || dir.exists(path)) cfg_abort("The configuration file {.file {path}} does not exist.", i = "Check the path.")
    file <- normalizePath(path, winslash = "/")
    loaded <- load_config(read_config_json(file, file), file, dirname(file), file)
  }
  structure(c(validate_config(loaded$config), list(source = loaded$source)), class = "fastdml_config")
}

cfg_abort <- function(..., .envir = parent.frame()) fd_abort("config", c(...), .envir = .envir)

config_need_package <- function(pkg = "jsonlite") {
  if (requireNamespace(pkg, quietly = TRUE)) return(invisible(TRUE))
  install <- sprintf('install.packages("%s")', pkg)
  cli::cli_abort(c("Reading a JSON configuration needs the {.pkg {pkg}} package.",
                   i = "Install it with {.code {install}}, or pass the configuration as a parsed list."),
                 class = c("fastdml_error_missing_package", "fastdml_error_package", "fastdml_error"), call = user_call())
}

# JSON text (label "<string>") or a file into a list.
read_config_json <- function(text, label) {
  config_need_package("jsonlite")
  if (label != "<string>") text <- paste(readLines(text, warn = FALSE, encoding = "UTF-8"), collapse = "\n")
  out <- tryCatch(jsonlite::fromJSON(text, simplifyVector = FALSE), error = function(e) {
    msg <- conditionMessage(e)
    cfg_abort("The configuration {.file {label}} is not valid JSON.", x = "{msg}",
              i = "Check brackets, commas and quotes (JSON has no comments).")
  })
  if (!is_json_object(out)) cfg_abort("The configuration {.file {label}} must be a JSON object.", x = "{got(out)}")
  out
}

is_json_object <- function(x) is.list(x) && (length(x) == 0L || !is.null(names(x)))
is_name_string <- function(x) is.character(x) && length(x) == 1L && !is.na(x) && nzchar(x)
got <- function(x) if (is.null(x)) "It is missing." else cli::format_inline("It is {.val {format_value(x)}}.")
few_columns <- function(columns) cli::cli_vec(columns, list("vec-trunc" = 6L))

# Resolves `include` recursively; `chain` holds the files being read (to detect cycles).
load_config <- function(raw, label, dir, chain) {
  if (!is_json_object(raw)) cfg_abort("A parsed configuration must be a named list (a JSON object).", x = "{got(raw)}")
  includes <- if (length(raw$include)) cfg_strings(raw$include, "include") else character()
  raw$include <- NULL
  merged <- list()
  sources <- label
  for (i in seq_along(includes)) {
    file <- includes[[i]]
    target <- if (grepl("^(/|~|[A-Za-z]:)", file)) path.expand(file) else file.path(dir, file)
    if (!file.exists(target) || dir.exists(target)) cfg_abort("{.field include[{i}]} of {.file {label}}: the file {.file {file}} does not exist.",
                                                              i = "Include paths are relative to the including file's folder {.file {dir}}.")
    target <- normalizePath(target, winslash = "/")
    if (target %in% chain) {
      cycle <- paste(basename(c(chain[match(target, chain):length(chain)], target)), collapse = " -> ")
      cfg_abort("Cyclic {.field include}: {cycle}.", i = "Remove one of these includes.")
    }
    sub <- load_config(read_config_json(target, target), target, dirname(target), c(chain, target))
    merged <- merge_config(merged, sub$config)
    sources <- c(sources, sub$source)
  }
  list(config = merge_config(merged, raw), source = unique(sources))
}

# `over` wins; JSON objects are merged field by field, lists (`stages`, `include`, ...) are replaced.
merge_config <- function(base, over) {
  for (nm in names(over)) {
    both <- length(base[[nm]]) && length(over[[nm]]) && is_json_object(base[[nm]]) && is_json_object(over[[nm]])
    base[nm] <- list(if (both) merge_config(base[[nm]], over[[nm]]) else over[[nm]])
  }
  base
}

cfg_object <- function(x, path, allowed = NULL) {
  if (is.null(x)) return(list())
  if (!is_json_object(x) || !all(nzchar(names(x)))) cfg_abort("{.field {path}} must be a JSON object with named fields.", x = "{got(x)}")
  unknown <- if (is.null(allowed)) character() else setdiff(names(x), allowed)
  fields <- if (nzchar(path)) paste0(path, ".", unknown) else unknown
  if (length(unknown)) cfg_abort("Unknown field{?s} {.field {fields}}.",
                                 i = "Allowed here: {.field {allowed}}; fix the spelling or remove {cli::qty(length(unknown))}{?it/them}.")
  x
}

cfg_string <- function(x, path, choices = NULL, default = NULL, hint = NULL) {
  if (is.null(x) && !is.null(default)) return(default)
  if (is_name_string(x) && (is.null(choices) || x %in% choices)) return(x)
  if (is.null(choices)) cfg_abort("{.field {path}} must be a non-empty string.", x = "{got(x)}", i = hint)
  cfg_abort("{.field {path}} must be one of {.val {choices}}.", x = "{got(x)}", i = hint)
}

cfg_number <- function(x, path, lower, upper = Inf, whole = FALSE, below = FALSE, default = NULL, hint = NULL) {
  if (is.null(x) && !is.null(default)) return(default)
  inside <- is.numeric(x) && length(x) == 1L && is.finite(x) && x >= lower && (if (below) x < upper else x <= upper)
  if (!inside || (whole && x != round(x))) {
    range <- if (is.infinite(upper)) paste(">=", lower) else sprintf("in [%s, %s%s", lower, upper, if (below) ")" else "]")
    cfg_abort("{.field {path}} must be {if (whole) 'a whole number' else 'a number'} {range}.", x = "{got(x)}", i = hint)
  }
  if (whole) as.integer(x) else as.double(x)
}

cfg_flag <- function(x, path, default) {
  if (is.null(x)) return(default)
  if (!is.logical(x) || length(x) != 1L || is.na(x)) cfg_abort("{.field {path}} must be {.code true} or {.code false}.", x = "{got(x)}")
  x
}

# A string or a list of strings (each one of `choices` when given) as a character vector.
cfg_strings <- function(x, path, choices = NULL, default = NULL) {
  if (is.null(x) && !is.null(default)) return(default)
  if (is.character(x) && length(x) == 1L) x <- list(x)
  if (!is.list(x) || !length(x) || !is.null(names(x))) cfg_abort("{.field {path}} must be a string or a list of strings.", x = "{got(x)}")
  vapply(seq_along(x), function(i) cfg_string(x[[i]], sprintf("%s[%d]", path, i), choices), "")
}

# A column selector: "@group", "^regex", a column name, or a list of column names.
cfg_selector <- function(x, path, groups) {
  if (is.list(x)) return(as.list(cfg_strings(x, path)))
  x <- cfg_string(x, path, hint = "Use {.val @group}, a regex starting with {.val ^}, a column name or a list of names.")
  if (startsWith(x, "@")) check_group(x, cli::format_inline("{.field {path}}"), groups)
  if (startsWith(x, "^")) check_regex(x, path)
  x
}

check_group <- function(x, label, groups) {
  defined <- paste0("@", names(groups))
  if (!x %in% defined) cfg_abort("{label} refers to {.val {x}}, which is not a column group.",
                                 i = "Define it under {.field column_groups}, or use one of {.val {defined}}.")
  invisible(x)
}

check_regex <- function(x, path) {
  tryCatch(suppressWarnings(grepl(x, "", perl = TRUE)), error = function(e) cfg_abort(
    "{.field {path}} is not a valid regular expression: {.code {x}}.", i = "Patterns use Perl syntax, e.g. {.code ^pre_} or {.code ^treatment_(.+)$}."))
  x
}

validate_config <- function(raw) {
  raw <- cfg_object(raw, "", CONFIG_FIELDS)
  groups <- cfg_object(raw$column_groups, "column_groups")
  for (g in names(groups)) {
    path <- paste0("column_groups.", g)
    groups[[g]] <- if (is.list(groups[[g]])) as.list(cfg_strings(groups[[g]], path)) else check_regex(cfg_string(groups[[g]], path), path)
  }
  actions <- cfg_object(raw$actions, "actions", c("treatment", "outcomes"))
  cf <- cfg_object(raw$cross_fitting, "cross_fitting", c("n_folds", "seed"))
  base <- if (!is.null(raw$baseline)) cfg_object(raw$baseline, "baseline", c("method", "n_bins", "bootstrap"))
  c(list(column_groups = groups, id = if (!is.null(raw$id)) cfg_string(raw$id, "id"),
         actions = list(treatment = cfg_selector(actions$treatment, "actions.treatment", groups),
                        outcomes = cfg_strings(actions$outcomes, "actions.outcomes")),
         cross_fitting = list(n_folds = cfg_number(cf$n_folds, "cross_fitting.n_folds", 2, whole = TRUE, default = 3L,
                                                   hint = "Cross-fitting needs at least 2 folds; the CI-DML paper uses 3."),
                              seed = if (!is.null(cf$seed)) cfg_number(cf$seed, "cross_fitting.seed", 0, .Machine$integer.max, whole = TRUE))),
    validate_stages(raw$stages, groups),
    list(baseline = if (!is.null(base)) list(method = cfg_string(base$method, "baseline.method", "ci_po", default = "ci_po"),
                                             n_bins = cfg_number(base$n_bins, "baseline.n_bins", 2, whole = TRUE, default = 10L),
                                             bootstrap = cfg_number(base$bootstrap, "baseline.bootstrap", 0, whole = TRUE, default = 200L))))
}

validate_stages <- function(stages, groups) {
  order <- paste(names(CONFIG_STAGES), collapse = ", ")
  if (!is.list(stages) || !length(stages) || !is.null(names(stages))) cfg_abort("{.field stages} must be a non-empty list of stages.",
                                                                              x = "{got(stages)}", i = "Stages, in this order: {order}.")
  paths <- sprintf("stages[%d]", seq_along(stages))
  kinds <- vapply(seq_along(stages), function(i) cfg_string(cfg_object(stages[[i]], paths[i])$stage, paste0(paths[i], ".stage"),
                                                             names(CONFIG_STAGES)), "")
  bad <- which(diff(match(kinds, names(CONFIG_STAGES))) <= 0)[1]
  problem <- if (!is.na(bad) && kinds[bad] == kinds[bad + 1]) "repeats" else "must come before"
  if (!is.na(bad)) cfg_abort("{.field {paths[bad + 1]}} ({.val {kinds[bad + 1]}}) {problem} {.field {paths[bad]}} ({.val {kinds[bad]}}).",
                             i = "Each stage appears at most once, in this order: {order}.")
  missing <- setdiff(c("propensity_model", "outcome_model", "residualer"), kinds)
  if (length(missing)) cfg_abort("{.field stages} lacks the required stage{?s} {.val {missing}}.",
                                 i = "Add {cli::qty(length(missing))}{?it/them}; stages, in this order: {order}.")
  out <- list(stages = list(), learners = list(), metrics = list(), standardize = "standardizer" %in% kinds)
  for (i in seq_along(stages)) {
    s <- cfg_object(stages[[i]], paths[i], c("stage", CONFIG_STAGES[[kinds[i]]]))
    p <- function(field) paste0(paths[i], ".", field)
    role <- if (startsWith(kinds[i], "outcome")) "outcome" else "propensity"
    s <- switch(kinds[i],
      standardizer = list(input = if (!is.null(s$input)) cfg_selector(s$input, p("input"), groups)),
      propensity_model = , outcome_model = {
        id <- cfg_string(s$learner, p("learner"), c("linear", "ridge", "logistic", "boost"),
                         hint = "Learners: {.val linear}, {.val ridge} (linear with a ridge penalty), {.val logistic}, {.val boost}.")
        params <- cfg_object(s$params, p("params"))
        out$learners[[if (role == "outcome") "outcome" else "treatment"]] <- config_learner(id, params, p("params"))
        list(learner = id, params = params, input = cfg_selector(s$input, p("input"), groups),
             target = cfg_selector(s$target, p("target"), groups), output = if (!is.null(s$output)) cfg_string(s$output, p("output")))
      },
      propensity_metrics = , outcome_metrics = list(metrics = out$metrics[[role]] <- cfg_strings(
        s$metrics, p("metrics"), c("r2", "rmse", "auc", "logloss"), default = if (role == "outcome") "r2" else "auc")),
      residualer = out$residualer <- list(
        ipw = cfg_string(s$ipw, p("ipw"), c("none", "ATE", "ATT"), default = "ATT"),
        trim = cfg_number(s$trim, p("trim"), 0, 0.5, below = TRUE, default = 0.001,
                          hint = "The CI-DML paper drops units with a propensity outside [0.001, 0.999]: {.code \"trim\": 0.001}."),
        trim_mode = cfg_string(s$trim_mode, p("trim_mode"), c("drop", "clip"), default = "drop"),
        rescale = cfg_flag(s$rescale, p("rescale"), TRUE),
        intercept = cfg_flag(s$intercept, p("intercept"), FALSE),
        vcov = cfg_strings(s$vcov, p("vcov"), c("const", "HC0", "HC1", "HC2", "HC3"), default = "HC0"),
        output = cfg_string(s$output, p("output"), default = "residual_%s")))
    out$stages[[i]] <- c(list(stage = kinds[i]), s)
  }
  out
}

# A learner from its config id and params (unknown or invalid params: a named error).
config_learner <- function(id, params, path) {
  fun <- switch(id, linear = , ridge = lrn_linear, logistic = lrn_logistic, boost = lrn_boost)
  allowed <- names(formals(fun))
  unknown <- setdiff(names(params), allowed)
  if (length(unknown)) cfg_abort("Unknown parameter{cli::qty(length(unknown))}{?s} {.field {paste0(path, '.', unknown)}} of learner {.val {id}}.",
                                 i = "Learner {.val {id}} takes {.field {allowed}}; fix the spelling or remove {cli::qty(length(unknown))}{?it/them}.")
  if (id == "ridge" && is.null(params$ridge)) cfg_abort("Learner {.val ridge} needs its penalty in {.field {path}.ridge}.",
                                                      i = "Add {.code \"ridge\": 0.01} (the CI-DML paper's alpha), or use learner {.val linear}.")
  tryCatch(do.call(fun, params), fastdml_error = function(e) {
    msg <- conditionMessage(e)
    cfg_abort("{.field {path}} is not valid for learner {.val {id}}.", x = "{msg}", i = "Fix the value in the configuration.")
  })
}

#' @export
print.fastdml_config <- function(x, ...) {
  sel <- function(s) if (is.list(s)) paste0("[", paste(unlist(s), collapse = ", "), "]") else s
  line <- function(...) cat(..., "\n", sep = "")
  r <- x$residualer
  line("<fastdml_config> ", paste(basename(x$source), collapse = " + "))
  line("Column groups: ", paste(names(x$column_groups), vapply(x$column_groups, sel, ""), sep = " = ", collapse = "; "))
  line("Actions: treatment ", sel(x$actions$treatment), "; outcomes ", paste(x$actions$outcomes, collapse = ", "),
       if (!is.null(x$id)) paste0("; id column ", x$id))
  line("Cross-fitting: ", x$cross_fitting$n_folds, " folds, seed ", if (is.null(x$cross_fitting$seed)) "none" else x$cross_fitting$seed)
  line("Stages:")
  for (i in seq_along(x$stages)) {
    s <- x$stages[[i]]
    what <- switch(s$stage,
      standardizer = paste("input", if (is.null(s$input)) "(the model inputs)" else sel(s$input)),
      propensity_model = , outcome_model = paste0(x$learners[[if (s$stage == "outcome_model") "outcome" else "treatment"]]$label,
                                                  ": ", sel(s$input), " -> ", sel(s$target), if (!is.null(s$output)) paste0(" as ", s$output)),
      propensity_metrics = , outcome_metrics = paste(s$metrics, collapse = ", "),
      residualer = sprintf("ipw %s, trim %s (%s), %s, %s, vcov %s -> %s", r$ipw, format(r$trim), r$trim_mode,
                           if (r$rescale) "rescaled" else "not rescaled", if (r$intercept) "intercept" else "no intercept",
                           paste(r$vcov, collapse = "/"), r$output))
    line(sprintf("  %d %-19s %s", i, s$stage, what))
  }
  if (!is.null(x$baseline)) line("Baseline: ", x$baseline$method, ", ", x$baseline$n_bins, " bins, ", x$baseline$bootstrap, " bootstrap draws")
  invisible(x)
}

# The actions of a config on a table's column names, in the order of the treatment columns: each
# list(action, treatment, outcomes, covariates, outcome_covariates); every selector is checked.
resolve_config <- function(config, column_names) {
  if (!inherits(config, "fastdml_config")) config <- dml_config(config)
  if (!is.character(column_names) || anyNA(column_names)) fd_abort("argument", "{.arg column_names} must be a character vector.")
  groups <- config$column_groups
  select <- function(x, path) select_columns(x, path, groups, column_names)
  if (!is.null(config$id)) select(config$id, "id")
  kinds <- vapply(config$stages, `[[`, "", "stage")
  for (i in seq_along(kinds)) for (f in c("input", "target")) {
    if (!is.null(config$stages[[i]][[f]])) select(config$stages[[i]][[f]], sprintf("stages[%d].%s", i, f))
  }
  inputs <- lapply(match(c("propensity_model", "outcome_model"), kinds), function(i) select(config$stages[[i]]$input, sprintf("stages[%d].input", i)))
  treatments <- select(config$actions$treatment, "actions.treatment")
  treatments <- treatments[order(match(treatments, column_names))]
  pattern <- config$actions$treatment   # the action key is the first capture group of its regex
  if (!is.list(pattern) && startsWith(pattern, "@")) pattern <- groups[[substring(pattern, 2L)]]
  regex <- !is.list(pattern) && (startsWith(pattern, "^") || !identical(pattern, config$actions$treatment))
  keys <- if (!regex) treatments else vapply(regmatches(treatments, regexec(pattern, treatments, perl = TRUE)),
                                             function(g) if (length(g) > 1L && nzchar(g[2L])) g[2L] else g[1L], "")
  actions <- lapply(seq_along(treatments), function(i) {
    outcomes <- gsub("%s", keys[i], config$actions$outcomes, fixed = TRUE)
    miss <- which(!outcomes %in% column_names)[1]
    template <- config$actions$outcomes[miss]
    if (!is.na(miss)) cfg_abort("Action {.val {keys[i]}}: the outcome column {.field {outcomes[miss]}} (from {.val {template}}) is not in the data.",
                                i = "The data's columns include {.field {few_columns(column_names)}}; fix {.field actions.outcomes} or the data.")
    list(action = keys[i], treatment = treatments[i], outcomes = outcomes, covariates = inputs[[1]], outcome_covariates = inputs[[2]])
  })
  leaked <- intersect(unlist(inputs), c(treatments, unlist(lapply(actions, `[[`, "outcomes")), config$id))
  if (length(leaked)) cfg_abort("The model inputs include {.field {leaked}}: treatment, outcome or id column{?s}.",
                                i = "Covariates must be measured before the treatment; narrow the {.field input} selectors.")
  stats::setNames(actions, keys)
}

# The columns a selector picks (a regex's in column order, listed names as listed); the string
# of a column group is always a regex.
select_columns <- function(x, path, groups, columns, group = NULL) {
  label <- cli::format_inline(if (is.null(group)) "{.field {path}}" else "The column group {.field {group}} (used by {.field {path}})")
  avail <- few_columns(columns)
  if (!is.list(x) && startsWith(x, "@") && is.null(group)) {
    check_group(x, label, groups)
    return(select_columns(groups[[substring(x, 2L)]], path, groups, columns, group = substring(x, 2L)))
  }
  if (!is.list(x) && (startsWith(x, "^") || !is.null(group))) {
    hit <- columns[grepl(x, columns, perl = TRUE)]
    if (!length(hit)) cfg_abort("{label} has the pattern {.code {x}}, which matches no column.",
                                i = "The data's columns include {.field {avail}}; fix the pattern.")
    return(hit)
  }
  missing <- setdiff(unlist(x), columns)
  if (length(missing)) cfg_abort("{label} names {cli::qty(length(missing))}column{?s} {.field {missing}} that {?is/are} not in the data.",
                                 i = "The data's columns include {.field {avail}}; fix the name (a regex starts with {.code ^}).")
  unlist(x)
}
