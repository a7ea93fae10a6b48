# Plots of the sensitivity analysis (DESIGN §4, specs/cx-multitreatment.md §5 and §7 step 8):
# the contour of the bound nearest the null over the confounding strengths (cf_d, cf_y), drawn
# from one sensitivity_grid() call on the per-repetition sufficient statistics (O(1) per grid
# point, no pass over the data), and the bounds and confidence intervals of every term.

#' Plot a sensitivity analysis
#'
#' * `"contour"`: for one term, the bound nearest the null hypothesis `null` of
#'   [sensitivity()] (the lower bound `theta_lower` when the estimate is above the null,
#'   otherwise the upper bound `theta_upper`; with `bound = "ci"` the matching end of the
#'   bias-aware confidence interval, `ci_lower` or `ci_upper`) as a function of the strength
#'   of an omitted confounder on the treatment (`cf_d`, x axis) and on the outcome (`cf_y`, y
#'   axis), at the term's `rho`. Grey contour lines with labelled levels; the red, thicker
#'   contour is where the bound equals the null: confounders beyond it overturn the
#'   conclusion. Marked are the scenario of [sensitivity()] (triangle, labelled with its bound),
#'   the robustness value (diamond at `(rv, rv)` on the diagonal; `rva` for `bound = "ci"`;
#'   left out when it is `NA` or 1, never reached) and the benchmark covariate groups stored
#'   in the object (squares labelled with the dropped group, see [sensitivity_benchmark()]);
#'   points beyond the axes (`cf_d` above 0.99, or a smaller `cf_max`) are named in the caption.
#'   The grid (`grid` x `grid` points) comes from the per-repetition sufficient statistics of
#'   the object at O(1) per point, without a pass over the data; it needs the unsigned bounds
#'   (an object of `sensitivity(signed = TRUE)` is an error: use `type = "bounds"`).
#' * `"bounds"`: one row per term: the estimate (point), its two-sided sampling confidence
#'   interval at `level` (estimate -/+ `qnorm(1 - (1 - level) / 2)` standard errors; thick
#'   segment), the bounds `theta_lower` to `theta_upper` under the scenario (medium) and the
#'   bias-aware confidence interval `ci_lower` to `ci_upper` (thin; each end one-sided at
#'   `level`), with a dashed line at the null.
#'
#' @param object A result of [sensitivity()].
#' @param type `"contour"` (default) or `"bounds"`.
#' @param term The term (contrast) of the contour plot: a name of `object$table$term` or its
#'   index; `NULL` (default) takes the first. For `"bounds"`, `NULL` shows every term and a
#'   vector of names or indices a subset.
#' @param bound Contour of the bound on the estimate (`"theta"`, default) or of the bias-aware
#'   confidence interval (`"ci"`).
#' @param grid Number of grid points along each axis of the contour plot (at least 2).
#' @param cf_max Upper ends of the axes of the contour plot: `c(cf_d, cf_y)` or one number for
#'   both, with `cf_d` in (0, 1). `NULL` (default) takes a quarter more than the largest of the
#'   scenario, the robustness value and the benchmarks on each axis, at most 0.99 for `cf_d`.
#' @param ... Unused.
#' @return A ggplot object.
#' @family sensitivity
#' @examples
#' fit <- dml_irm(causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
#'                            c("age", "browsing_time", "income")),
#'                learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' sens <- sensitivity(fit, cf_y = 0.03, cf_d = 0.03)
#' ggplot2::autoplot(sens)
#' ggplot2::autoplot(sens, type = "bounds")
#' @exportS3Method ggplot2::autoplot
autoplot.fastdml_sensitivity <- function(object, type = c("contour", "bounds"), term = NULL,
                                         bound = c("theta", "ci"), grid = 100, cf_max = NULL,
                                         ...) {
  type <- arg_match(type, c("contour", "bounds"), "type")
  bound <- arg_match(bound, c("theta", "ci"), "bound")
  switch(type,
         contour = plot_sensitivity_contour(object, term, bound, grid, cf_max),
         bounds = plot_sensitivity_bounds(object, term))
}

