"""The estimators' L2 penalty, sample and class weights, and early stopping on held-out data
(issue 13), each against scikit-learn's own ``MLPClassifier`` where it has the feature."""

import warnings

import numpy as np
import pytest
from conftest import sklearn_mlp_from
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils.class_weight import compute_sample_weight

from fastnet import Network, optim
from fastnet.sklearn import FastNetClassifier, FastNetRegressor


def small_data(n=150, d=5, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    score = X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.standard_normal(n)
    if classes == 2:
        return X, (score > 0).astype(int)
    return X, np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))


def _twin(clf, X, y, *, sample_weight=None, **solver):
    """``MLPClassifier`` full batch from ``clf``'s initial weights (``Network(seed=
    random_state)``), warm-started so that its early-stopping split is drawn from a fresh
    ``RandomState(random_state)``, as the estimator's is."""
    k = 1 if len(np.unique(y)) == 2 else len(np.unique(y))
    layers = (X.shape[1], *clf.hidden_layer_sizes, k)
    weights = Network(layers, seed=clf.random_state).weights
    sk = sklearn_mlp_from(weights, X, y, **solver)
    sk.set_params(max_iter=clf.max_iter, tol=clf.tol, n_iter_no_change=clf.n_iter_no_change,
                  early_stopping=clf.early_stopping, validation_fraction=clf.validation_fraction,
                  random_state=clf.random_state, warm_start=True)  # fmt: skip
    sk.loss_curve_, sk.best_loss_, sk._no_improvement_count = [], np.inf, 0
    if clf.early_stopping:
        sk.validation_scores_, sk.best_validation_score_ = [], -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Got `batch_size`")  # the training split is smaller
        sk.fit(X, y, sample_weight=sample_weight)
    return sk


def _assert_same_model(clf, sk):
    assert clf.n_iter_ == sk.n_iter_
    np.testing.assert_allclose(clf.loss_curve_, sk.loss_curve_, rtol=1e-10)
    for (W, b), Wk, bk in zip(clf.network_.weights, sk.coefs_, sk.intercepts_, strict=True):
        np.testing.assert_allclose(W, Wk, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, bk, rtol=1e-9, atol=1e-12)


GD = dict(solver="sgd", momentum=0.0, learning_rate_init=0.5)


# ---------------------------------------------------------------------- alpha, weights
@pytest.mark.parametrize("classes", [2, 4])
def test_alpha_and_sample_weight_fit_as_mlp_classifier(classes):
    X, y = small_data(classes=classes)
    w = np.random.default_rng(1).uniform(0, 3, len(y))
    clf = FastNetClassifier(hidden_layer_sizes=(6,), solver="gd", learning_rate=0.5, alpha=0.3,
                            max_iter=1000, tol=1e-3, random_state=2)  # fmt: skip
    clf.fit(X, y, sample_weight=w)
    sk = _twin(clf, X, y, sample_weight=w, alpha=0.3, **GD)
    assert clf.n_iter_ < 1000  # stopped by the rule, at scikit-learn's epoch
    _assert_same_model(clf, sk)
    np.testing.assert_allclose(clf.predict_proba(X), sk.predict_proba(X), rtol=1e-9)


def test_the_penalty_shrinks_the_weights():
    X, y = small_data()
    kw = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=200, random_state=0, tol=None)
    nets = [FastNetClassifier(alpha=a, **kw).fit(X, y).network_ for a in (0.0, 1.0, 10.0)]
    norms = [sum(float(np.sum(W**2)) for W, _ in net.weights) for net in nets]
    assert norms[0] > norms[1] > norms[2]


def test_class_weight_is_a_per_class_sample_weight():
    X, y = small_data(classes=3)
    kw = dict(hidden_layer_sizes=(5,), solver="gd", max_iter=40, tol=None, random_state=0)
    balanced = FastNetClassifier(class_weight="balanced", **kw).fit(X, y)
    by_rows = FastNetClassifier(**kw).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(balanced.loss_curve_, by_rows.loss_curve_)
    # a dict: unnamed classes weigh 1, and sample_weight multiplies in
    w = np.random.default_rng(0).uniform(0.5, 2, len(y))
    by_dict = FastNetClassifier(class_weight={0: 3.0, 2: 0.5}, **kw).fit(X, y, sample_weight=w)
    expected = FastNetClassifier(**kw).fit(X, y, sample_weight=w * np.array([3.0, 1.0, 0.5])[y])
    np.testing.assert_array_equal(by_dict.loss_curve_, expected.loss_curve_)
    # string labels
    labels = np.array(["a", "b", "c"])[y]
    named = FastNetClassifier(class_weight={"a": 3.0, "c": 0.5}, **kw)
    named.fit(X, labels, sample_weight=w)
    np.testing.assert_array_equal(named.loss_curve_, expected.loss_curve_)


