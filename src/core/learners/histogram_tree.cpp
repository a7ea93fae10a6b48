// HistogramTree, RoutingTable and TreeGrower: see histogram_tree.h. The fitting rows are kept
// as positions k (into rows, g and h) partitioned by leaf, each leaf a contiguous range kept in
// increasing order by stable partitioning, so histograms read the bins in increasing row order.
#include "core/learners/histogram_tree.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace fastdml {

namespace {

// Rows per leaf below which a histogram is built on one thread even when more are available.
constexpr int kRowsForThreadedHistogram = 8192;
constexpr int kFeatureBlock = TreeGrower::kFeatureBlock;
constexpr double kMaxInt32 = 2147483647.0;
constexpr double kMaxUint32 = 4294967295.0;

// Rows ahead of the current one whose bins are prefetched in the gathers below, on tables of
// at least kPrefetchRows rows: there a node's rows are scattered over columns that do not fit
// in cache (on smaller tables prefetching only costs time).
constexpr int kAhead = 32;
constexpr int kPrefetchRows = 1 << 18;

inline void prefetch(const void* address) {
#if defined(__GNUC__)
  __builtin_prefetch(address);
#else
  static_cast<void>(address);
#endif
}

}  // namespace

void HistogramTree::add_leaf_values(const FeatureBins& bins, const std::vector<int>& rows,
                                    double* out, int stride, int offset,
                                    std::vector<int>& order, std::vector<int>& buffer,
                                    const std::vector<int>* subset) const {
  if (subset == nullptr) {
    order.resize(rows.size());
    std::iota(order.begin(), order.end(), 0);
  } else {
    order.assign(subset->begin(), subset->end());
  }
  const int m = static_cast<int>(order.size());
  const bool ahead = bins.n() >= kPrefetchRows;
  buffer.resize(m);
  std::vector<int> begin(nodes.size(), 0), end(nodes.size(), m);
  for (size_t node = 0; node < nodes.size(); ++node) {
    const TreeNode& split = nodes[node];
    if (split.feature < 0) {
      for (int i = begin[node]; i < end[node]; ++i) {
        out[static_cast<size_t>(order[i]) * stride + offset] += split.value;
      }
      continue;
    }
    const std::uint8_t* column = bins.column(split.feature);
    int n_left = 0, n_right = 0;
    const Router route(split);  // each position is written to both sides, one side advances
    int* left_out = order.data() + begin[node];
    for (int i = begin[node]; i < end[node]; ++i) {
      if (ahead && i + kAhead < end[node]) prefetch(column + rows[order[i + kAhead]]);
      const int position = order[i];
      const bool left = route.left(column[rows[position]]);
      left_out[n_left] = position;
      buffer[n_right] = position;
      n_left += left;
      n_right += !left;
    }
    std::copy(buffer.begin(), buffer.begin() + n_right, order.begin() + begin[node] + n_left);
    begin[split.left] = begin[node];
    end[split.left] = begin[split.right] = begin[node] + n_left;
    end[split.right] = end[node];
  }
}

RoutingTable::RoutingTable(const HistogramTree& tree) {
  const std::vector<TreeNode>& nodes = tree.nodes;
  steps_.reserve(nodes.size());
  values_.resize(nodes.size());
  std::vector<int> depth(nodes.size(), 0);
  for (size_t node = 0; node < nodes.size(); ++node) {
    const TreeNode& split = nodes[node];
    const int self = static_cast<int>(node);
    values_[node] = split.value;
    if (split.feature < 0) {
      steps_.push_back({0, Router(255, true), {self, self}});
      continue;
    }
    steps_.push_back({split.feature, Router(split), {split.left, split.right}});
    depth[split.left] = depth[split.right] = depth[node] + 1;
    depth_ = std::max(depth_, depth[node] + 1);
  }
}