# The term names selected by `term` (NULL: the first, or all with all = TRUE; names or indices).
sensitivity_terms <- function(sens, term, all = FALSE, several = FALSE) {
  terms <- as.character(sens$table$term)
  if (is.null(term)) return(if (all) terms else terms[1L])
  ok <- length(term) >= 1L && (several || length(term) == 1L) && !anyNA(term)
  if (ok && is.numeric(term)) {
    ok <- all(term == round(term)) && all(term >= 1) && all(term <= length(terms))
    if (ok) return(terms[term])
  } else if (ok && (is.character(term) || is.factor(term))) {
    term <- as.character(term)
    ok <- all(term %in% terms)
    if (ok) return(term)
  }
  fd_abort("argument", c(
    "{.arg term} must name {if (several) 'terms' else 'one term'} among {.val {terms}} or be {if (several) 'indices' else 'an index'} from 1 to {length(terms)}.",
    x = "You supplied {.val {format_value(term)}}."))
}

# Upper ends of the contour axes (cf_d, cf_y): a quarter beyond the scenario, the robustness
# value and the benchmarks (0.1 when all of them are 0), cf_d at most 0.99.
sensitivity_cf_max <- function(cf_max, points_d, points_y) {
  if (is.null(cf_max)) {
    top <- function(v) {
      v <- v[is.finite(v)]
      m <- if (length(v)) max(v) else 0
      if (m > 0) 1.25 * m else 0.1
    }
    return(c(min(0.99, top(points_d)), top(points_y)))
  }
  ok <- is.numeric(cf_max) && length(cf_max) %in% 1:2 && all(is.finite(cf_max))
  cf_max <- if (ok) rep_len(cf_max, 2L) else cf_max
  if (!ok || cf_max[1L] <= 0 || cf_max[1L] >= 1 || cf_max[2L] <= 0) {
    fd_abort("argument", c(
      "{.arg cf_max} must be {.code c(cf_d, cf_y)} or one number for both, with {.arg cf_d} in (0, 1) and {.arg cf_y} > 0.",
      x = "You supplied {.val {format_value(cf_max)}}."))
  }
  cf_max
}

