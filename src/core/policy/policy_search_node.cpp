// PolicySearchNode: see policy_search_node.h (DESIGN.md §4, "Decide"; Sverdrup et al. 2020,
// "policytree"; Athey & Wager 2021). The node's levels, the best leaf, and the exact depth-1 and
// depth-2 searches on level histograms of the rewards.
#include "core/policy/policy_search_node.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace fastdml {

PolicySubtree PolicySubtree::leaf(double value, int action) {
  PolicySubtree out;
  out.value = value;
  Node node;
  node.action = action;
  out.nodes.push_back(node);
  return out;
}

PolicySubtree PolicySubtree::split(int var, int bin, const PolicySubtree& left,
                                   const PolicySubtree& right) {
  PolicySubtree out;
  out.value = left.value + right.value;
  Node root;
  root.var = var;
  root.bin = bin;
  root.left = 1;
  root.right = 1 + static_cast<int>(left.nodes.size());
  out.nodes.reserve(1 + left.nodes.size() + right.nodes.size());
  out.nodes.push_back(root);
  for (const PolicySubtree* part : {&left, &right}) {
    const int offset = static_cast<int>(out.nodes.size());
    for (Node node : part->nodes) {
      if (node.var >= 0) {
        node.left += offset;
        node.right += offset;
      }
      out.nodes.push_back(node);
    }
  }
  return out;
}

PolicySearchNode::PolicySearchNode(const FeatureBins& bins, const double* gamma, int n_actions,
                                   std::vector<int> rows, const TaskRunner& runner)
    : bins_(&bins), gamma_(gamma), n_actions_(n_actions), rows_(std::move(rows)) {
  const int m = size(), A = n_actions_, n = bins.n(), p_cols = bins.p();
  rewards_.resize(static_cast<size_t>(m) * A);
  for (int pos = 0; pos < m; ++pos) {
    for (int a = 0; a < A; ++a) {
      rewards_[static_cast<size_t>(pos) * A + a] = gamma_[static_cast<size_t>(a) * n + rows_[pos]];
    }
  }
  levels_.resize(p_cols);
  bin_of_level_.resize(p_cols);
  level_counts_.resize(p_cols);
  runner.run(p_cols, [&](int j) {
    const std::uint8_t* column = bins.column(j);
    std::vector<int> level_of_bin(256, -1);
    for (int pos = 0; pos < m; ++pos) level_of_bin[column[rows_[pos]]] = 0;
    std::vector<int>& bin_of_level = bin_of_level_[j];
    for (int b = 0; b < 256; ++b) {
      if (level_of_bin[b] < 0) continue;
      level_of_bin[b] = static_cast<int>(bin_of_level.size());
      bin_of_level.push_back(b);
    }
    std::vector<std::uint8_t>& levels = levels_[j];
    std::vector<int>& counts = level_counts_[j];
    levels.resize(m);
    counts.assign(bin_of_level.size(), 0);
    for (int pos = 0; pos < m; ++pos) {
      const int level = level_of_bin[column[rows_[pos]]];
      levels[pos] = static_cast<std::uint8_t>(level);
      ++counts[level];
    }
  });
}

PolicySearchNode PolicySearchNode::child(int j, int level, bool left,
                                         const TaskRunner& runner) const {
  std::vector<int> rows;
  const std::vector<std::uint8_t>& levels = levels_[j];
  for (int pos = 0; pos < size(); ++pos) {
    if ((levels[pos] <= level) == left) rows.push_back(rows_[pos]);
  }
  return PolicySearchNode(*bins_, gamma_, n_actions_, std::move(rows), runner);
}

PolicySubtree PolicySearchNode::best_leaf() const {
  const int A = n_actions_;
  std::vector<double> totals(A, 0.0);
  for (int pos = 0; pos < size(); ++pos) {
    const double* r = rewards_.data() + static_cast<size_t>(pos) * A;
    for (int a = 0; a < A; ++a) totals[a] += r[a];
  }
  const int best = static_cast<int>(std::max_element(totals.begin(), totals.end()) - totals.begin());
  return PolicySubtree::leaf(totals[best], best);
}

void PolicySearchNode::level_sums(int j, std::vector<double>& sums) const {
  const int A = n_actions_;
  sums.assign(static_cast<size_t>(n_levels(j)) * A, 0.0);
  const std::uint8_t* levels = levels_[j].data();
  for (int pos = 0; pos < size(); ++pos) {
    const double* r = rewards_.data() + static_cast<size_t>(pos) * A;
    double* out = sums.data() + static_cast<size_t>(levels[pos]) * A;
    for (int a = 0; a < A; ++a) out[a] += r[a];
  }
}

