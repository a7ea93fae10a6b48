# autoplot() of sensitivity(): the contour of the bound nearest the null over (cf_d, cf_y),
# drawn from one sensitivity_grid() call, and the bounds of every term.

sensitivity_plot_fits <- function() {
  spec <- causal_data(sim_lesson(600, seed = 1), "outcome", "treatment",
                      c("age", "browsing_time", "income"))
  binary <- collect_warnings(dml_irm(spec, learner_outcome = lrn_linear(),
                                     learner_treatment = lrn_logistic(), seed = 1))$value
  d <- sim_cx(n = 3000, seed = 1)
  mspec <- causal_data(d, "y", "arm", c("age", "risk_latent", "prev_apps", "prev_util"),
                       control = "control")
  multi <- collect_warnings(dml_multi_irm(mspec, learner_outcome = lrn_logistic(),
                                          learner_treatment = lrn_logistic(), n_rep = 2,
                                          seed = 1))$value
  list(binary = binary, multi = multi)
}
sens_fits <- sensitivity_plot_fits()
sens_binary <- sensitivity(sens_fits$binary, cf_y = 0.03, cf_d = 0.03)
sens_multi <- sensitivity(sens_fits$multi, cf_y = 0.05, cf_d = 0.05)

# A benchmark table written by hand (the columns the plot reads).
with_benchmarks <- function(sens, terms, cf_y = c(0.02, 0.4), cf_d = c(0.01, 0.2)) {
  sens$benchmarks <- data.frame(term = rep(terms, each = length(cf_y)),
                                drop = rep(c("age", "income+prev_util"), length.out = length(cf_y)),
                                cf_y = cf_y, cf_d = cf_d, rho = 1, theta_long = 0,
                                theta_short = 0, delta = 0)
  sens
}

# Builds the plot without warnings or errors; returns the built data of every layer.
expect_builds <- function(p) {
  expect_s3_class(p, "ggplot")
  built <- NULL
  expect_no_warning(built <- ggplot2::ggplot_build(p))
  expect_true(all(vapply(built$data, is.data.frame, logical(1))))
  invisible(built)
}

test_that("contour and bounds plots build for binary and multi-arm fits, with and without benchmarks", {
  multi_terms <- sens_multi$table$term
  cases <- list(binary = sens_binary,
                binary_bench = with_benchmarks(sens_binary, sens_binary$table$term),
                multi = sens_multi,
                multi_bench = with_benchmarks(sens_multi, multi_terms[2:3],
                                              cf_y = c(0.02, 0.4, 0.01, 0.1),
                                              cf_d = c(0.01, 0.2, 0.03, 0.3)))
  for (name in names(cases)) {
    sens <- cases[[name]]
    for (bound in c("theta", "ci")) {
      built <- expect_builds(ggplot2::autoplot(sens, bound = bound, grid = 30))
    }
    expect_builds(ggplot2::autoplot(sens, type = "bounds"))
  }
  for (k in seq_along(multi_terms)) {
    p <- ggplot2::autoplot(cases$multi_bench, term = k, grid = 25)
    expect_builds(p)
    expect_identical(p$labels$title, sprintf("Sensitivity of %s", multi_terms[k]))
    expect_identical(p$labels$x, "cf_d (confounder's strength on the treatment)")
    expect_identical(p$labels$y, "cf_y (confounder's strength on the outcome)")
  }
  # by name, the same plot data as by index
  expect_equal(ggplot2::autoplot(sens_multi, term = multi_terms[3], grid = 10)$data,
               ggplot2::autoplot(sens_multi, term = 3, grid = 10)$data)
  # the default plot is the contour of the first term with a 100 x 100 grid
  p <- ggplot2::autoplot(sens_binary)
  expect_identical(nrow(p$data), 100L * 100L)
  expect_identical(p$labels$title, sprintf("Sensitivity of %s", sens_binary$table$term[1]))
  expect_match(p$labels$subtitle, "rho = 1, level = 0.95", fixed = TRUE)
})