# The data of the contour plot of one term: the grid `surface` (cf_d, cf_y, value; cf_d
# varying fastest, so matrix(value, grid) is the matrix of sensitivity_grid()), the scenario,
# robustness value and benchmark points, the contour levels, their label positions and the
# axis limits. One call of sensitivity_grid() evaluates the whole grid.
sensitivity_contour_data <- function(sens, term = NULL, bound = "theta", grid = 100,
                                     cf_max = NULL) {
  if (!is.numeric(grid) || length(grid) != 1L || !is.finite(grid) || grid < 2 ||
      grid != round(grid)) {
    fd_abort("argument", c("{.arg grid} must be a whole number of grid points of at least 2.",
                           x = "You supplied {.val {format_value(grid)}}."))
  }
  grid <- as.integer(grid)
  term <- sensitivity_terms(sens, term)
  if (isTRUE(sens$scenario$signed)) {
    fd_abort("argument", c(
      "The contour plot needs the unsigned bounds; this object has {.code signed = TRUE}.",
      i = "The signed bound needs a pass over the data per scenario: plot {.code type = \"bounds\"}, or call {.fn sensitivity} with {.code signed = FALSE} for the contour."))
  }
  row <- sens$table[match(term, sens$table$term), , drop = FALSE]
  null <- sens$scenario$null
  side <- if (row$estimate > null) "lower" else "upper"
  column <- sprintf("%s_%s", bound, side)
  rv <- if (bound == "theta") row$rv else row$rva
  rv <- if (is.finite(rv) && rv < 1) rv else numeric(0)
  bench <- sens$benchmarks
  if (!is.null(bench) && nrow(bench) > 0L) {
    bench <- as.data.frame(bench)
    bench <- bench[as.character(bench$term) == term & is.finite(bench$cf_d) &
                     is.finite(bench$cf_y), c("term", "drop", "cf_d", "cf_y"), drop = FALSE]
  }
  if (is.null(bench) || nrow(bench) == 0L) {
    bench <- data.frame(term = character(0), drop = character(0), cf_d = numeric(0),
                        cf_y = numeric(0))
  }
  limits <- sensitivity_cf_max(cf_max, c(row$cf_d, rv, bench$cf_d), c(row$cf_y, rv, bench$cf_y))
  cf_d <- seq(0, limits[1L], length.out = grid)
  cf_y <- seq(0, limits[2L], length.out = grid)
  z <- sensitivity_grid(sens, cf_d = cf_d, cf_y = cf_y, term = term, bound = bound)
  z <- matrix(as.numeric(z), grid, grid)
  surface <- data.frame(cf_d = rep(cf_d, times = grid), cf_y = rep(cf_y, each = grid),
                        value = as.vector(z))
  range_z <- range(z[is.finite(z)])
  levels <- pretty(range_z, n = 8)
  tol <- 1e-9 * max(1, abs(range_z))
  levels <- levels[levels > range_z[1L] + tol & levels < range_z[2L] - tol &
                     abs(levels - null) > tol]
  labelled <- if (length(levels) > 6L) levels[seq(1L, length(levels), by = 2L)] else levels
  scenario_value <- row[[column]]
  inside <- function(x, y) x <= limits[1L] & y <= limits[2L]
  rv_label <- sprintf("%s = %s", if (bound == "theta") "rv" else "rva", format_bound(rv))
  off <- c(if (length(rv) && !inside(rv, rv)) sprintf("%s (off the axes)", rv_label),
           if (any(!inside(bench$cf_d, bench$cf_y))) {
             sprintf("%d benchmark%s off the axes", sum(!inside(bench$cf_d, bench$cf_y)),
                     if (sum(!inside(bench$cf_d, bench$cf_y)) > 1L) "s" else "")
           },
           if (!inside(row$cf_d, row$cf_y)) "the scenario is off the axes")
  keep_rv <- length(rv) > 0L && inside(rv, rv)
  keep_bench <- inside(bench$cf_d, bench$cf_y)
  keep_scenario <- inside(row$cf_d, row$cf_y)
  list(
    term = term, bound = bound, column = column, side = side, null = null,
    rho = sens$scenario$rho[match(term, sens$table$term)], level = sens$scenario$level,
    limits = limits, cf_d = cf_d, cf_y = cf_y, surface = surface, levels = levels,
    null_contour = is.finite(null) && null > range_z[1L] && null < range_z[2L],
    labels = contour_label_positions(z, cf_d, cf_y, labelled, limits),
    scenario = data.frame(cf_d = row$cf_d, cf_y = row$cf_y, value = scenario_value,
                          label = sprintf("scenario: %s = %s", column,
                                          format_bound(scenario_value)))[keep_scenario, ],
    rv = data.frame(cf_d = rv, cf_y = rv, label = rv_label)[keep_rv, ],
    benchmarks = data.frame(cf_d = bench$cf_d, cf_y = bench$cf_y,
                            label = as.character(bench$drop))[keep_bench, ],
    off_axes = off)
}

format_bound <- function(x) formatC(x, digits = 3, format = "fg", flag = "#")

