// DataView: a non-owning, column-major view of the covariate matrix X (n x p) held in R memory
// (DESIGN.md §2, "Zero-copy, column-major"). It also holds each column's mean and standard
// deviation so that learners work on standardised covariates z = (x - mean) / sd without a copy:
// design blocks [1, z_1, ..., z_p] are gathered row block by row block on demand. A view built
// with standardize = false uses the columns as they are (centre 0, scale 1): the R layer passes
// covariates already rotated onto their principal axes that way when p >= n (DESIGN.md §6).
#ifndef FASTDML_DATA_DATA_VIEW_H
#define FASTDML_DATA_DATA_VIEW_H

#include <Eigen/Dense>

#include "core/util/task_runner.h"

namespace fastdml {

class DataView {
 public:
  // X: pointer to n * p doubles, column-major. The memory must outlive the view. Column
  // statistics are computed column by column on the runner's threads (unless standardize is
  // false).
  DataView(const double* X, int n, int p, const TaskRunner& runner, bool standardize = true);

  int n() const { return n_; }
  int p() const { return p_; }
  // Number of design columns: intercept + p standardised covariates.
  int n_design() const { return p_ + 1; }
  const Eigen::VectorXd& center() const { return center_; }
  const Eigen::VectorXd& scale() const { return scale_; }
  double x(int row, int col) const { return X_[static_cast<long long>(col) * n_ + row]; }

  // Writes the design rows [1, z] of rows[0..m) into the first n_design() columns of block
  // (block must have at least m rows).
  void fill_design(const int* rows, int m, Eigen::MatrixXd& block) const;

 private:
  const double* X_;
  int n_;
  int p_;
  Eigen::VectorXd center_;
  Eigen::VectorXd scale_;
};

}  // namespace fastdml

#endif