void PolicySearchNode::scan_side(const double* sums, const int* counts, int n_levels,
                                 int n_actions, const double* total, long long n_side,
                                 int min_node_size, std::vector<double>& scratch,
                                 SideSplit& best) {
  const int A = n_actions;
  scratch.assign(static_cast<size_t>(A), 0.0);
  double* left = scratch.data();
  if (n_side < 2LL * min_node_size) return;
  long long n_left = 0;
  for (int k = 0; k + 1 < n_levels; ++k) {
    if (counts[k] == 0) continue;  // same partition as the previous level
    n_left += counts[k];
    const double* s = sums + static_cast<size_t>(k) * A;
    for (int a = 0; a < A; ++a) left[a] += s[a];
    if (n_left < min_node_size) continue;
    if (n_side - n_left < min_node_size) break;
    int action_left = 0, action_right = 0;
    double value_left = left[0], value_right = total[0] - left[0];
    for (int a = 1; a < A; ++a) {
      if (left[a] > value_left) {
        value_left = left[a];
        action_left = a;
      }
      const double right = total[a] - left[a];
      if (right > value_right) {
        value_right = right;
        action_right = a;
      }
    }
    if (value_left + value_right > best.value) {
      best.value = value_left + value_right;
      best.value_left = value_left;
      best.value_right = value_right;
      best.level = k;
      best.action_left = action_left;
      best.action_right = action_right;
    }
  }
}

PolicySubtree PolicySearchNode::best_depth1(int min_node_size, double tie_tolerance,
                                            const TaskRunner& runner) const {
  PolicySubtree leaf = best_leaf();
  if (size() < 2LL * min_node_size) return leaf;
  std::vector<SideSplit> best(p());
  runner.run(p(), [&](int j) {
    std::vector<double> sums, scratch, total(n_actions_, 0.0);
    level_sums(j, sums);
    for (int k = 0; k < n_levels(j); ++k) {
      for (int a = 0; a < n_actions_; ++a) total[a] += sums[static_cast<size_t>(k) * n_actions_ + a];
    }
    scan_side(sums.data(), level_counts_[j].data(), n_levels(j), n_actions_, total.data(),
              size(), min_node_size, scratch, best[j]);
  });
  int var = -1;
  for (int j = 0; j < p(); ++j) {
    if (best[j].level >= 0 && (var < 0 || best[j].value > best[var].value)) var = j;
  }
  if (var < 0 || !(best[var].value > leaf.value + tie_tolerance)) return leaf;
  const SideSplit& s = best[var];
  return PolicySubtree::split(var, bin_of_level(var, s.level),
                              PolicySubtree::leaf(s.value_left, s.action_left),
                              PolicySubtree::leaf(s.value_right, s.action_right));
}

PolicySearchNode::SideChoice PolicySearchNode::side_choice(const double* totals,
                                                          const SideSplit* candidates,
                                                          double tie_tolerance) const {
  SideChoice out;
  out.action = static_cast<int>(std::max_element(totals, totals + n_actions_) - totals);
  out.value = totals[out.action];
  int var = -1;
  for (int j = 0; j < p(); ++j) {
    if (candidates[j].level >= 0 && (var < 0 || candidates[j].value > candidates[var].value)) {
      var = j;
    }
  }
  if (var >= 0 && candidates[var].value > out.value + tie_tolerance) {
    out.value = candidates[var].value;
    out.var = var;
    out.split = &candidates[var];
  }
  return out;
}

PolicySubtree PolicySearchNode::side_subtree(const SideChoice& choice) const {
  if (choice.var < 0) return PolicySubtree::leaf(choice.value, choice.action);
  const SideSplit& s = *choice.split;
  return PolicySubtree::split(choice.var, bin_of_level(choice.var, s.level),
                              PolicySubtree::leaf(s.value_left, s.action_left),
                              PolicySubtree::leaf(s.value_right, s.action_right));
}