# Where each labelled contour level first crosses an L-shaped path through the grid: along the
# row at 90% of the cf_y range from cf_d = 0 to 90% of the cf_d range, then down that column
# to cf_y = 0 (linear interpolation between grid points). Bounds change monotonically in both
# strengths, so each level that is not beyond the path's far corner crosses it once, clear of
# the marked points (which lie below 80% of both ranges by default). Labels closer than a few
# per cent to an axis are moved inside.
contour_label_positions <- function(z, cf_d, cf_y, levels, limits) {
  grid <- length(cf_d)
  corner <- max(2L, round(0.9 * (grid - 1L)) + 1L)
  i <- c(seq_len(corner), rep(corner, corner - 1L))
  j <- c(rep(corner, corner), rev(seq_len(corner - 1L)))
  v <- z[cbind(i, j)]
  x <- cf_d[i]
  y <- cf_y[j]
  out <- lapply(levels, function(level) {
    k <- which((v[-length(v)] - level) * (v[-1L] - level) <= 0 & v[-length(v)] != v[-1L])
    if (!length(k)) return(NULL)
    k <- k[1L]
    t <- (level - v[k]) / (v[k + 1L] - v[k])
    data.frame(cf_d = x[k] + t * (x[k + 1L] - x[k]), cf_y = y[k] + t * (y[k + 1L] - y[k]),
               level = level)
  })
  out <- do.call(rbind, out)
  if (is.null(out)) out <- data.frame(cf_d = numeric(0), cf_y = numeric(0), level = numeric(0))
  out$label <- format(out$level, trim = TRUE, drop0trailing = TRUE)
  # labels of contours hugging an axis are moved inside so that they stay readable
  out$cf_d <- pmax(out$cf_d, 0.035 * limits[1L])
  out$cf_y <- pmax(out$cf_y, 0.03 * limits[2L])
  out
}

plot_sensitivity_contour <- function(sens, term, bound, grid, cf_max) {
  dat <- sensitivity_contour_data(sens, term, bound, grid, cf_max)
  what <- if (bound == "theta") "bound on the estimate" else "bias-aware CI bound"
  p <- ggplot2::ggplot(dat$surface, ggplot2::aes(x = .data$cf_d, y = .data$cf_y))
  if (length(dat$levels)) {
    p <- p + ggplot2::geom_contour(ggplot2::aes(z = .data$value), breaks = dat$levels,
                                   colour = "grey55", linewidth = 0.4)
  }
  if (dat$null_contour) {
    p <- p + ggplot2::geom_contour(ggplot2::aes(z = .data$value), breaks = dat$null,
                                   colour = "red", linewidth = 1.1)
  }
  p <- p +
    ggplot2::geom_label(data = dat$labels, ggplot2::aes(label = .data$label), size = 2.8,
                        colour = "grey35", fill = "white", label.size = 0,
                        label.padding = ggplot2::unit(0.1, "lines")) +
    ggplot2::geom_point(data = dat$benchmarks, shape = 15, size = 2.2, colour = "navy") +
    ggplot2::geom_text(data = dat$benchmarks, ggplot2::aes(label = .data$label), size = 3,
                       colour = "navy", hjust = -0.15, vjust = -0.4) +
    ggplot2::geom_point(data = dat$rv, shape = 18, size = 3.4, colour = "red3") +
    ggplot2::geom_text(data = dat$rv, ggplot2::aes(label = .data$label), size = 3,
                       colour = "red3", hjust = -0.2, vjust = 1.4) +
    ggplot2::geom_point(data = dat$scenario, shape = 17, size = 2.8) +
    ggplot2::geom_text(data = dat$scenario, ggplot2::aes(label = .data$label), size = 3,
                       hjust = -0.08, vjust = -0.9) +
    ggplot2::scale_x_continuous(limits = c(0, dat$limits[1L]),
                                expand = ggplot2::expansion(mult = c(0, 0.02))) +
    ggplot2::scale_y_continuous(limits = c(0, dat$limits[2L]),
                                expand = ggplot2::expansion(mult = c(0, 0.02))) +
    ggplot2::labs(
      x = "cf_d (confounder's strength on the treatment)",
      y = "cf_y (confounder's strength on the outcome)",
      title = sprintf("Sensitivity of %s", dat$term),
      subtitle = sprintf("%s %s (%s); rho = %g, level = %g",
                         if (dat$side == "lower") "lower" else "upper", what, dat$column,
                         dat$rho, dat$level),
      caption = paste0(sprintf(paste0("red: the bound equals the null (%g); triangle: the ",
                                      "scenario; diamond: the robustness value; squares: ",
                                      "benchmarks"), dat$null),
                       if (length(dat$off_axes)) paste0("\n", paste(dat$off_axes, collapse = "; ")))) +
    ggplot2::theme(plot.title.position = "plot", plot.caption.position = "plot",
                   plot.caption = ggplot2::element_text(hjust = 0))
  p
}