test_that("the contour plot draws the values of sensitivity_grid()", {
  for (sens in list(sens_binary, sens_multi)) {
    g <- if (sens$n_rep > 1) 15L else 40L  # repeated fits: a median per point
    for (term in sens$table$term) {
      for (bound in c("theta", "ci")) {
        dat <- fastdml:::sensitivity_contour_data(sens, term, bound, grid = g)
        expect_identical(dat$cf_d, seq(0, dat$limits[1], length.out = g))
        expect_identical(dat$cf_y, seq(0, dat$limits[2], length.out = g))
        ref <- fastdml:::sensitivity_grid(sens, cf_d = dat$cf_d, cf_y = dat$cf_y, term = term,
                                          bound = bound)
        expect_equal(matrix(dat$surface$value, g, g), unname(as.matrix(ref)),
                     tolerance = 1e-14, ignore_attr = TRUE)
        expect_identical(dat$surface$cf_d, rep(dat$cf_d, g))
        expect_identical(dat$surface$cf_y, rep(dat$cf_y, each = g))
        # the plot's data (the input of every contour layer) is that surface
        p <- ggplot2::autoplot(sens, term = term, bound = bound, grid = g)
        expect_identical(p$data, dat$surface)
        contours <- which(vapply(p$layers, function(l) inherits(l$geom, "GeomContour"),
                                 logical(1)))
        expect_length(contours, (length(dat$levels) > 0) + dat$null_contour)
        for (k in contours) expect_s3_class(p$layers[[k]]$data, "waiver")
      }
    }
  }
})

test_that("the marked points and the null contour agree with the table and the grid", {
  for (sens in list(sens_binary, sens_multi)) {
    null <- sens$scenario$null
    for (term in sens$table$term) {
      row <- sens$table[sens$table$term == term, ]
      side <- if (row$estimate > null) "lower" else "upper"
      for (bound in c("theta", "ci")) {
        column <- paste0(bound, "_", side)
        dat <- fastdml:::sensitivity_contour_data(sens, term, bound, grid = 20)
        expect_identical(dat$column, column)
        expect_equal(dat$scenario$value, row[[column]])
        expect_equal(c(dat$scenario$cf_d, dat$scenario$cf_y), c(row$cf_d, row$cf_y))
        # a 3 x 3 grid through the scenario point: its grid value is the table's bound
        mid <- fastdml:::sensitivity_contour_data(sens, term, bound, grid = 3,
                                                  cf_max = 2 * c(row$cf_d, row$cf_y))
        expect_equal(matrix(mid$surface$value, 3)[2, 2], row[[column]], tolerance = 1e-10)
        # and through the robustness value on the diagonal: the bound equals the null there
        rv <- if (bound == "theta") row$rv else row$rva
        if (is.finite(rv) && rv > 0 && rv < 0.49) {
          expect_equal(c(dat$rv$cf_d, dat$rv$cf_y), c(rv, rv))
          at_rv <- fastdml:::sensitivity_contour_data(sens, term, bound, grid = 3, cf_max = 2 * rv)
          expect_equal(matrix(at_rv$surface$value, 3)[2, 2], null, tolerance = 1e-6)
        }
        # default axes: a quarter beyond the scenario and the robustness value
        rv_shown <- if (is.finite(rv) && rv < 1) rv
        expect_equal(dat$limits, c(min(0.99, 1.25 * max(row$cf_d, rv_shown)),
                                   1.25 * max(row$cf_y, rv_shown)))
        if (length(rv_shown) && rv_shown > 0.99) {
          # beyond the cf_d axis: not drawn, named in the caption
          expect_identical(nrow(dat$rv), 0L)
          expect_match(dat$off_axes, "off the axes")
          expect_builds(ggplot2::autoplot(sens, term = term, bound = bound, grid = 20))
        }
      }
    }
  }
  # the red contour lies where the bound equals the null (checked point by point)
  sens <- sens_multi
  row <- sens$table[which(sens$table$rv > 0.01 & sens$table$rv < 0.3)[1], ]
  p <- ggplot2::autoplot(sens, term = row$term, grid = 80, cf_max = 3 * row$rv)
  built <- ggplot2::ggplot_build(p)
  red <- built$data[[which(vapply(built$data, function(d) identical(unique(d$colour), "red"),
                                  logical(1)))]]
  expect_true(nrow(red) > 10)
  expect_true(all(red$colour == "red"))
  on_line <- mapply(function(x, y) {
    fastdml:::sensitivity_grid(sens, cf_d = x, cf_y = y, term = row$term, bound = "theta")
  }, red$x, red$y)
  spread <- diff(range(p$data$value))
  expect_lt(max(abs(on_line - sens$scenario$null)), 1e-3 * spread)
})