def test_a_zero_weight_drops_the_row_for_the_regressor_too():
    X, _ = small_data(n=200)
    y = 40 * X[:, 0] - 10 * X[:, 1] ** 2 + 100
    w = np.random.default_rng(3).uniform(0, 2, len(y))
    w[::4] = 0
    keep = w > 0
    kw = dict(hidden_layer_sizes=(6,), solver="adam", learning_rate=0.01, max_iter=60, tol=None,
              random_state=0)  # fmt: skip
    a = FastNetRegressor(**kw).fit(X, y, sample_weight=w)
    b = FastNetRegressor(**kw).fit(X[keep], y[keep], sample_weight=w[keep])
    np.testing.assert_allclose(a.target_offset_, b.target_offset_, rtol=1e-13)  # weighted stats
    np.testing.assert_allclose(a.target_scale_, b.target_scale_, rtol=1e-13)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "sample_weight", "exc", "match"),
    [
        ({}, -np.ones(150), ValueError, "sample_weight must be non-negative"),
        ({}, np.ones(149), ValueError, "sample_weight has 149 values but X has 150 samples"),
        ({}, np.r_[np.nan, np.ones(149)], ValueError, "sample_weight contains NaN or infinity"),
        ({"class_weight": {0: 0.0}}, np.r_[np.zeros(150)], ValueError,
         "sample_weight is all zero"),
        ({"class_weight": {0: 0.0, 1: 0.0}}, None, ValueError,
         "class_weight and sample_weight leave every row with weight 0"),
        ({"class_weight": "balanced"}, None, None, None),
    ],
)  # fmt: skip
def test_bad_weights_are_named_and_leave_the_estimator_alone(kwargs, sample_weight, exc, match):
    X, y = small_data()
    clf = FastNetClassifier(solver="gd", max_iter=3, tol=None, **kwargs)
    if exc is None:  # a partial_fit with "balanced" weights is the error here
        with pytest.raises(ValueError, match="class_weight='balanced' is not supported for"):
            clf.partial_fit(X, y, classes=[0, 1])
        assert not hasattr(clf, "network_")
        return
    with pytest.raises(exc, match=match):
        clf.fit(X, y, sample_weight=sample_weight)
    assert not hasattr(clf, "network_")


def test_class_weight_does_not_apply_to_multilabel_targets():
    X, y = small_data()
    Y = np.column_stack([y, 1 - y])
    with pytest.raises(ValueError, match="class_weight does not apply to multi-label targets"):
        FastNetClassifier(class_weight="balanced").fit(X, Y)


# ---------------------------------------------------------------------- early stopping
@pytest.mark.parametrize("weighted", [False, True])
def test_early_stopping_follows_mlp_classifier(weighted):
    X, y = small_data(n=300)
    w = np.random.default_rng(4).uniform(0.2, 2, len(y)) if weighted else None
    clf = FastNetClassifier(hidden_layer_sizes=(6,), solver="gd", learning_rate=0.5,
                            early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                            tol=1e-3, max_iter=500, random_state=7)  # fmt: skip
    clf.fit(X, y, sample_weight=w)
    sk = _twin(clf, X, y, sample_weight=w, **GD)
    assert 5 < clf.n_iter_ < 500
    np.testing.assert_allclose(clf.validation_scores_, sk.validation_scores_, rtol=1e-12)
    assert clf.best_validation_score_ == pytest.approx(sk.best_validation_score_, rel=1e-12)
    _assert_same_model(clf, sk)  # the best epoch's weights, restored


def test_early_stopping_holds_out_scikit_learns_split_and_restores_the_best_weights():
    X, y = small_data(n=200)
    clf = FastNetClassifier(hidden_layer_sizes=(6,), solver="adam", learning_rate=0.05,
                            early_stopping=True, n_iter_no_change=8, max_iter=400,
                            random_state=3).fit(X, y)  # fmt: skip
    X_tr, X_val, y_tr, y_val = train_test_split(
        X, y, test_size=0.1, stratify=y, random_state=np.random.RandomState(3)
    )
    assert len(clf.loss_curve_) == clf.n_iter_ == len(clf.validation_scores_)
    # the restored weights score best_validation_score_ on the held-out rows
    assert clf.score(X_val, y_val) == clf.best_validation_score_ == max(clf.validation_scores_)
    # the training loss is the loss of the training split only
    net = clf.network_
    assert net.validation_history_.shape == (clf.n_iter_,)
    best = int(np.argmax(clf.validation_scores_))
    assert clf.n_iter_ == best + 1 + 8 + 1 or clf.n_iter_ == 400
    assert float(net.loss(X_val, y_val)) == pytest.approx(net.validation_history_[best], rel=1e-9)
    assert float(net.loss(X_tr, y_tr)) < clf.loss_curve_[0]


