// HistogramTree and TreeGrower: see histogram_tree.h. The fitting rows are kept as positions k
// (into rows, g and h) partitioned by leaf, each leaf a contiguous range kept in increasing
// order by stable partitioning, so histograms read the bins in increasing row order.
#include "core/learners/histogram_tree.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace fastdml {

namespace {

// Rows per leaf below which a histogram is built on one thread even when more are available.
constexpr int kRowsForThreadedHistogram = 8192;
constexpr int kFeatureBlock = TreeGrower::kFeatureBlock;

// Where a split sends a bin, without a branch on the data: value bins 1..bin go left, and the
// missing bin 0 is read as 0 (left) or 255 (right; split bins are at most 254). The partitions
// below write every position to both outputs and advance one of them, which costs less than a
// mispredicted branch per row and level.
class Router {
 public:
  Router(int bin, bool missing_left) : bin_(bin), missing_(missing_left ? 0 : 255) {}
  explicit Router(const TreeNode& node) : Router(node.bin, node.missing_left) {}
  bool left(int b) const { return (b == 0 ? missing_ : b) <= bin_; }

 private:
  int bin_;
  int missing_;
};

}  // namespace

int HistogramTree::leaf_of(const FeatureBins& bins, int row) const {
  int node = 0;
  while (nodes[node].feature >= 0) {
    const TreeNode& split = nodes[node];
    const int b = bins.column(split.feature)[row];
    node = Router(split).left(b) ? split.left : split.right;
  }
  return node;
}

void HistogramTree::add_leaf_values(const FeatureBins& bins, const std::vector<int>& rows,
                                    double* out, int stride, int offset) const {
  if (!bins.has_rows()) throw std::invalid_argument("HistogramTree: row-major bins are needed");
  // The tree as a table in which a leaf routes every bin to itself (feature 0, bin 255, both
  // children the leaf), so that every row takes exactly `depth` steps, each a select.
  struct Step {
    int feature;
    int bin;
    int missing;
    int child[2];
  };
  std::vector<Step> steps(nodes.size());
  std::vector<int> depth(nodes.size(), 0);
  int max_depth = 0;
  for (size_t node = 0; node < nodes.size(); ++node) {
    const TreeNode& split = nodes[node];
    const int self = static_cast<int>(node);
    if (split.feature < 0) {
      steps[node] = {0, 255, 0, {self, self}};
      continue;
    }
    steps[node] = {split.feature, split.bin, split.missing_left ? 0 : 255, {split.left, split.right}};
    depth[split.left] = depth[split.right] = depth[node] + 1;
    max_depth = std::max(max_depth, depth[node] + 1);
  }
  const int p = bins.p();
  const std::uint8_t* row_bins = bins.row(0);
  const int m = static_cast<int>(rows.size());
  // Rows go down in blocks, one level at a time for the whole block, so that the steps of
  // different rows are independent work for the CPU.
  constexpr int kBlock = 256;
  const std::uint8_t* x[kBlock];
  int node[kBlock];
  for (int first = 0; first < m; first += kBlock) {
    const int size = std::min(kBlock, m - first);
    for (int l = 0; l < size; ++l) {
      x[l] = row_bins + static_cast<size_t>(rows[first + l]) * p;
      node[l] = 0;
    }
    for (int d = 0; d < max_depth; ++d) {
      for (int l = 0; l < size; ++l) {
        const Step& step = steps[node[l]];
        const int b = x[l][step.feature];
        node[l] = step.child[(b == 0 ? step.missing : b) > step.bin];
      }
    }
    for (int l = 0; l < size; ++l) out[static_cast<size_t>(first + l) * stride + offset] += nodes[node[l]].value;
  }
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
  histograms_.emplace_back(total_bins_);
  return static_cast<int>(histograms_.size()) - 1;
}

bool TreeGrower::can_split(const Leaf& leaf) const {
  return leaf.depth < options_.max_depth && leaf.count >= 2.0 * options_.min_child_size &&
         leaf.h >= 2.0 * options_.min_child_weight;
}