PolicySubtree PolicySearchNode::best_depth2(int min_node_size, double tie_tolerance,
                                            const TaskRunner& runner) const {
  PolicySubtree leaf = best_leaf();
  const int m = size(), P = p(), A = n_actions_;
  const long long min_size = min_node_size;
  if (m < 2 * min_size) return leaf;
  // left_best[j][b * P + j']: the best split on column j' of the rows with level_j <= b;
  // right_best[j][b * P + j']: the same for the rows with level_j > b.
  std::vector<std::vector<SideSplit>> left_best(P), right_best(P);
  for (int j = 0; j < P; ++j) {
    const size_t cells = static_cast<size_t>(std::max(n_levels(j) - 1, 0)) * P;
    left_best[j].resize(cells);
    right_best[j].resize(cells);
  }
  runner.run(P * P, [&](int task) {
    const int j = task / P, j2 = task % P;
    const int K = n_levels(j), K2 = n_levels(j2);
    if (K < 2) return;
    runner.poll();
    std::vector<double> histogram(static_cast<size_t>(K) * K2 * A, 0.0);
    std::vector<int> counts(static_cast<size_t>(K) * K2, 0);
    const std::uint8_t* lev = levels_[j].data();
    const std::uint8_t* lev2 = levels_[j2].data();
    for (int pos = 0; pos < m; ++pos) {
      const size_t cell = static_cast<size_t>(lev[pos]) * K2 + lev2[pos];
      ++counts[cell];
      const double* r = rewards_.data() + static_cast<size_t>(pos) * A;
      double* h = histogram.data() + cell * A;
      for (int a = 0; a < A; ++a) h[a] += r[a];
    }
    const std::vector<int>& root_counts = level_counts_[j];
    std::vector<double> side(static_cast<size_t>(K2) * A), total(A), scratch;
    std::vector<int> side_counts(K2);
    // The side's running per-level sums and totals after adding the histogram row of level b.
    auto add_row = [&](int b) {
      const double* h = histogram.data() + static_cast<size_t>(b) * K2 * A;
      const int* c_row = counts.data() + static_cast<size_t>(b) * K2;
      for (int c = 0; c < K2; ++c) {
        if (c_row[c] == 0) continue;
        side_counts[c] += c_row[c];
        for (int a = 0; a < A; ++a) {
          side[static_cast<size_t>(c) * A + a] += h[static_cast<size_t>(c) * A + a];
          total[a] += h[static_cast<size_t>(c) * A + a];
        }
      }
    };
    // Left sides: levels 0..b of column j.
    long long n_side = 0;
    for (int b = 0; b + 1 < K; ++b) {
      add_row(b);
      n_side += root_counts[b];
      if (n_side >= 2 * min_size && m - n_side >= min_size) {
        scan_side(side.data(), side_counts.data(), K2, A, total.data(), n_side, min_node_size,
                  scratch, left_best[j][static_cast<size_t>(b) * P + j2]);
      }
    }
    // Right sides: levels b + 1..K - 1 of column j.
    std::fill(side.begin(), side.end(), 0.0);
    std::fill(side_counts.begin(), side_counts.end(), 0);
    std::fill(total.begin(), total.end(), 0.0);
    n_side = 0;
    for (int b = K - 1; b >= 1; --b) {
      add_row(b);
      n_side += root_counts[b];
      if (n_side >= 2 * min_size && m - n_side >= min_size) {
        scan_side(side.data(), side_counts.data(), K2, A, total.data(), n_side, min_node_size,
                  scratch, right_best[j][static_cast<size_t>(b - 1) * P + j2]);
      }
    }
  });
  double best_value = -std::numeric_limits<double>::infinity();
  int best_var = -1, best_level = 0;
  SideChoice best_left, best_right;
  std::vector<double> sums, suffix, prefix(A);
  for (int j = 0; j < P; ++j) {
    const int K = n_levels(j);
    if (K < 2) continue;
    level_sums(j, sums);
    suffix.assign(static_cast<size_t>(K + 1) * A, 0.0);
    for (int b = K - 1; b >= 0; --b) {
      for (int a = 0; a < A; ++a) {
        suffix[static_cast<size_t>(b) * A + a] =
            suffix[static_cast<size_t>(b + 1) * A + a] + sums[static_cast<size_t>(b) * A + a];
      }
    }
    std::fill(prefix.begin(), prefix.end(), 0.0);
    long long n_left = 0;
    for (int b = 0; b + 1 < K; ++b) {
      for (int a = 0; a < A; ++a) prefix[a] += sums[static_cast<size_t>(b) * A + a];
      n_left += level_counts_[j][b];
      if (n_left < min_size || m - n_left < min_size) continue;
      const SideSplit* left_candidates = left_best[j].data() + static_cast<size_t>(b) * P;
      const SideSplit* right_candidates = right_best[j].data() + static_cast<size_t>(b) * P;
      const SideChoice left = side_choice(prefix.data(), left_candidates, tie_tolerance);
      const SideChoice right = side_choice(suffix.data() + static_cast<size_t>(b + 1) * A,
                                           right_candidates, tie_tolerance);
      if (left.value + right.value > best_value) {
        best_value = left.value + right.value;
        best_var = j;
        best_level = b;
        best_left = left;
        best_right = right;
      }
    }
  }
  if (best_var < 0 || !(best_value > leaf.value + tie_tolerance)) return leaf;
  return PolicySubtree::split(best_var, bin_of_level(best_var, best_level),
                              side_subtree(best_left), side_subtree(best_right));
}

}  // namespace fastdml