# Long table of the three intervals of every term in plotting order (the thick sampling CI
# first, then the bounds, then the thin bias-aware CI on top), and the estimates.
sensitivity_bounds_data <- function(sens, term = NULL) {
  terms <- sensitivity_terms(sens, term, all = TRUE, several = TRUE)
  tab <- as.data.frame(sens$table)
  tab <- tab[match(terms, tab$term), , drop = FALSE]
  level <- sens$scenario$level
  z <- stats::qnorm(1 - (1 - level) / 2)
  kinds <- c(sprintf("%g%% sampling CI", 100 * level), "bounds under the scenario",
             sprintf("%g%% bias-aware CI", 100 * level))
  term_factor <- function(x) factor(x, levels = rev(terms))
  intervals <- data.frame(
    term = term_factor(rep(tab$term, 3L)),
    kind = factor(rep(kinds, each = nrow(tab)), levels = kinds),
    from = c(tab$estimate - z * tab$std.error, tab$theta_lower, tab$ci_lower),
    to = c(tab$estimate + z * tab$std.error, tab$theta_upper, tab$ci_upper))
  list(intervals = intervals, kinds = kinds,
       estimates = data.frame(term = term_factor(tab$term), estimate = tab$estimate),
       table = tab)
}

plot_sensitivity_bounds <- function(sens, term) {
  dat <- sensitivity_bounds_data(sens, term)
  sc <- sens$scenario
  one <- function(x) length(unique(x)) == 1L
  scenario <- if (one(sc$cf_y) && one(sc$cf_d) && one(sc$rho)) {
    sprintf("cf_y = %g, cf_d = %g, rho = %g", sc$cf_y[1L], sc$cf_d[1L], sc$rho[1L])
  } else {
    "per-term scenarios (see the table)"
  }
  if (isTRUE(sc$signed)) scenario <- paste(scenario, "(signed)")
  estimand <- if (is.null(sens$estimand)) "estimate" else sens$estimand
  ggplot2::ggplot(dat$intervals, ggplot2::aes(y = .data$term)) +
    ggplot2::geom_vline(xintercept = sc$null, linetype = "dashed", colour = "grey40") +
    ggplot2::geom_segment(ggplot2::aes(x = .data$from, xend = .data$to, yend = .data$term,
                                       colour = .data$kind, linewidth = .data$kind),
                          na.rm = TRUE) +
    ggplot2::geom_point(data = dat$estimates, ggplot2::aes(x = .data$estimate), size = 2.6,
                        shape = 21, fill = "white", colour = "black", stroke = 0.9) +
    ggplot2::scale_colour_manual(values = stats::setNames(c("grey70", "steelblue", "black"),
                                                          dat$kinds), name = NULL) +
    ggplot2::scale_linewidth_manual(values = stats::setNames(c(4.5, 1.8, 0.5), dat$kinds),
                                    name = NULL) +
    ggplot2::labs(x = sprintf("%s (dashed: null = %g)", estimand, sc$null),
                  y = NULL, title = "Sensitivity bounds",
                  subtitle = sprintf("%s; bias-aware CI one-sided at %g per end", scenario,
                                     sc$level)) +
    ggplot2::theme(plot.title.position = "plot", legend.position = "bottom")
}