def test_early_stopping_regressor_scores_r2_and_partial_fit_refuses_it():
    X, _ = small_data(n=300)
    y = 40 * X[:, 0] - 10 * X[:, 1] ** 2 + 100
    reg = FastNetRegressor(hidden_layer_sizes=(8,), solver="adam", learning_rate=0.02,
                           early_stopping=True, max_iter=300, random_state=0)  # fmt: skip
    reg.fit(X, y)
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1,
                                          random_state=np.random.RandomState(0))  # fmt: skip
    assert reg.score(X_val, y_val) == pytest.approx(reg.best_validation_score_, rel=1e-9)
    assert reg.best_validation_score_ > 0.8
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        reg.partial_fit(X, y)


def test_early_stopping_on_multilabel_and_multiclass_targets():
    X, y = small_data(n=300, classes=3)
    clf = FastNetClassifier(hidden_layer_sizes=(8,), early_stopping=True, random_state=0,
                            max_iter=200).fit(X, y)  # fmt: skip
    assert clf.network_.output == "softmax" and len(clf.validation_scores_) == clf.n_iter_
    Y = np.column_stack([y == 0, y == 2]).astype(int)
    multi = FastNetClassifier(hidden_layer_sizes=(8,), early_stopping=True, random_state=0,
                              max_iter=200).fit(X, Y)  # fmt: skip
    assert 0.5 < multi.best_validation_score_ <= 1


def test_a_split_that_leaves_a_class_out_is_named():
    X, y = small_data(n=102, classes=2)
    y = y.copy()
    y[:2] = 2  # a class of two rows: the stratified 6-row validation split cannot hold it
    clf = FastNetClassifier(early_stopping=True, validation_fraction=0.05)
    with pytest.raises(ValueError, match=r"leaves classes \[2\] out of the validation split"):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


def test_without_early_stopping_there_are_no_validation_scores():
    X, y = small_data()
    clf = FastNetClassifier(max_iter=5, tol=None).fit(X, y)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


# ---------------------------------------------------------------------- scikit-learn's names
def test_lbfgs_ignores_learning_rate_init_and_constant_is_the_schedule():
    X, y = small_data()
    base = FastNetClassifier(max_iter=20, random_state=0, tol=None).fit(X, y)
    # MLPClassifier's defaults: learning_rate="constant", learning_rate_init=0.001
    same = FastNetClassifier(max_iter=20, random_state=0, tol=None, learning_rate="constant",
                             learning_rate_init=0.001).fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(base.loss_curve_, same.loss_curve_)
    gd = FastNetClassifier(solver="gd", learning_rate="constant", learning_rate_init=0.2,
                           max_iter=5, tol=None).fit(X, y)  # fmt: skip
    assert gd.network_.optimizer.lr == 0.2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter=80
@pytest.mark.parametrize("nesterov", [True, False])
def test_every_mlp_classifier_parameter_works_unchanged(nesterov):
    # all of MLPClassifier's parameters (its get_params), for a logistic full-batch sgd network
    X, y = small_data()
    sk_params = MLPClassifier(hidden_layer_sizes=(5,), activation="logistic", solver="sgd",
                              batch_size=len(X), learning_rate_init=0.2, alpha=1e-3,
                              nesterovs_momentum=nesterov, max_iter=80, shuffle=False,
                              random_state=4).get_params()  # fmt: skip
    clf = FastNetClassifier(**sk_params).fit(X, y)
    assert clf.get_params().items() >= sk_params.items()
    assert clf.network_.optimizer == optim.Momentum(lr=0.2, momentum=0.9, nesterov=nesterov)
    sk = _twin(
        clf,
        X,
        y,
        **{
            k: sk_params[k]
            for k in ("solver", "learning_rate_init", "alpha", "momentum", "nesterovs_momentum")
        },
    )
    _assert_same_model(clf, sk)


def test_max_fun_other_than_the_default_is_refused():
    X, y = small_data()
    with pytest.raises(ValueError, match="max_fun=100 is not supported: fastnet's L-BFGS"):
        FastNetClassifier(max_fun=100).fit(X, y)


def test_sparse_input_with_weights_and_early_stopping_equals_the_dense_fit():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = small_data(n=300)
    X[np.abs(X) < 0.7] = 0
    w = np.random.default_rng(5).uniform(0.5, 2, len(y))
    kw = dict(hidden_layer_sizes=(6,), solver="adam", learning_rate=0.02, alpha=1e-3,
              early_stopping=True, class_weight="balanced", max_iter=100,
              random_state=1)  # fmt: skip
    dense = FastNetClassifier(**kw).fit(X, y, sample_weight=w)
    csr = FastNetClassifier(**kw).fit(sparse.csr_matrix(X), y, sample_weight=w)
    assert csr.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(csr.loss_curve_, dense.loss_curve_, rtol=1e-12)
    assert csr.validation_scores_ == dense.validation_scores_
    np.testing.assert_allclose(csr.predict_proba(sparse.csc_matrix(X)), dense.predict_proba(X),
                               rtol=1e-10)  # fmt: skip