test_that("benchmarks are marked on their own term and widen the default axes", {
  terms <- sens_multi$table$term
  sens <- with_benchmarks(sens_multi, terms[2], cf_y = c(0.02, 0.4), cf_d = c(0.01, 0.95))
  dat <- fastdml:::sensitivity_contour_data(sens, terms[2], grid = 5)
  expect_equal(dat$benchmarks$cf_d, c(0.01, 0.95))
  expect_equal(dat$benchmarks$cf_y, c(0.02, 0.4))
  expect_identical(dat$benchmarks$label, c("age", "income+prev_util"))
  expect_equal(dat$limits, c(0.99, 1.25 * 0.4))  # cf_d capped at 0.99
  p <- ggplot2::autoplot(sens, term = terms[2], grid = 20)
  built <- expect_builds(p)
  texts <- unlist(lapply(built$data, function(d) d$label))
  expect_true(all(c("age", "income+prev_util") %in% texts))
  # a benchmark beyond explicit axes is left out and named in the caption
  small <- fastdml:::sensitivity_contour_data(sens, terms[2], grid = 5, cf_max = c(0.5, 0.3))
  expect_identical(small$benchmarks$label, "age")
  p <- ggplot2::autoplot(sens, term = terms[2], grid = 20, cf_max = c(0.5, 0.3))
  expect_match(p$labels$caption, "1 benchmark off the axes", fixed = TRUE)
  expect_builds(p)
  # another term: no benchmark points
  other <- fastdml:::sensitivity_contour_data(sens, terms[1], grid = 5)
  expect_identical(nrow(other$benchmarks), 0L)
  expect_builds(ggplot2::autoplot(sens, term = terms[1], grid = 20))
  # explicit axes
  expect_equal(fastdml:::sensitivity_contour_data(sens, 1, grid = 4, cf_max = c(0.5, 2))$limits,
               c(0.5, 2))
  expect_equal(fastdml:::sensitivity_contour_data(sens, 1, grid = 4, cf_max = 0.2)$limits,
               c(0.2, 0.2))
})

test_that("the bounds plot shows the estimate, the sampling CI, the bounds and the bias-aware CI", {
  for (sens in list(sens_binary, sens_multi)) {
    tab <- sens$table
    p <- ggplot2::autoplot(sens, type = "bounds")
    built <- expect_builds(p)
    dat <- fastdml:::sensitivity_bounds_data(sens)
    z <- qnorm(0.975)
    expect_identical(as.character(p$data$term), rep(tab$term, 3))
    expect_equal(p$data$from, c(tab$estimate - z * tab$std.error, tab$theta_lower, tab$ci_lower))
    expect_equal(p$data$to, c(tab$estimate + z * tab$std.error, tab$theta_upper, tab$ci_upper))
    expect_identical(levels(p$data$kind),
                     c("95% sampling CI", "bounds under the scenario", "95% bias-aware CI"))
    # the first term on top
    expect_identical(levels(p$data$term), rev(tab$term))
    expect_equal(dat$estimates$estimate, tab$estimate)
    # a vertical line at the null and a legend for the three intervals
    expect_identical(built$data[[1]]$xintercept, sens$scenario$null)
    expect_identical(built$plot$theme$legend.position, "bottom")
    expect_length(unique(built$data[[2]]$linewidth), 3L)
  }
  # a subset of terms
  p <- ggplot2::autoplot(sens_multi, type = "bounds", term = c(3, 1))
  expect_identical(levels(p$data$term), rev(sens_multi$table$term[c(3, 1)]))
  # another level in the object
  sens90 <- sensitivity(sens_fits$binary, cf_y = 0.03, cf_d = 0.03, level = 0.9)
  p <- ggplot2::autoplot(sens90, type = "bounds")
  tab <- sens90$table
  expect_equal(p$data$to[1], tab$estimate + qnorm(0.95) * tab$std.error)
  expect_identical(levels(p$data$kind)[1], "90% sampling CI")
})

test_that("bad arguments are classed argument errors", {
  expect_error(ggplot2::autoplot(sens_binary, type = "heatmap"), class = "fastdml_error_argument")
  expect_error(ggplot2::autoplot(sens_binary, bound = "se"), class = "fastdml_error_argument")
  for (term in list("nope", 0, 2, 1.5, NA, c(1, 1))) {
    expect_error(ggplot2::autoplot(sens_binary, term = term), class = "fastdml_error_argument")
  }
  expect_error(ggplot2::autoplot(sens_multi, term = 4), class = "fastdml_error_argument")
  expect_error(ggplot2::autoplot(sens_multi, type = "bounds", term = c(1, 9)),
               class = "fastdml_error_argument")
  for (grid in list(1, 0, -5, NA, 2.5, "10", c(10, 20), Inf)) {
    expect_error(ggplot2::autoplot(sens_binary, grid = grid), class = "fastdml_error_argument")
  }
  for (cf_max in list(1, c(0.5, 0), c(-0.1, 1), "a", c(0.1, 0.2, 0.3), NA)) {
    expect_error(ggplot2::autoplot(sens_binary, cf_max = cf_max), class = "fastdml_error_argument")
  }
  expect_s3_class(ggplot2::autoplot(sens_binary, grid = 2), "ggplot")
})