void RoutingTable::add_leaf_values(const std::uint8_t* x, int p, int m, double* out, int stride,
                                   int offset) const {
  // Rows go down in blocks, one level at a time for the whole block, so that the steps of
  // different rows are independent work.
  constexpr int kBlock = 256;
  int node[kBlock];
  const Step* steps = steps_.data();
  for (int first = 0; first < m; first += kBlock) {
    const int size = std::min(kBlock, m - first);
    const std::uint8_t* block = x + static_cast<size_t>(first) * p;
    std::fill(node, node + size, 0);
    for (int d = 0; d < depth_; ++d) {
      for (int l = 0; l < size; ++l) {
        const Step& step = steps[node[l]];
        const int b = block[static_cast<size_t>(l) * p + step.feature];
        node[l] = step.child[!step.route.left(b)];
      }
    }
    for (int l = 0; l < size; ++l) {
      out[static_cast<size_t>(first + l) * stride + offset] += values_[node[l]];
    }
  }
}

std::vector<std::uint8_t> row_major_bins(const FeatureBins& bins, const int* rows, int m) {
  const int p = bins.p();
  std::vector<std::uint8_t> x(static_cast<size_t>(m) * p);
  for (int j = 0; j < p; ++j) {
    const std::uint8_t* column = bins.column(j);
    for (int i = 0; i < m; ++i) x[static_cast<size_t>(i) * p + j] = column[rows[i]];
  }
  return x;
}

TreeGrower::TreeGrower(const FeatureBins& bins, const TreeOptions& options)
    : bins_(bins), options_(options) {
  if (options_.max_depth < 0) throw std::invalid_argument("TreeGrower: max_depth must be >= 0");
  if (options_.max_leaves < 0 || options_.max_leaves == 1) {
    throw std::invalid_argument("TreeGrower: max_leaves must be 0 or >= 2");
  }
  if (!(options_.lambda >= 0.0) || !(options_.min_child_weight >= 0.0) ||
      options_.min_child_size < 1 || !(options_.learning_rate > 0.0)) {
    throw std::invalid_argument("TreeGrower: invalid penalty, child limits or learning rate");
  }
  ahead_ = bins.n() >= kPrefetchRows;
  offset_.resize(bins.p());
  for (int j = 0; j < bins.p(); ++j) {
    offset_[j] = total_bins_;
    total_bins_ += bins.n_bins(j);
  }
}

int TreeGrower::take_histogram() {
  if (!free_histograms_.empty()) {
    const int index = free_histograms_.back();
    free_histograms_.pop_back();
    return index;
  }
  histograms_.emplace_back();
  histograms_.back().packed.resize(total_bins_);
  histograms_.back().counts.resize(total_bins_);
  return static_cast<int>(histograms_.size()) - 1;
}

bool TreeGrower::can_split(const Leaf& leaf) const {
  return leaf.depth < options_.max_depth &&
         static_cast<double>(leaf.sums.count) >= 2.0 * options_.min_child_size &&
         hessian(leaf.sums) >= 2.0 * options_.min_child_weight;
}

void TreeGrower::quantise(const std::vector<double>& g, const std::vector<double>& h) {
  const int m = static_cast<int>(rows_->size());
  double g_max = 0.0, h_max = 0.0;
  constant_hessian_ = true;
  for (int k = 0; k < m; ++k) {
    g_max = std::max(g_max, std::abs(g[k]));
    h_max = std::max(h_max, h[k]);
    constant_hessian_ = constant_hessian_ && h[k] == h[0];
  }
  const double rows = std::max(m, 1);
  const double g_steps = std::floor(kMaxInt32 / rows);
  const double h_steps = std::floor(kMaxUint32 / rows);
  g_scale_ = g_max > 0.0 ? g_max / g_steps : 1.0;
  h_scale_ = constant_hessian_ ? (m > 0 ? h[0] : 0.0) : (h_max > 0.0 ? h_max / h_steps : 1.0);
  const double g_inverse = 1.0 / g_scale_, h_inverse = 1.0 / h_scale_;
  packed_.resize(m);
  for (int k = 0; k < m; ++k) {
    const std::int64_t q_g = static_cast<std::int64_t>(std::floor(g[k] * g_inverse + 0.5));
    const std::int64_t q_h =
        constant_hessian_ ? 1 : static_cast<std::int64_t>(std::floor(h[k] * h_inverse + 0.5));
    packed_[k] = q_g * kPlace + q_h;
  }
}