void TreeGrower::build_histogram(const Leaf& leaf, std::vector<Bin>& histogram,
                                 const std::vector<int>& features, const TaskRunner& runner) {
  const int count = leaf.end - leaf.begin;
  for (int i = 0; i < count; ++i) {
    const int k = order_[leaf.begin + i];
    gathered_rows_[i] = (*rows_)[k];
    gathered_g_[i] = (*g_)[k];
    gathered_h_[i] = (*h_)[k];
  }
  // Features are summed kFeatureBlock at a time in one pass over the rows (independent
  // updates for the CPU to overlap); with a constant hessian (squared error, equal weights)
  // only g and the count are summed.
  const double hessian = count > 0 ? gathered_h_[0] : 0.0;
  auto feature_block = [&](int block) {
    const int first = block * kFeatureBlock;
    const int size = std::min(kFeatureBlock, static_cast<int>(features.size()) - first);
    const std::uint8_t* columns[kFeatureBlock];
    Bin* bins[kFeatureBlock];
    for (int f = 0; f < size; ++f) {
      const int j = features[first + f];
      columns[f] = bins_.column(j);
      bins[f] = histogram.data() + offset_[j];
      std::fill(bins[f], bins[f] + bins_.n_bins(j), Bin());
    }
    if (size == kFeatureBlock && constant_hessian_) {
      accumulate_block<true>(columns, bins, count);
    } else if (size == kFeatureBlock) {
      accumulate_block<false>(columns, bins, count);
    } else {
      for (int f = 0; f < size; ++f) accumulate_one(columns[f], bins[f], count, constant_hessian_);
    }
    if (!constant_hessian_) return;
    for (int f = 0; f < size; ++f) {
      const int n_bins = bins_.n_bins(features[first + f]);
      for (int b = 0; b < n_bins; ++b) bins[f][b].h = bins[f][b].count * hessian;
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
void TreeGrower::accumulate_block(const std::uint8_t* const* columns, Bin* const* bins,
                                  int count) const {
  const int* rows = gathered_rows_.data();
  const double* g = gathered_g_.data();
  const double* h = gathered_h_.data();
  const std::uint8_t *c0 = columns[0], *c1 = columns[1], *c2 = columns[2], *c3 = columns[3];
  Bin *b0 = bins[0], *b1 = bins[1], *b2 = bins[2], *b3 = bins[3];
  for (int i = 0; i < count; ++i) {
    const int r = rows[i];
    const double gi = g[i];
    Bin& x0 = b0[c0[r]];
    Bin& x1 = b1[c1[r]];
    Bin& x2 = b2[c2[r]];
    Bin& x3 = b3[c3[r]];
    x0.g += gi;
    x1.g += gi;
    x2.g += gi;
    x3.g += gi;
    x0.count += 1.0;
    x1.count += 1.0;
    x2.count += 1.0;
    x3.count += 1.0;
    if (!kConstantHessian) {
      const double hi = h[i];
      x0.h += hi;
      x1.h += hi;
      x2.h += hi;
      x3.h += hi;
    }
  }
}

void TreeGrower::accumulate_one(const std::uint8_t* column, Bin* bins, int count,
                                bool constant_hessian) const {
  const int* rows = gathered_rows_.data();
  const double* g = gathered_g_.data();
  const double* h = gathered_h_.data();
  for (int i = 0; i < count; ++i) {
    Bin& bin = bins[column[rows[i]]];
    bin.g += g[i];
    bin.count += 1.0;
    if (!constant_hessian) bin.h += h[i];
  }
}

TreeGrower::Split TreeGrower::best_split(const Leaf& leaf, const std::vector<Bin>& histogram,
                                         const std::vector<int>& features) const {
  const double lambda = options_.lambda;
  const double parent = leaf.g * leaf.g / (leaf.h + lambda);
  Split best;
  best.gain = 1e-12 * parent;
  auto consider = [&](int j, int b, bool missing_left, double gl, double hl, double cl) {
    const double gr = leaf.g - gl, hr = leaf.h - hl, cr = leaf.count - cl;
    if (cl < options_.min_child_size || cr < options_.min_child_size) return;
    if (hl < options_.min_child_weight || hr < options_.min_child_weight) return;
    const double gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent;
    if (gain > best.gain) {
      best.feature = j;
      best.bin = b;
      best.missing_left = missing_left;
      best.gain = gain;
      best.g_left = gl;
      best.h_left = hl;
      best.count_left = cl;
    }
  };
  for (int j : features) {
    const Bin* bins = histogram.data() + offset_[j];
    const Bin& missing = bins[0];
    double gl = 0.0, hl = 0.0, cl = 0.0;
    for (int b = 1; b <= bins_.n_bins(j) - 2; ++b) {
      // An empty bin repeats the previous candidate (not strictly better): skip it.
      if (bins[b].count == 0.0) continue;
      gl += bins[b].g;
      hl += bins[b].h;
      cl += bins[b].count;
      if (missing.count > 0.0) {
        consider(j, b, true, gl + missing.g, hl + missing.h, cl + missing.count);
      }
      consider(j, b, false, gl, hl, cl);
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
  g_ = &g;
  h_ = &h;
  order_.resize(m);
  std::iota(order_.begin(), order_.end(), 0);
  scratch_.resize(m);
  gathered_rows_.resize(m);
  gathered_g_.resize(m);
  gathered_h_.resize(m);
  free_histograms_.clear();
  for (int i = static_cast<int>(histograms_.size()) - 1; i >= 0; --i) free_histograms_.push_back(i);

  HistogramTree tree;
  tree.nodes.emplace_back();
  std::vector<Leaf> leaves(1);
  std::vector<bool> active(1, true);
  Leaf& root = leaves[0];
  root.end = m;
  for (int k = 0; k < m; ++k) {
    root.g += g[k];
    root.h += h[k];
  }
  root.count = m;
  constant_hessian_ = true;
  for (int k = 1; k < m && constant_hessian_; ++k) constant_hessian_ = h[k] == h[0];
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
    left.g = split.g_left;
    left.h = split.h_left;
    left.count = split.count_left;
    right.g = parent.g - split.g_left;
    right.h = parent.h - split.h_left;
    right.count = parent.count - split.count_left;
    if (can_split(left) || can_split(right)) {
      Leaf& smaller = left.count <= right.count ? left : right;
      Leaf& larger = left.count <= right.count ? right : left;
      smaller.histogram = take_histogram();
      build_histogram(smaller, histograms_[smaller.histogram], features, runner);
      larger.histogram = parent.histogram;
      std::vector<Bin>& big = histograms_[larger.histogram];
      const std::vector<Bin>& small = histograms_[smaller.histogram];
      for (int j : features) {
        for (int b = offset_[j]; b < offset_[j] + bins_.n_bins(j); ++b) {
          big[b].g -= small[b].g;
          big[b].h -= small[b].h;
          big[b].count -= small[b].count;
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
    tree.nodes[done.node].value = -options_.learning_rate * done.g / (done.h + options_.lambda);
    for (int p = done.begin; p < done.end; ++p) leaf[order_[p]] = done.node;
  }
  return tree;
}

}  // namespace fastdml
