// Cross products of the design [1, z] with extra columns: for rows R and per-row weights v_i,
// C = sum_{i in R} v_i a_i a_i' with a_i = (1, z_i, t_1i, ..., t_Ti), z standardised covariates
// and t the target columns. Its blocks give the Gram matrix Z'VZ and the moments Z'V t used by
// the linear learner (DESIGN.md §5: per-fold Gram matrices) and by each IRLS step of the
// logistic learner. Rows are processed in blocks (a level-3 rank update per block), and the
// row list is split into fixed-size chunks whose partial sums are added in chunk order, so the
// result does not depend on the number of threads.
#ifndef FASTDML_LEARNERS_CROSS_PRODUCTS_H
#define FASTDML_LEARNERS_CROSS_PRODUCTS_H

#include <Eigen/Dense>
#include <vector>

#include "core/data/data_view.h"
#include "core/util/task_runner.h"

namespace fastdml {

// Rows per chunk: fixed, never derived from the thread count.
constexpr int kRowsPerChunk = 32768;

// Returns C (lower triangle and upper triangle filled) of size (p + 1 + T) square for the rows
// rows[begin, end). row_weights (length n, or nullptr for 1) must be non-negative.
Eigen::MatrixXd cross_products(const DataView& data, const std::vector<int>& rows, size_t begin,
                               size_t end, const std::vector<const double*>& targets,
                               const double* row_weights);

// The same over all rows, split into chunks run on the runner's threads.
Eigen::MatrixXd cross_products_chunked(const DataView& data, const std::vector<int>& rows,
                                       const std::vector<const double*>& targets,
                                       const double* row_weights, const TaskRunner& runner);

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