void TreeGrower::build_histogram(const Leaf& leaf, Histogram& histogram,
                                 const std::vector<int>& features, const TaskRunner& runner) {
  const int count = leaf.end - leaf.begin;
  for (int i = 0; i < count; ++i) {
    const int k = order_[leaf.begin + i];
    gathered_rows_[i] = (*rows_)[k];
    gathered_packed_[i] = packed_[k];
  }
  // Features are summed kFeatureBlock at a time in one pass over the rows (independent
  // updates for the CPU to overlap); with a constant hessian the counts are the low words.
  auto feature_block = [&](int block) {
    const int first = block * kFeatureBlock;
    const int size = std::min(kFeatureBlock, static_cast<int>(features.size()) - first);
    const std::uint8_t* columns[kFeatureBlock];
    std::int64_t* packed[kFeatureBlock];
    std::int32_t* counts[kFeatureBlock];
    for (int f = 0; f < size; ++f) {
      const int j = features[first + f];
      columns[f] = bins_.column(j);
      packed[f] = histogram.packed.data() + offset_[j];
      counts[f] = histogram.counts.data() + offset_[j];
      std::fill(packed[f], packed[f] + bins_.n_bins(j), 0);
      if (!constant_hessian_) std::fill(counts[f], counts[f] + bins_.n_bins(j), 0);
    }
    if (size == kFeatureBlock && constant_hessian_) {
      accumulate_block<true>(columns, packed, counts, count);
    } else if (size == kFeatureBlock) {
      accumulate_block<false>(columns, packed, counts, count);
    } else {
      for (int f = 0; f < size; ++f) accumulate_one(columns[f], packed[f], counts[f], count);
    }
  };
  const int n_blocks = (static_cast<int>(features.size()) + kFeatureBlock - 1) / kFeatureBlock;
  if (runner.num_threads() > 1 && count >= kRowsForThreadedHistogram) {
    runner.run(n_blocks, feature_block);
  } else {
    for (int block = 0; block < n_blocks; ++block) feature_block(block);
  }
}

template <bool kConstantHessian>
void TreeGrower::accumulate_block(const std::uint8_t* const* columns, std::int64_t* const* packed,
                                  std::int32_t* const* counts, int count) const {
  const int* rows = gathered_rows_.data();
  const std::int64_t* values = gathered_packed_.data();
  // Pointers in locals: a store into a histogram could otherwise be assumed to change the
  // pointer arrays, which would then be reloaded for every row.
  const std::uint8_t *const c0 = columns[0], *const c1 = columns[1], *const c2 = columns[2],
                           *const c3 = columns[3];
  std::int64_t *const s0 = packed[0], *const s1 = packed[1], *const s2 = packed[2],
                      *const s3 = packed[3];
  std::int32_t *const n0 = counts[0], *const n1 = counts[1], *const n2 = counts[2],
                      *const n3 = counts[3];
  for (int i = 0; i < count; ++i) {
    if (ahead_ && i + kAhead < count) {
      const int ahead = rows[i + kAhead];
      prefetch(c0 + ahead);
      prefetch(c1 + ahead);
      prefetch(c2 + ahead);
      prefetch(c3 + ahead);
    }
    const int r = rows[i];
    const std::int64_t value = values[i];
    const int b0 = c0[r], b1 = c1[r], b2 = c2[r], b3 = c3[r];
    s0[b0] += value;
    s1[b1] += value;
    s2[b2] += value;
    s3[b3] += value;
    if (!kConstantHessian) {
      n0[b0] += 1;
      n1[b1] += 1;
      n2[b2] += 1;
      n3[b3] += 1;
    }
  }
}

void TreeGrower::accumulate_one(const std::uint8_t* column, std::int64_t* packed,
                                std::int32_t* counts, int count) const {
  const int* rows = gathered_rows_.data();
  const std::int64_t* values = gathered_packed_.data();
  for (int i = 0; i < count; ++i) {
    const int b = column[rows[i]];
    packed[b] += values[i];
    if (!constant_hessian_) counts[b] += 1;
  }
}

