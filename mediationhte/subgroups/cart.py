"""CART machinery for the subgroup profiles: covariate encoding, rpart-style pruning, and rule text.

scikit-learn grows the trees; this module adds what rpart does and sklearn does
not: weakest-link cost-complexity pruning on the *misclassification* risk (rpart's
classification risk; sklearn's ``ccp_alpha`` prunes on the Gini/entropy impurity
instead), evaluation of a whole pruning sequence on held-out rows without
refitting, and rules written with the user's column names and factor levels.

Node ids of a depth-first sklearn tree are in preorder with the left child first
(``DepthFirstTreeBuilder`` pushes the right child, then the left), so a parent's
id is smaller than its children's and sorting leaf ids gives the leaves from left
to right. Everything here relies on that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mediationhte.errors import DataError
from mediationhte.core.immutable import readonly

#: rpart's split criteria in the authors' grid ("information" is sklearn's "entropy").
CRITERIA = ("gini", "entropy")
#: minsplit as a share of n; minbucket = round(minsplit / 3), rpart's default.
MINSPLIT_FRACTIONS = (0.10, 0.15, 0.20)
#: The authors' 16 rpart ``cp`` values (relative to the root node's misclassification risk).
CP_GRID = (1e-6, 5e-6, *np.round(np.arange(1e-5, 5.01e-5, 5e-6), 10).tolist(), 1e-4, 5e-4, 1e-3, 5e-3, 0.01)

_TIE = 1e-10  # relative tolerance when two weakest links have the same complexity


# ---------------------------------------------------------------------------------------------- encoding
def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or not pd.api.types.is_numeric_dtype(dtype)
    )


@dataclass(frozen=True)
class Encoding:
    """How covariates become the numeric matrix a tree splits on (numeric as is, categoricals one-hot).

    Attributes
    ----------
    columns : tuple of str
        The original covariate names, in order.
    levels : tuple
        Per column: ``None`` for a numeric column, else the tuple of levels (one
        dummy column each, none dropped, so a tree can isolate any level).
    features : tuple of (int, object)
        Per encoded feature: the index of its original column and its level
        (``None`` for numeric).
    """

    columns: tuple
    levels: tuple
    features: tuple

    @classmethod
    def fit(cls, covariates: pd.DataFrame) -> Encoding:
        """Learn the columns and factor levels from the training covariates."""
        levels, features = [], []
        for j, name in enumerate(covariates.columns):
            series = covariates[name]
            if _is_categorical(series):
                if isinstance(series.dtype, pd.CategoricalDtype):
                    lv = tuple(series.cat.categories)
                elif pd.api.types.is_bool_dtype(series.dtype):
                    lv = (False, True)
                else:
                    values = pd.unique(series.to_numpy())
                    try:
                        lv = tuple(sorted(values))
                    except TypeError:  # mixed types: keep the order of appearance
                        lv = tuple(values)
                levels.append(lv)
                features += [(j, level) for level in lv]
            else:
                levels.append(None)
                features.append((j, None))
        return cls(tuple(str(c) for c in covariates.columns), tuple(levels), tuple(features))

    def transform(self, covariates: pd.DataFrame) -> np.ndarray:
        """Numeric matrix (n, n_features); unseen levels get zeros in every dummy of their column."""
        missing = [c for c in self.columns if c not in covariates.columns]
        if missing:
            raise DataError(
                f"Column {missing[0]!r} (covariate of the subgroup profile) is not in the covariates given; "
                f"the profile was fitted on {', '.join(map(repr, self.columns))}.",
                column=missing[0],
                role="covariate",
            )
        out = np.empty((len(covariates), len(self.features)), dtype=float)
        for k, (j, level) in enumerate(self.features):
            series = covariates[self.columns[j]]
            if series.isna().any():
                raise DataError(
                    f"Column {self.columns[j]!r} (covariate) has {int(series.isna().sum())} missing value(s); "
                    "subgroup profiles need complete covariates. Impute them or drop those rows.",
                    column=self.columns[j],
                    role="covariate",
                )
            if level is None:
                try:
                    out[:, k] = series.to_numpy(dtype=float)
                except (TypeError, ValueError) as exc:
                    raise DataError(
                        f"Column {self.columns[j]!r} (covariate) was numeric when the profile was fitted but "
                        f"holds {series.dtype} values now.",
                        column=self.columns[j],
                        role="covariate",
                    ) from exc
            else:
                out[:, k] = (series.to_numpy() == level).astype(float)
        return out


# ---------------------------------------------------------------------------------------------- pruning
@dataclass(frozen=True, eq=False)
class GrownTree:
    """A grown sklearn classification tree with its weakest-link pruning sequence (misclassification risk).

    Attributes
    ----------
    estimator : sklearn.tree.DecisionTreeClassifier
        The fitted, unpruned tree.
    parent : ndarray of int
        Parent node of every node (-1 for the root).
    collapse : ndarray of float
        Complexity alpha (in misclassified counts per leaf) at which each internal
        node becomes a leaf; ``inf`` for the original leaves. Non-increasing from a
        node to its descendants.
    majority : ndarray
        Majority class label of every node (ties: the first class, as rpart).
    root_risk : float
        Misclassified count at the root (rpart's scale for ``cp``).
    """

    estimator: object
    parent: np.ndarray
    collapse: np.ndarray
    majority: np.ndarray
    root_risk: float

    @classmethod
    def grow(cls, estimator, X: np.ndarray, y: np.ndarray) -> GrownTree:
        """Fit ``estimator`` (an unfitted DecisionTreeClassifier) and compute its pruning sequence."""
        estimator.fit(X, y)
        tree = estimator.tree_
        left, right = tree.children_left, tree.children_right
        value = tree.value[:, 0, :]
        # sklearn >= 1.4 stores class fractions, older versions counts: normalise to counts either way.
        counts = value / value.sum(axis=1, keepdims=True) * tree.weighted_n_node_samples[:, None]
        risk = tree.weighted_n_node_samples - counts.max(axis=1)
        parent = np.full(tree.node_count, -1)
        internal = np.flatnonzero(left >= 0)
        parent[left[internal]] = internal
        parent[right[internal]] = internal
        collapse = _weakest_link(left, right, risk)
        majority = estimator.classes_[np.argmax(counts, axis=1)]
        return cls(estimator, parent, collapse, majority, float(risk[0]))

    def sequence(self) -> np.ndarray:
        """Distinct finite complexities a_1 < ... < a_m; subtree j is optimal on [a_j, a_{j+1}) (a_0 = 0)."""
        finite = self.collapse[np.isfinite(self.collapse)]
        return np.unique(finite)

    def pruned_node(self, alpha: float) -> np.ndarray:
        """For every node, the node that predicts for it once the tree is pruned at ``alpha``."""
        out = np.arange(len(self.parent))
        for node in range(1, len(out)):  # preorder: a parent is resolved before its children
            p = self.parent[node]
            if self.collapse[p] <= alpha or out[p] != p:
                out[node] = out[p]
        return out

    def predict_at(self, X: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Predicted class of each row of ``X`` for each pruning level: array (len(alphas), n)."""
        leaves = self.estimator.apply(X)
        return np.vstack([self.majority[self.pruned_node(a)[leaves]] for a in alphas])


def _weakest_link(left: np.ndarray, right: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """Breiman et al.'s weakest-link pruning: the complexity at which each internal node is collapsed."""
    n = len(left)
    alive = left >= 0
    collapse = np.full(n, np.inf)
    last = 0.0
    while alive.any():
        sub_risk = risk.copy()
        sub_leaves = np.ones(n)
        for t in range(n - 1, -1, -1):  # children have larger ids, so this is bottom-up
            if alive[t]:
                sub_risk[t] = sub_risk[left[t]] + sub_risk[right[t]]
                sub_leaves[t] = sub_leaves[left[t]] + sub_leaves[right[t]]
        g = np.full(n, np.inf)
        g[alive] = (risk[alive] - sub_risk[alive]) / (sub_leaves[alive] - 1.0)
        g_min = g.min()
        weakest = np.flatnonzero(g <= g_min + _TIE * max(abs(g_min), 1.0))
        level = max(g_min, last)
        for t in weakest:
            stack = [t]
            while stack:  # collapse t and every internal node still below it
                s = stack.pop()
                if alive[s]:
                    alive[s] = False
                    collapse[s] = level
                    stack += [left[s], right[s]]
        last = level
    return collapse


def leaf_ids(grown: GrownTree, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Pruned leaves at ``alpha``: (map node -> leaf index 0..L-1 or -1, leaf node ids left to right)."""
    pruned = grown.pruned_node(alpha)
    left = grown.estimator.tree_.children_left
    is_leaf = (pruned == np.arange(len(pruned))) & ((left < 0) | (grown.collapse <= alpha))
    nodes = np.flatnonzero(is_leaf)
    index = np.full(len(pruned), -1)
    index[nodes] = np.arange(len(nodes))
    return index[pruned], nodes


def rpart_candidates(Xf: np.ndarray, yf: np.ndarray, X: np.ndarray, *, seed: int, n_folds: int) -> list[dict]:
    """Every distinct tree of the authors' 96-fit rpart grid, each pruned at its minimum CV error.

    Trees are grown on ``Xf, yf``; leaves are assigned to every row of ``X``
    (the same rows, or all units when ``Xf`` is a subsample). Returns dicts with
    ``n_leaves, cv_error, criterion, min_samples_split, cp`` and ``_tree`` =
    (grown tree, alpha, node -> leaf map, leaf node ids, leaf of every row of
    ``X``), in grid order, trees with one leaf and repeated partitions dropped.
    See :func:`mediationhte.subgroups.discover.fit_profile` for the rules.
    """
    from sklearn.tree import DecisionTreeClassifier

    folds = np.random.default_rng(seed).permutation(np.arange(len(yf)) % n_folds)
    found, seen = [], set()
    for criterion in CRITERIA:
        for frac in MINSPLIT_FRACTIONS:
            mss = max(2, round(frac * len(yf)))
            settings = dict(criterion=criterion, min_samples_split=mss, min_samples_leaf=max(1, round(mss / 3)),
                            max_depth=30, random_state=seed)
            full = GrownTree.grow(DecisionTreeClassifier(**settings), Xf, yf)
            seq = full.sequence()
            if full.root_risk == 0 or len(seq) == 0:
                continue
            lo, hi = np.r_[0.0, seq], np.r_[seq, np.inf]
            per_cp = []
            for cp in CP_GRID:
                cp_abs = cp * full.root_risk
                avail = np.flatnonzero(hi > cp_abs)[::-1]  # root first, as rpart's cptable
                low = np.maximum(lo[avail], cp_abs)
                points = np.where(np.isinf(hi[avail]), np.inf, np.sqrt(low * hi[avail]))
                per_cp.append((cp, avail, points))
            grid = np.unique(np.concatenate([p for _, _, p in per_cp]))
            errors = np.zeros(len(grid))
            for f in range(n_folds):
                test = folds == f
                fold_tree = GrownTree.grow(DecisionTreeClassifier(**settings), Xf[~test], yf[~test])
                errors += (fold_tree.predict_at(Xf[test], grid) != yf[test]).sum(axis=1)
            xerror = errors / full.root_risk
            for cp, avail, points in per_cp:
                best = int(np.argmin(xerror[np.searchsorted(grid, points)]))
                alpha = float(points[best])
                node_leaf, nodes = leaf_ids(full, alpha)
                if len(nodes) < 2:
                    continue
                leaf = node_leaf[full.estimator.apply(X)]
                key = pd.factorize(leaf)[0].tobytes()
                if key in seen:
                    continue
                seen.add(key)
                found.append(dict(n_leaves=len(nodes), cv_error=float(xerror[np.searchsorted(grid, alpha)]),
                                  criterion=criterion, min_samples_split=mss, cp=cp,
                                  _tree=(full, alpha, node_leaf, nodes, leaf)))
    return found


@dataclass(frozen=True, eq=False)
class PrunedTree:
    """A CART profile: a grown sklearn tree pruned (rpart-style) at ``alpha``.

    Attributes
    ----------
    estimator : sklearn.tree.DecisionTreeClassifier
        The grown tree *before* pruning (sklearn cannot hold a misclassification-pruned
        tree); use :meth:`apply` for the pruned leaves.
    alpha : float
        Cost-complexity level, in misclassified units per extra leaf.
    leaf_nodes : ndarray
        Node ids (in ``estimator.tree_``) of the pruned leaves, left to right.
    encoding : Encoding
        How covariates are turned into the tree's features.
    """

    grown: GrownTree = field(repr=False)
    alpha: float
    leaf_nodes: np.ndarray
    encoding: Encoding = field(repr=False)
    _node_leaf: np.ndarray = field(repr=False)

    def __post_init__(self):
        object.__setattr__(self, "leaf_nodes", readonly(self.leaf_nodes))
        object.__setattr__(self, "_node_leaf", readonly(self._node_leaf))

    @property
    def estimator(self):
        """The grown (unpruned) sklearn tree."""
        return self.grown.estimator

    @property
    def n_leaves(self) -> int:
        """Number of leaves after pruning."""
        return len(self.leaf_nodes)

    def apply(self, covariates: pd.DataFrame) -> np.ndarray:
        """Leaf (0..L-1, left to right) of each row of ``covariates`` (same columns as when fitted)."""
        return self._node_leaf[self.grown.estimator.apply(self.encoding.transform(covariates))]

    def predict(self, covariates: pd.DataFrame) -> np.ndarray:
        """Majority cluster label of each row's pruned leaf."""
        return self.grown.majority[np.asarray(self.leaf_nodes)[self.apply(covariates)]]



# ---------------------------------------------------------------------------------------------- rules
def _format_threshold(threshold: float, observed: np.ndarray) -> str:
    """Shortest rounding (>= 3 significant digits) that splits the observed values exactly as ``threshold``."""
    pos = np.searchsorted(observed, threshold, side="right")
    lo = observed[pos - 1] if pos > 0 else -np.inf
    hi = observed[pos] if pos < len(observed) else np.inf
    for digits in range(3, 18):
        text = np.format_float_positional(threshold, precision=digits, unique=False, fractional=False, trim="-")
        if lo <= float(text) < hi:
            return text
    return repr(float(threshold))  # pragma: no cover - 17 digits always reproduce the threshold


def _format_level(level) -> str:
    return str(level.item() if isinstance(level, np.generic) else level)


def leaf_rules(grown: GrownTree, nodes: np.ndarray, alpha: float, encoding: Encoding,
               covariates: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Rule text of each pruned leaf, and the covariates split on, in the covariates' column order.

    Numeric conditions on one column merge into the tightest interval
    (``age <= 41.5``, ``3.17 < econ_hard <= 4.5``); conditions on the dummies of
    a categorical merge into the set of levels still allowed
    (``occp in {sales, clerical}``, or ``occp = sales`` for one level).
    Thresholds are rounded to the fewest digits (at least 3 significant) that
    still put every observed value on the same side.
    """
    tree = grown.estimator.tree_
    observed = {}
    used = set()
    rules = []
    for node in nodes:
        path = []
        child = node
        while grown.parent[child] >= 0:
            path.append((grown.parent[child], child == tree.children_left[grown.parent[child]]))
            child = grown.parent[child]
        bounds: dict[int, list] = {}
        order: list[int] = []
        for anc, went_left in reversed(path):
            j, level = encoding.features[tree.feature[anc]]
            used.add(j)
            if j not in bounds:
                order.append(j)
                bounds[j] = [-np.inf, np.inf] if level is None else list(encoding.levels[j])
            if level is None:
                th = tree.threshold[anc]
                if went_left:
                    bounds[j][1] = min(bounds[j][1], th)
                else:
                    bounds[j][0] = max(bounds[j][0], th)
            elif went_left:  # dummy <= 0.5: not this level
                bounds[j] = [lv for lv in bounds[j] if lv != level]
            else:
                bounds[j] = [level]
        parts = []
        for j in order:
            name = encoding.columns[j]
            if encoding.levels[j] is None:
                if j not in observed:
                    observed[j] = np.unique(covariates[name].to_numpy(dtype=float))
                lo, hi = bounds[j]
                lo_s = None if lo == -np.inf else _format_threshold(lo, observed[j])
                hi_s = None if hi == np.inf else _format_threshold(hi, observed[j])
                if lo_s is not None and hi_s is not None:
                    parts.append(f"{lo_s} < {name} <= {hi_s}")
                elif lo_s is not None:
                    parts.append(f"{name} > {lo_s}")
                else:
                    parts.append(f"{name} <= {hi_s}")
            else:
                allowed = [_format_level(lv) for lv in bounds[j]]
                if len(allowed) == 1:
                    parts.append(f"{name} = {allowed[0]}")
                else:
                    parts.append(f"{name} in {{{', '.join(allowed)}}}")
        rules.append(" and ".join(parts))
    split_vars = tuple(encoding.columns[j] for j in sorted(used))
    return tuple(rules), split_vars

