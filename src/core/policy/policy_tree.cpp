// PolicyTree: see policy_tree.h (DESIGN.md §4, "Decide"; Sverdrup et al. 2020, "policytree";
// Athey & Wager 2021). The depth recursion over root splits, the conversion of the search's
// subtree to the stored layout with real thresholds, the training reward, and prediction.
#include "core/policy/policy_tree.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace fastdml {

PolicySubtree PolicyTree::search(const PolicySearchNode& node, int depth, int min_node_size,
                                 double tie_tolerance, const TaskRunner& runner) {
  if (depth <= 0) return node.best_leaf();
  if (depth == 1) return node.best_depth1(min_node_size, tie_tolerance, runner);
  if (depth == 2) return node.best_depth2(min_node_size, tie_tolerance, runner);
  PolicySubtree leaf = node.best_leaf();
  const long long m = node.size(), min_size = min_node_size;
  if (m < 2 * min_size) return leaf;
  std::vector<std::pair<int, int>> candidates;
  for (int j = 0; j < node.p(); ++j) {
    const std::vector<int>& counts = node.level_counts(j);
    long long n_left = 0;
    for (int b = 0; b + 1 < node.n_levels(j); ++b) {
      n_left += counts[b];
      if (n_left >= min_size && m - n_left >= min_size) candidates.emplace_back(j, b);
    }
  }
  std::vector<PolicySubtree> results(candidates.size());
  runner.run(static_cast<int>(candidates.size()), [&](int c) {
    const TaskRunner inner = runner.nested();
    const int j = candidates[c].first, b = candidates[c].second;
    const PolicySubtree left =
        search(node.child(j, b, true, inner), depth - 1, min_node_size, tie_tolerance, inner);
    const PolicySubtree right =
        search(node.child(j, b, false, inner), depth - 1, min_node_size, tie_tolerance, inner);
    results[c] = PolicySubtree::split(j, node.bin_of_level(j, b), left, right);
  });
  int best = -1;
  for (int c = 0; c < static_cast<int>(results.size()); ++c) {
    if (best < 0 || results[c].value > results[best].value) best = c;
  }
  if (best < 0 || !(results[best].value > leaf.value + tie_tolerance)) return leaf;
  return std::move(results[best]);
}

PolicyTree PolicyTree::fit(const FeatureBins& bins, const double* gamma, int n_actions,
                           const PolicyTreeOptions& options, const TaskRunner& runner) {
  const int n = bins.n(), p = bins.p();
  if (options.depth < 0) throw std::invalid_argument("PolicyTree: depth must be >= 0");
  if (options.min_node_size < 1) throw std::invalid_argument("PolicyTree: min_node_size must be >= 1");
  if (n_actions < 1) throw std::invalid_argument("PolicyTree: at least one action is needed");
  if (n < 1 || p < 1) throw std::invalid_argument("PolicyTree: no rows or no covariates");
  for (int j = 0; j < p; ++j) {
    const std::uint8_t* column = bins.column(j);
    if (std::find(column, column + n, std::uint8_t{0}) != column + n) {
      throw std::invalid_argument("PolicyTree: covariates must not have missing values");
    }
  }
  long double scale = 0.0L;
  for (int i = 0; i < n; ++i) {
    double largest = 0.0;
    for (int a = 0; a < n_actions; ++a) {
      largest = std::max(largest, std::fabs(gamma[static_cast<size_t>(a) * n + i]));
    }
    scale += largest;
  }
  if (!std::isfinite(static_cast<double>(scale))) {
    throw std::invalid_argument("PolicyTree: rewards must be finite");
  }
  std::vector<int> rows(n);
  for (int i = 0; i < n; ++i) rows[i] = i;
  const PolicySearchNode root(bins, gamma, n_actions, std::move(rows), runner);
  const PolicySubtree found = search(root, options.depth, options.min_node_size,
                                     kTieTolerance * static_cast<double>(scale), runner);

  PolicyTree tree;
  const int n_nodes = static_cast<int>(found.nodes.size());
  for (const PolicySubtree::Node& node : found.nodes) {
    tree.var_.push_back(node.var);
    tree.bin_.push_back(node.var >= 0 ? node.bin : -1);
    tree.threshold_.push_back(node.var >= 0 ? bins.thresholds(node.var)[node.bin - 1]
                                            : std::numeric_limits<double>::quiet_NaN());
    tree.left_.push_back(node.var >= 0 ? node.left : -1);
    tree.right_.push_back(node.var >= 0 ? node.right : -1);
    tree.action_.push_back(node.var >= 0 ? -1 : node.action);
  }
  tree.size_.assign(n_nodes, 0);
  long double reward = 0.0L;
  for (int i = 0; i < n; ++i) {
    int k = 0;
    ++tree.size_[k];
    while (tree.var_[k] >= 0) {
      k = bins.column(tree.var_[k])[i] <= tree.bin_[k] ? tree.left_[k] : tree.right_[k];
      ++tree.size_[k];
    }
    reward += gamma[static_cast<size_t>(tree.action_[k]) * n + i];
  }
  tree.reward_ = static_cast<double>(reward);
  return tree;
}

PolicyTree::PolicyTree(std::vector<int> var, std::vector<double> threshold,
                       std::vector<int> left, std::vector<int> right, std::vector<int> action)
    : var_(std::move(var)), threshold_(std::move(threshold)), left_(std::move(left)),
      right_(std::move(right)), action_(std::move(action)) {
  bin_.assign(var_.size(), -1);
  size_.assign(var_.size(), 0);
  validate();
}

void PolicyTree::validate() const {
  const size_t nodes = var_.size();
  if (nodes == 0 || threshold_.size() != nodes || left_.size() != nodes ||
      right_.size() != nodes || action_.size() != nodes) {
    throw std::invalid_argument("PolicyTree: corrupt tree arrays");
  }
  const int count = static_cast<int>(nodes);
  for (int k = 0; k < count; ++k) {
    if (var_[k] < 0) {
      if (action_[k] < 0) throw std::invalid_argument("PolicyTree: a leaf has no action");
      continue;
    }
    // Preorder: children come after their parent, so routing always ends in a leaf.
    if (left_[k] <= k || left_[k] >= count || right_[k] <= k || right_[k] >= count) {
      throw std::invalid_argument("PolicyTree: corrupt child indices");
    }
  }
}

std::vector<int> PolicyTree::predict(const double* X, int n, int p,
                                     const TaskRunner& runner) const {
  for (int v : var_) {
    if (v >= p) throw std::invalid_argument("PolicyTree: X has too few columns");
  }
  std::vector<int> out(n);
  const int n_chunks = static_cast<int>((static_cast<long long>(n) + kRowsPerChunk - 1) / kRowsPerChunk);
  runner.run(n_chunks, [&](int c) {
    const int begin = c * kRowsPerChunk;
    const int end = std::min(n, begin + kRowsPerChunk);
    for (int i = begin; i < end; ++i) {
      int k = 0;
      while (var_[k] >= 0) {
        const double x = X[static_cast<size_t>(var_[k]) * n + i];
        k = x <= threshold_[k] ? left_[k] : right_[k];
      }
      out[i] = action_[k];
    }
  });
  return out;
}

}  // namespace fastdml