TreeGrower::Split TreeGrower::best_split(const Leaf& leaf, const Histogram& histogram,
                                         const std::vector<int>& features) {
  const double lambda = options_.lambda;
  const double min_size = options_.min_child_size, min_weight = options_.min_child_weight;
  const double g_total = gradient(leaf.sums), h_total = hessian(leaf.sums);
  const double c_total = static_cast<double>(leaf.sums.count);
  const double parent = g_total * g_total / (h_total + lambda);
  Split best;
  best.gain = 1e-12 * parent;
  // Per feature: the left sums of every candidate bin (as doubles, exact integers times the
  // steps), then the gains of all candidates in one loop without branches (vectorised), then
  // the first strictly best admissible one in the order bins 1.., missing left before missing
  // right. An empty bin repeats the previous candidate, which is then not strictly better.
  for (int j : features) {
    const int n_candidates = bins_.n_bins(j) - 2;
    if (n_candidates < 1) continue;
    const Sums missing = bin_sums(histogram, offset_[j]);
    const int sides = missing.count > 0 ? 2 : 1;
    candidate_sums_.resize(static_cast<size_t>(n_candidates) * 3);
    candidate_gains_.resize(static_cast<size_t>(n_candidates) * 2);
    double* gl = candidate_sums_.data();
    double* hl = gl + n_candidates;
    double* cl = hl + n_candidates;
    Sums left;
    for (int b = 0; b < n_candidates; ++b) {
      const Sums bin = bin_sums(histogram, offset_[j] + b + 1);
      left.g += bin.g;
      left.h += bin.h;
      left.count += bin.count;
      gl[b] = gradient(left);
      hl[b] = hessian(left);
      cl[b] = static_cast<double>(left.count);
    }
    for (int side = 0; side < sides; ++side) {
      // side 0: missing rows right; side 1: missing rows left.
      const double gm = side ? gradient(missing) : 0.0, hm = side ? hessian(missing) : 0.0;
      double* gain = candidate_gains_.data() + static_cast<size_t>(side) * n_candidates;
#ifdef _OPENMP
#pragma omp simd
#endif
      for (int b = 0; b < n_candidates; ++b) {
        const double g_left = gl[b] + gm, h_left = hl[b] + hm;
        const double g_right = g_total - g_left, h_right = h_total - h_left;
        gain[b] = g_left * g_left / (h_left + lambda) + g_right * g_right / (h_right + lambda) -
                  parent;
      }
    }
    auto admissible = [&](int b, bool missing_left) {
      const double c_left = cl[b] + (missing_left ? static_cast<double>(missing.count) : 0.0);
      const double h_left = hl[b] + (missing_left ? hessian(missing) : 0.0);
      return c_left >= min_size && c_total - c_left >= min_size && h_left >= min_weight &&
             h_total - h_left >= min_weight;
    };
    const double* gain_right = candidate_gains_.data();
    const double* gain_left = gain_right + n_candidates;
    int chosen = -1;
    bool chosen_left = false;
    for (int b = 0; b < n_candidates; ++b) {
      if (sides == 2 && gain_left[b] > best.gain && admissible(b, true)) {
        best.gain = gain_left[b];
        chosen = b;
        chosen_left = true;
      }
      if (gain_right[b] > best.gain && admissible(b, false)) {
        best.gain = gain_right[b];
        chosen = b;
        chosen_left = false;
      }
    }
    if (chosen < 0) continue;
    best.feature = j;
    best.bin = chosen + 1;
    best.missing_left = chosen_left;
    best.left = {0, 0, 0};
    for (int b = 0; b <= chosen; ++b) {
      const Sums bin = bin_sums(histogram, offset_[j] + b + 1);
      best.left.g += bin.g;
      best.left.h += bin.h;
      best.left.count += bin.count;
    }
    if (chosen_left) {
      best.left.g += missing.g;
      best.left.h += missing.h;
      best.left.count += missing.count;
    }
  }
  return best;
}

