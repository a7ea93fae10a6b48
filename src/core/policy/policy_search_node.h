// PolicySearchNode: one node of the exact policy-tree search (DESIGN.md §4, "Decide": exhaustive
// shallow policy trees; Sverdrup, Kanodia, Zhou, Athey & Wager 2020, "policytree: Policy learning
// via doubly robust empirical welfare maximization over trees"; Athey & Wager 2021, "Policy
// learning with observational data"). It holds the rows of a node with their reward vectors
// Gamma[i, 1..A] (row-major copies) and, per covariate j, the FeatureBins bins of those rows
// compressed to "levels": the distinct bins present in the node, in increasing order, numbered
// 0..K_j - 1. A split "at level b" of column j sends the rows with level <= b left; it is the
// split at the original bin bin_of_level(j, b), i.e. x <= (bin edge) of FeatureBins.
//
// On a node it finds, exactly over the node's candidate splits (every level but the last of
// every column), the reward-maximising tree of depth 0, 1 or 2, where a tree's reward is
// sum_i Gamma[i, action(leaf(i))] and every leaf takes the action with the largest reward sum
// of its rows (ties: the lowest action). A tree of depth k may have shallower leaves; a split is
// admissible when each side holds at least min_node_size rows, and a split is taken over a leaf
// only when it beats the leaf by more than `tie_tolerance` (so equal rewards give the leaf).
// Among splits with equal rewards the lowest (column, level) wins; combination is in a fixed
// order, so results do not depend on the thread count.
//  - depth 1: per column, reward sums and counts by level, one prefix scan: O(n p A + p K A).
//  - depth 2: per (root column j, second column j') the 2-D histogram H[b][b'][a] of reward sums
//    (and counts) is built in one pass; sweeping the root level b upwards (downwards) the left
//    (right) side's per-level sums over j' are kept as running sums of the rows of H, and the
//    side's best depth-1 split on j' is a prefix scan. The best side subtree is the best over j'
//    (or its leaf), so the exact depth-2 optimum costs O(n p^2 A + p^2 K^2 A). The (j, j') pairs
//    run as tasks on the runner.
#ifndef FASTDML_POLICY_POLICY_SEARCH_NODE_H
#define FASTDML_POLICY_POLICY_SEARCH_NODE_H

#include <cstdint>
#include <limits>
#include <vector>

#include "core/learners/feature_bins.h"
#include "core/util/task_runner.h"

namespace fastdml {

// A (sub)tree found by the search, in preorder: nodes[0] is its root. A split node has var >= 0
// and bin (an original FeatureBins bin: rows with bin <= bin go to `left`, the others to
// `right`, both indices into nodes); a leaf has var = -1 and its 0-based action. value is the
// tree's reward on the node's rows as accumulated by the search.
struct PolicySubtree {
  struct Node {
    int var = -1;
    int bin = 0;
    int action = 0;
    int left = -1;
    int right = -1;
  };
  double value = -std::numeric_limits<double>::infinity();
  std::vector<Node> nodes;

  static PolicySubtree leaf(double value, int action);
  // The split of column var at bin with the two subtrees as children (value: their sum).
  static PolicySubtree split(int var, int bin, const PolicySubtree& left,
                             const PolicySubtree& right);
};

class PolicySearchNode {
 public:
  // The node holding `rows` (row indices of bins, increasing) with rewards gamma (n x A,
  // column-major, n = bins.n()); the levels are computed column by column on the runner.
  PolicySearchNode(const FeatureBins& bins, const double* gamma, int n_actions,
                   std::vector<int> rows, const TaskRunner& runner);

  int size() const { return static_cast<int>(rows_.size()); }
  int p() const { return static_cast<int>(levels_.size()); }
  const std::vector<int>& rows() const { return rows_; }
  int n_levels(int j) const { return static_cast<int>(bin_of_level_[j].size()); }
  int bin_of_level(int j, int level) const { return bin_of_level_[j][level]; }
  // Rows per level of column j.
  const std::vector<int>& level_counts(int j) const { return level_counts_[j]; }

  // The node of the rows whose level of column j is <= level (left) or > level (!left).
  PolicySearchNode child(int j, int level, bool left, const TaskRunner& runner) const;

  // The best leaf: the action with the largest reward sum (summed in row order).
  PolicySubtree best_leaf() const;
  // The best tree of depth <= 1 and <= 2 (see the banner).
  PolicySubtree best_depth1(int min_node_size, double tie_tolerance,
                            const TaskRunner& runner) const;
  PolicySubtree best_depth2(int min_node_size, double tie_tolerance,
                            const TaskRunner& runner) const;

 private:
  // The best depth-1 split of a side given its reward sums (K x A, row-major) and row counts
  // by level, its reward totals and its row count; level = -1 when no split is admissible.
  struct SideSplit {
    double value = -std::numeric_limits<double>::infinity();
    double value_left = 0.0;
    double value_right = 0.0;
    int level = -1;
    int action_left = 0;
    int action_right = 0;
  };
  // Reward sums (K_j x A, row-major) by level of column j over the node's rows, in row order.
  void level_sums(int j, std::vector<double>& sums) const;
  static void scan_side(const double* sums, const int* counts, int n_levels, int n_actions,
                        const double* total, long long n_side, int min_node_size,
                        std::vector<double>& scratch, SideSplit& best);
  // The better of a side's leaf (reward sums `totals`) and its best depth-1 split among
  // candidates[0..p) (var = -1: the leaf), and its subtree.
  struct SideChoice {
    double value = 0.0;
    int var = -1;
    int action = 0;
    const SideSplit* split = nullptr;
  };
  SideChoice side_choice(const double* totals, const SideSplit* candidates,
                         double tie_tolerance) const;
  PolicySubtree side_subtree(const SideChoice& choice) const;

  const FeatureBins* bins_;
  const double* gamma_;
  int n_actions_;
  std::vector<int> rows_;
  std::vector<double> rewards_;                       // size x A, row-major
  std::vector<std::vector<std::uint8_t>> levels_;     // per column, per position
  std::vector<std::vector<int>> bin_of_level_;
  std::vector<std::vector<int>> level_counts_;
};

}  // namespace fastdml

#endif
