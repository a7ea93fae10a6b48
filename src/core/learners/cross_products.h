// Design algebra shared by the learners. Cross products of the design [1, z] with extra
// columns: for rows R, C = sum_{i in R} a_i a_i' with a_i = (1, z_i, t_1i, ..., t_Ti), z the
// standardised covariates and t the target columns; its blocks are the Gram matrix Z'Z and the
// moments Z't of the linear learner (DESIGN.md §5: per-fold Gram matrices). Rows are processed
// in blocks (a level-3 rank update per block); the chunked version adds fixed-size chunks in
// order (sum_over_chunks), so the result does not depend on the number of threads. Also: the
// penalised normal-equation solve and linear predictors.
#ifndef FASTDML_LEARNERS_CROSS_PRODUCTS_H
#define FASTDML_LEARNERS_CROSS_PRODUCTS_H

#include <Eigen/Dense>
#include <vector>

#include "core/data/data_view.h"
#include "core/util/task_runner.h"

namespace fastdml {

// Returns C (lower triangle and upper triangle filled) of size (p + 1 + T) square for the rows
// rows[begin, end).
Eigen::MatrixXd cross_products(const DataView& data, const std::vector<int>& rows, size_t begin,
                               size_t end, const std::vector<const double*>& targets);

// The same over all rows, split into chunks run on the runner's threads.
Eigen::MatrixXd cross_products_chunked(const DataView& data, const std::vector<int>& rows,
                                       const std::vector<const double*>& targets,
                                       const TaskRunner& runner);

// Solves (A + ridge * I_0) b = rhs, where I_0 is the identity without its (0, 0) entry (the
// intercept is not penalised). LDLT when A is well conditioned, otherwise the minimum-norm
// solution of a complete orthogonal decomposition (fitted values as lm() with aliased columns).
Eigen::MatrixXd solve_normal_equations(const Eigen::MatrixXd& A, const Eigen::MatrixXd& rhs,
                                       double ridge);

// Linear predictors [1, z_i] coef for each of rows and each column t of coef (q x T); writes
// out[r + t * out_stride] for r = 0..rows.size()-1.
void linear_predictor(const DataView& data, const std::vector<int>& rows,
                      const Eigen::MatrixXd& coef, double* out, long long out_stride);

}  // namespace fastdml

#endif
