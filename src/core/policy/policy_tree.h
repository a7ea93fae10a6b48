// PolicyTree: the exact reward-maximising policy tree of a given depth (DESIGN.md §4, "Decide":
// exhaustive shallow policy trees; Sverdrup, Kanodia, Zhou, Athey & Wager 2020, "policytree:
// Policy learning via doubly robust empirical welfare maximization over trees"; Athey & Wager
// 2021, "Policy learning with observational data"). Given covariates binned by FeatureBins and
// an n x A matrix of rewards Gamma (e.g. doubly robust scores minus costs), fit() finds a tree of
// depth <= `depth` maximising sum_i Gamma[i, action(leaf(i))], each leaf taking the action with
// the largest reward sum of its rows, every leaf holding at least min_node_size rows.
//
// Candidate splits. The thresholds of column j are its FeatureBins bin edges: a column with at
// most max_bins - 1 distinct values has one bin per value (edges at the midpoints), so the
// search is exact over every split of the data, as policytree's; a continuous column is cut at
// its quantile bin edges, and the search is exact over those. Rows with x <= threshold go left.
//
// Search (exact over the candidates). Depth 0, 1 and 2 are solved on level histograms by
// PolicySearchNode (depth 2 in O(n p^2 A + p^2 B^2 A) with B bins per column, the (j, j')
// column pairs in parallel: about 0.2 s for n = 10^5, p = 10, 255 bins, half of it binning).
// Depth k >= 3 recurses: every admissible root split (column, bin) is a task that partitions
// the rows and solves depth k - 1 on both sides, so depth 3 costs about 2 p B depth-2 searches
// on the two sides, O(p B (n p^2 A + p^2 B^2 A)): much slower than depth 2 (2 threads: 0.4 s
// for n = 2000, p = 4, 50 values per column; about 2 minutes for n = 10^4 and 4 minutes for
// n = 10^5 with p = 10, 255 bins). A split replaces a leaf only when it beats it by more than
// kTieTolerance * sum_i max_a |Gamma[i, a]|, so equal rewards give the leaf (a split whose
// children are both leaves never gives them the same action); among equal splits the lowest
// (column, bin) wins. Candidates are combined in a fixed order, so the tree is bit-identical
// for any thread count. reward() is recomputed from the rows in long double.
//
// Layout (preorder, node 0 the root): var[k] is the 0-based split column (-1 for a leaf),
// threshold[k] its threshold, left[k]/right[k] the child nodes (-1 for a leaf), action[k] the
// 0-based action of a leaf (-1 for a split), size[k] the training rows reaching node k.
#ifndef FASTDML_POLICY_POLICY_TREE_H
#define FASTDML_POLICY_POLICY_TREE_H

#include <vector>

#include "core/learners/feature_bins.h"
#include "core/policy/policy_search_node.h"
#include "core/util/task_runner.h"

namespace fastdml {

struct PolicyTreeOptions {
  int depth = 2;            // >= 0
  int min_node_size = 1;    // >= 1: rows per leaf
};

class PolicyTree {
 public:
  static constexpr double kTieTolerance = 1e-12;

  // Fits the tree on the binned covariates (no missing values) and rewards gamma (n x n_actions,
  // column-major, n = bins.n()).
  static PolicyTree fit(const FeatureBins& bins, const double* gamma, int n_actions,
                        const PolicyTreeOptions& options, const TaskRunner& runner);
  // A stored tree (the layout above; size and reward are not needed to predict).
  PolicyTree(std::vector<int> var, std::vector<double> threshold, std::vector<int> left,
             std::vector<int> right, std::vector<int> action);

  // The 0-based action of each row of X (n x p, column-major; NaN goes right).
  std::vector<int> predict(const double* X, int n, int p, const TaskRunner& runner) const;

  const std::vector<int>& var() const { return var_; }
  const std::vector<int>& bin() const { return bin_; }
  const std::vector<double>& threshold() const { return threshold_; }
  const std::vector<int>& left() const { return left_; }
  const std::vector<int>& right() const { return right_; }
  const std::vector<int>& action() const { return action_; }
  const std::vector<int>& size() const { return size_; }
  double reward() const { return reward_; }
  int n_nodes() const { return static_cast<int>(var_.size()); }

 private:
  PolicyTree() = default;
  static PolicySubtree search(const PolicySearchNode& node, int depth, int min_node_size,
                              double tie_tolerance, const TaskRunner& runner);
  void validate() const;

  std::vector<int> var_;
  std::vector<int> bin_;
  std::vector<double> threshold_;
  std::vector<int> left_;
  std::vector<int> right_;
  std::vector<int> action_;
  std::vector<int> size_;
  double reward_ = 0.0;
};

}  // namespace fastdml

#endif