HistogramTree TreeGrower::grow(const std::vector<int>& rows, const std::vector<double>& g,
                               const std::vector<double>& h, const std::vector<int>& features,
                               std::vector<int>& leaf, const TaskRunner& runner) {
  const int m = static_cast<int>(rows.size());
  if (g.size() < rows.size() || h.size() < rows.size()) {
    throw std::invalid_argument("TreeGrower: one gradient and hessian per row is needed");
  }
  rows_ = &rows;
  const bool ahead = ahead_;
  quantise(g, h);
  order_.resize(m);
  std::iota(order_.begin(), order_.end(), 0);
  scratch_.resize(m);
  gathered_rows_.resize(m);
  gathered_packed_.resize(m);
  free_histograms_.clear();
  for (int i = static_cast<int>(histograms_.size()) - 1; i >= 0; --i) free_histograms_.push_back(i);

  HistogramTree tree;
  tree.nodes.emplace_back();
  std::vector<Leaf> leaves(1);
  std::vector<bool> active(1, true);
  Leaf& root = leaves[0];
  root.end = m;
  root.sums = unpack(std::accumulate(packed_.begin(), packed_.end(), std::int64_t(0)), m);
  auto search = [&](Leaf& node) {
    if (node.histogram >= 0) node.split = best_split(node, histograms_[node.histogram], features);
    if (node.split.feature < 0 && node.histogram >= 0) {
      free_histograms_.push_back(node.histogram);
      node.histogram = -1;
    }
  };
  if (can_split(root)) {
    root.histogram = take_histogram();
    build_histogram(root, histograms_[root.histogram], features, runner);
    search(root);
  }
  int n_leaves = 1;
  while (options_.max_leaves == 0 || n_leaves < options_.max_leaves) {
    int chosen = -1;
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (!active[i] || leaves[i].split.feature < 0) continue;
      if (chosen < 0 || leaves[i].split.gain > leaves[chosen].split.gain) chosen = static_cast<int>(i);
    }
    if (chosen < 0) break;
    const Leaf parent = leaves[chosen];
    active[chosen] = false;
    const Split& split = parent.split;
    const std::uint8_t* column = bins_.column(split.feature);
    int n_left = 0, n_right = 0;
    const Router route(split.bin, split.missing_left);
    int* left_out = order_.data() + parent.begin;
    for (int i = parent.begin; i < parent.end; ++i) {
      if (ahead && i + kAhead < parent.end) prefetch(column + rows[order_[i + kAhead]]);
      const int k = order_[i];
      const bool left = route.left(column[rows[k]]);
      left_out[n_left] = k;
      scratch_[n_right] = k;
      n_left += left;
      n_right += !left;
    }
    std::copy(scratch_.begin(), scratch_.begin() + n_right, order_.begin() + parent.begin + n_left);

    Leaf left, right;
    left.node = static_cast<int>(tree.nodes.size());
    right.node = left.node + 1;
    tree.nodes.resize(tree.nodes.size() + 2);
    TreeNode& node = tree.nodes[parent.node];
    node.feature = split.feature;
    node.bin = split.bin;
    node.missing_left = split.missing_left;
    node.left = left.node;
    node.right = right.node;
    left.begin = parent.begin;
    left.end = right.begin = parent.begin + n_left;
    right.end = parent.end;
    left.depth = right.depth = parent.depth + 1;
    left.sums = split.left;
    right.sums = {parent.sums.g - split.left.g, parent.sums.h - split.left.h,
                  parent.sums.count - split.left.count};
    if (can_split(left) || can_split(right)) {
      Leaf& smaller = left.sums.count <= right.sums.count ? left : right;
      Leaf& larger = left.sums.count <= right.sums.count ? right : left;
      smaller.histogram = take_histogram();
      build_histogram(smaller, histograms_[smaller.histogram], features, runner);
      larger.histogram = parent.histogram;
      Histogram& big = histograms_[larger.histogram];
      const Histogram& small = histograms_[smaller.histogram];
      for (int j : features) {
        for (int b = offset_[j]; b < offset_[j] + bins_.n_bins(j); ++b) {
          big.packed[b] -= small.packed[b];
          if (!constant_hessian_) big.counts[b] -= small.counts[b];
        }
      }
      for (Leaf* child : {&left, &right}) {
        if (!can_split(*child) && child->histogram >= 0) {
          free_histograms_.push_back(child->histogram);
          child->histogram = -1;
        }
        search(*child);
      }
    } else {
      free_histograms_.push_back(parent.histogram);
    }
    leaves.push_back(left);
    leaves.push_back(right);
    active.push_back(true);
    active.push_back(true);
    ++n_leaves;
  }

  leaf.resize(m);
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!active[i]) continue;
    const Leaf& done = leaves[i];
    double g_sum = 0.0, h_sum = 0.0;
    for (int p = done.begin; p < done.end; ++p) {
      const int k = order_[p];
      g_sum += g[k];
      h_sum += h[k];
      leaf[k] = done.node;
    }
    tree.nodes[done.node].value = -options_.learning_rate * g_sum / (h_sum + options_.lambda);
  }
  return tree;
}

}  // namespace fastdml
