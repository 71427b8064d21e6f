"""scikit-learn's own MLP tests, ported to ``FastNetClassifier``/``FastNetRegressor``.

Every test of ``sklearn/neural_network/tests/test_mlp.py`` and ``test_base.py`` (scikit-learn
1.9.1) whose feature exists here, under the original's name, with its intent and thresholds;
each docstring names the original and says what had to change and why. scikit-learn's
parameters are mapped by ``mlp`` below: its defaults where fastnet's differ
(``solver="adam"``, ``hidden_layer_sizes=100``, ``learning_rate_init=0.001``,
``max_iter=200``, ``tol=1e-4``, the penalty ``alpha=1e-4``: fastnet's default is 0);
``solver="sgd"`` is scikit-learn's in both (Nesterov's momentum by default). fastnet trains
full-batch, which is what scikit-learn's ``sgd``/``adam`` do on these data sets of at most 200
rows (``batch_size="auto"`` is ``min(200, n_samples)``). Throughout:

- only ``activation="logistic"``: the tests that loop over ``ACTIVATION_TYPES`` keep the logistic
  case, and those that use scikit-learn's default relu run logistic units (fastnet's hidden
  layers are all sigmoids);
- the regressor's ``loss_curve_`` (and so its ``tol`` and the weight of ``alpha`` against the
  data term) is in fastnet's units: the mean squared error of the standardised targets, where
  scikit-learn's is half the squared error of the raw ones.

Ported (38): as written unless it says what was adapted (the reasons are in each docstring).

- ``test_base.py::test_binary_log_loss_1_prob_finite``: fastnet's log loss takes logits, so the
  probabilities are made by logits.
- ``test_base.py::test_log_loss_1_prob_finite``: the same, for the softmax case too.
- ``test_mlp.py::test_alpha``.
- ``test_mlp.py::test_fit``: the weights are set through ``network_``.
- ``test_mlp.py::test_gradient``: logistic only; plus a check of the penalty's value.
- ``test_mlp.py::test_lbfgs_classification``: logistic only.
- ``test_mlp.py::test_lbfgs_regression``: logistic only; ``tol=None`` (``tol`` is SciPy's
  ``gtol`` in scikit-learn's L-BFGS, fastnet's loss-based rule in its own).
- ``test_mlp.py::test_learning_rate_warmstart``: the ``"constant"`` half.
- ``test_mlp.py::test_multilabel_classification``.
- ``test_mlp.py::test_multioutput_regression``: logistic hidden units.
- ``test_mlp.py::test_partial_fit_classes_error``.
- ``test_mlp.py::test_partial_fit_classification``.
- ``test_mlp.py::test_partial_fit_unseen_classes``.
- ``test_mlp.py::test_partial_fit_regression``: logistic units; the fit with ``tol=None`` (from
  fastnet's initial weights it meets the stopping rule at epoch 77).
- ``test_mlp.py::test_partial_fit_errors``: its first half.
- ``test_mlp.py::test_nonfinite_params``: fastnet's own message (it raises before training).
- ``test_mlp.py::test_predict_proba_binary``.
- ``test_mlp.py::test_predict_proba_multiclass``: logistic hidden units.
- ``test_mlp.py::test_predict_proba_multilabel``: ``predict_log_proba`` compared with
  ``log(predict_proba)`` only where the latter is not limited by rounding (``p < 1 - 1e-8``).
- ``test_mlp.py::test_tolerance``.
- ``test_mlp.py::test_verbose_sgd``: fastnet prints "Epoch N", scikit-learn "Iteration N".
- ``test_mlp.py::test_early_stopping``: without the ``best_loss_`` checks (no ``best_loss_``).
- ``test_mlp.py::test_warm_start``: the message's class lists as Python lists (``[0, 1, 2]``).
- ``test_mlp.py::test_warm_start_full_iteration``.
- ``test_mlp.py::test_n_iter_no_change``: the no-improvement count recomputed from
  ``loss_curve_`` (no ``_no_improvement_count``).
- ``test_mlp.py::test_n_iter_no_change_inf``: the same.
- ``test_mlp.py::test_early_stopping_stratified``: the class is named ``1``, not ``'True'``.
- ``test_mlp.py::test_mlp_early_stopping_string_labels``.
- ``test_mlp.py::test_mlp_classifier_dtypes_casting``.
- ``test_mlp.py::test_mlp_regressor_dtypes_casting``: its fits' ConvergenceWarning ignored
  (they run all 150 epochs; scikit-learn's stop at 109).
- ``test_mlp.py::test_mlp_param_dtypes``: the weights are ``network_.weights``.
- ``test_mlp.py::test_mlp_loading_from_joblib_partial_fit``: ``alpha=0`` (with ``1e-4`` the 200
  epochs end at 1.000104, just outside ``rtol=1e-4``).
- ``test_mlp.py::test_preserve_feature_names``: two classes for the classifier (fastnet
  refuses a single class).
- ``test_mlp.py::test_mlp_warm_start_with_early_stopping``.
- ``test_mlp.py::test_mlp_warm_start_no_convergence``: also checks that no
  ``fastnet.FitWarning`` hides among the warnings.
- ``test_mlp.py::test_mlp_partial_fit_after_fit``.
- ``test_mlp.py::test_mlp_sample_weight_with_early_stopping``: without ``batch_size=10``
  (full-batch only).
- ``test_mlp.py::test_minimum_input_sample_size``.

- ``test_mlp.py::test_sparse_matrices`` (CSC containers added).

Where a port had to adapt an assertion, its docstring says what the original asserts and why
that fails on fastnet.

Tests that cannot apply (7, and three parts of ported tests), by original name:

- ``test_base.py::test_poisson_loss``: fastnet has no Poisson loss (nor scikit-learn's private
  ``poisson_loss`` helper it tests).
- ``test_mlp.py::test_lbfgs_classification_maxfun``: there is no ``max_fun`` (a budget of
  L-BFGS loss evaluations); fastnet's L-BFGS is bounded by ``max_iter`` only.
- ``test_mlp.py::test_lbfgs_regression_maxfun``: the same, for the regressor.
- ``test_mlp.py::test_shuffle``: it needs mini-batches (``batch_size=1``) for ``shuffle`` to change
  the result; fastnet is full-batch only, where shuffling the rows only reorders one sum, and
  ``shuffle`` changes nothing (tests/test_sklearn.py checks that).
- ``test_mlp.py::test_adaptive_learning_rate``: ``learning_rate="adaptive"`` is a schedule;
  fastnet's step is constant (``"constant"`` is the only schedule it accepts).
- ``test_mlp.py::test_mlp_diverging_loss``: an ``activation="identity"`` network with
  ``early_stopping``; fastnet has sigmoid hidden layers only, and a diverging fit raises
  ``fastnet.DivergedError`` by design (README, "Divergence") instead of recording NaN scores.
- ``test_mlp.py::test_mlp_vs_poisson_glm_equivalent``: a Poisson loss and an identity hidden layer,
  neither of which fastnet has.
- ``test_mlp.py::test_learning_rate_warmstart``, its ``learning_rate="invscaling"`` half: a
  schedule (the ``"constant"`` half is ported).
- ``test_mlp.py::test_partial_fit_errors``, its second half (``solver="lbfgs"`` has no
  ``partial_fit``): fastnet's ``partial_fit`` runs L-BFGS iterations too, on purpose (its state is
  kept between calls); the first half is ported.
- ``test_mlp.py::test_early_stopping``, its ``best_loss_`` checks: fastnet's estimators have no
  ``best_loss_`` (the rest is ported).
"""

import re
import warnings
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_almost_equal, assert_array_equal
from scipy.special import logsumexp
from sklearn.datasets import (
    load_digits,
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import LabelBinarizer, MinMaxScaler, scale
from sklearn.utils.fixes import CSC_CONTAINERS, CSR_CONTAINERS

import fastnet
from fastnet import Network
from fastnet.sklearn import FastNetClassifier, FastNetRegressor

# The data sets of test_mlp.py, built as there.
X_digits, y_digits = load_digits(n_class=3, return_X_y=True)

X_digits_multi = MinMaxScaler().fit_transform(X_digits[:200])
y_digits_multi = y_digits[:200]

X_digits, y_digits = load_digits(n_class=2, return_X_y=True)

X_digits_binary = MinMaxScaler().fit_transform(X_digits[:200])
y_digits_binary = y_digits[:200]

classification_datasets = [
    (X_digits_multi, y_digits_multi),
    (X_digits_binary, y_digits_binary),
]

X_reg, y_reg = make_regression(
    n_samples=200, n_features=10, bias=20.0, noise=100.0, random_state=7
)
y_reg = scale(y_reg)
regression_datasets = [(X_reg, y_reg)]

iris = load_iris()

X_iris = iris.data
y_iris = iris.target

#: scikit-learn's MLP defaults where fastnet's estimators have other ones (the relu
#: ``activation`` aside: see the module docstring).
MLP_DEFAULTS = {
    "hidden_layer_sizes": (100,),
    "solver": "adam",
    "max_iter": 200,
    "tol": 1e-4,
    "alpha": 1e-4,
}
#: ``learning_rate_init``'s default, for the solvers that take a step size.
MLP_LEARNING_RATE_INIT = 0.001


def mlp(Estimator, **params):
    """``Estimator`` built as scikit-learn's ``MLPClassifier(**params)`` /
    ``MLPRegressor(**params)`` would be: scikit-learn's defaults for what ``params`` leaves out
    (the penalty ``alpha=1e-4`` among them; ``solver="sgd"`` is scikit-learn's, with
    ``nesterovs_momentum=True`` by default, in both libraries). Nothing given is dropped: a
    parameter fastnet refuses is an error here."""
    params = {**MLP_DEFAULTS, **params}
    if params["solver"] != "lbfgs":  # lbfgs ignores it, in both libraries
        params.setdefault("learning_rate_init", MLP_LEARNING_RATE_INIT)
    return Estimator(**params)


@contextmanager
def ignore_convergence():
    """scikit-learn's ``ignore_warnings(category=ConvergenceWarning)``, except that a fit that
    ends with a useless model (``fastnet.FitWarning``, which the estimators' warning also is a
    ``ConvergenceWarning``) still fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", fastnet.FitWarning)
        yield


def _flat(weights):
    return np.concatenate([a.ravel() for pair in weights for a in pair])


def _unflat(theta, like):
    """``theta`` (as ``_flat`` lays it out) as ``[(W, b), ...]`` shaped like ``like``."""
    out, i = [], 0
    for W, b in like:
        Wn = theta[i : i + W.size].reshape(W.shape)
        i += W.size
        out.append((Wn, theta[i : i + b.size]))
        i += b.size
    return out


def _sklearn_no_improvement_counts(curve, tol):
    """scikit-learn's ``_no_improvement_count`` after each epoch of ``curve``
    (``BaseMultilayerPerceptron._update_no_improvement_count``, written out here)."""
    best, count, counts = np.inf, 0, []
    for loss in curve:
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        counts.append(count)
    return counts


# ---------------------------------------------------------------------- test_base.py
def _logistic_network(logits):
    """A network without hidden layers whose logits on ``X = logits`` are ``logits``."""
    k = logits.shape[1]
    weights = [(np.eye(k), np.zeros(k))]
    if k == 1:
        return Network.from_weights(weights, loss="log")
    return Network.from_weights(weights, loss="cross_entropy", output="softmax")


def test_binary_log_loss_1_prob_finite():
    """Port of test_base.py::test_binary_log_loss_1_prob_finite: a predicted probability equal
    to one for a negative sample gives a finite log loss. scikit-learn tests its private
    ``binary_log_loss`` on probabilities; fastnet's loss (the one the estimators train on) is
    computed from the logits, so the probabilities [0.9, 1.0, 1.0] are made by logits."""
    y_true = np.array([[0, 0, 1]]).T
    z = np.array([[np.log(9.0), 40.0, 40.0]]).T  # sigmoid: 0.9 and, in float64, exactly 1.0
    net = _logistic_network(z)
    assert_allclose(net.predict_proba(z), [0.9, 1.0, 1.0], rtol=1e-15)
    assert net.predict_proba(z)[1] == 1.0

    loss, grads = net.loss_and_gradients(z, y_true)
    assert np.isfinite(loss)
    # -[y log p + (1 - y) log(1 - p)] from the logits, by NumPy
    expected = np.mean(np.where(y_true[:, 0] == 1, np.logaddexp(0, -z[:, 0]),
                                np.logaddexp(0, z[:, 0])))  # fmt: skip
    assert loss == pytest.approx(expected, rel=1e-12)
    assert all(np.isfinite(g).all() for pair in grads for g in pair)


@pytest.mark.parametrize(
    "y_true, logits",
    [
        # the probabilities [[0, 1, 0], [0.9, 0.05, 0.05]]: the first row's true class is 0
        (
            np.array([[1, 0, 0], [0, 1, 0]]),
            np.array([[-800.0, 0.0, -800.0], np.log([0.9, 0.05, 0.05])]),
        ),
        # the probabilities [0.9, 1.0, 1.0] of the binary case
        (np.array([[0, 0, 1]]).T, np.array([[np.log(9.0), 40.0, 40.0]]).T),
    ],
)
def test_log_loss_1_prob_finite(y_true, logits):
    """Port of test_base.py::test_log_loss_1_prob_finite: probabilities equal to 1 (and so 0
    for the other classes, the true one among them) give a finite log loss. As in
    ``test_binary_log_loss_1_prob_finite``, fastnet's losses take logits: the softmax case is
    the categorical cross-entropy of a softmax output whose first row is [0, 1, 0] to float64
    precision, the second case the binary one."""
    net = _logistic_network(logits)
    P = net.predict_proba(logits).reshape(len(logits), -1)
    saturated = P[0, 1] if logits.shape[1] > 1 else P[1, 0]
    assert saturated == 1.0
    loss = net.loss(logits, y_true)
    assert np.isfinite(loss)
    if logits.shape[1] > 1:  # -sum_j y_j log softmax(z)_j, by SciPy's logsumexp
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        expected = -np.mean(np.sum(y_true * logp, axis=1))
    else:
        z, y = logits[:, 0], y_true[:, 0]
        expected = np.mean(np.where(y == 1, np.logaddexp(0, -z), np.logaddexp(0, z)))
    assert loss == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------- test_mlp.py
def test_alpha():
    """Port of test_mlp.py::test_alpha: a larger ``alpha`` gives weights closer to zero, in
    every layer."""
    # Test that larger alpha yields weights closer to zero
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]

    alpha_vectors = []
    alpha_values = np.arange(2)

    def absolute_sum(x):
        return np.sum(np.abs(x))

    for alpha in alpha_values:
        mlp_ = mlp(FastNetClassifier, hidden_layer_sizes=10, alpha=alpha, random_state=1)
        with ignore_convergence():
            mlp_.fit(X, y)
        (W1, _), (W2, _) = mlp_.network_.weights
        alpha_vectors.append(np.array([absolute_sum(W1), absolute_sum(W2)]))

    for i in range(len(alpha_values) - 1):
        assert (alpha_vectors[i] > alpha_vectors[i + 1]).all()


def test_fit():
    """Port of test_mlp.py::test_fit: one step of ``sgd`` (momentum 0, step 0.1, penalty
    ``alpha=0.1``) from given weights equals the worked-out example, to its 3 decimals.
    scikit-learn sets ``coefs_``/``intercepts_`` and its solver's private state by hand; here a
    first ``partial_fit`` builds the estimator and ``network_`` is then replaced by a network of
    the given weights (a fresh optimizer state: zero velocity). At 3 decimals the penalty shows
    in ``W1[2, 0]`` (0.494 with it, 0.4988 without)."""
    X = np.array([[0.6, 0.8, 0.7]])
    y = np.array([0])
    mlp_ = mlp(FastNetClassifier, solver="sgd", learning_rate_init=0.1, alpha=0.1,
               activation="logistic", random_state=1, max_iter=1, hidden_layer_sizes=2,
               momentum=0)  # fmt: skip
    mlp_.partial_fit(X, y, classes=[0, 1])  # builds the estimator; its weights are then set
    # set weights
    weights = [
        (np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([0.1, 0.1])),
        (np.array([[0.1], [0.2]]), np.array([1.0])),
    ]
    mlp_.network_ = Network.from_weights(weights, loss="log")
    mlp_.loss_curve_, mlp_.n_iter_ = [], 0

    mlp_.partial_fit(X, y, classes=[0, 1])
    # Manually worked out example
    # h1 = g(X1 * W_i1 + b11) = g(0.6 * 0.1 + 0.8 * 0.3 + 0.7 * 0.5 + 0.1)
    #       =  0.679178699175393
    # h2 = g(X2 * W_i2 + b12) = g(0.6 * 0.2 + 0.8 * 0.1 + 0.7 * 0 + 0.1)
    #         = 0.574442516811659
    # o1 = g(h * W2 + b21) = g(0.679 * 0.1 + 0.574 * 0.2 + 1)
    #       = 0.7654329236196236
    # d21 = -(0 - 0.765) = 0.765
    # d11 = (1 - 0.679) * 0.679 * 0.765 * 0.1 = 0.01667
    # d12 = (1 - 0.574) * 0.574 * 0.765 * 0.2 = 0.0374
    # W1grad11 = X1 * d11 + alpha * W11 = 0.6 * 0.01667 + 0.1 * 0.1 = 0.0200
    # W1grad11 = X1 * d12 + alpha * W12 = 0.6 * 0.0374 + 0.1 * 0.2 = 0.04244
    # W1grad21 = X2 * d11 + alpha * W13 = 0.8 * 0.01667 + 0.1 * 0.3 = 0.043336
    # W1grad22 = X2 * d12 + alpha * W14 = 0.8 * 0.0374 + 0.1 * 0.1 = 0.03992
    # W1grad31 = X3 * d11 + alpha * W15 = 0.6 * 0.01667 + 0.1 * 0.5 = 0.060002
    # W1grad32 = X3 * d12 + alpha * W16 = 0.6 * 0.0374 + 0.1 * 0 = 0.02244
    # W2grad1 = h1 * d21 + alpha * W21 = 0.679 * 0.765 + 0.1 * 0.1 = 0.5294
    # W2grad2 = h2 * d21 + alpha * W22 = 0.574 * 0.765 + 0.1 * 0.2 = 0.45911
    # b1grad1 = d11 = 0.01667
    # b1grad2 = d12 = 0.0374
    # b2grad = d21 = 0.765
    # W1 = W1 - eta * [W1grad11, .., W1grad32] = [[0.1, 0.2], [0.3, 0.1],
    #          [0.5, 0]] - 0.1 * [[0.0200, 0.04244], [0.043336, 0.03992],
    #          [0.060002, 0.02244]] = [[0.098, 0.195756], [0.2956664,
    #          0.096008], [0.4939998, -0.002244]]
    # W2 = W2 - eta * [W2grad1, W2grad2] = [[0.1], [0.2]] - 0.1 *
    #        [[0.5294], [0.45911]] = [[0.04706], [0.154089]]
    # b1 = b1 - eta * [b1grad1, b1grad2] = 0.1 - 0.1 * [0.01667, 0.0374]
    #         = [0.098333, 0.09626]
    # b2 = b2 - eta * b2grad = 1.0 - 0.1 * 0.765 = 0.9235
    (W1, b1), (W2, b2) = mlp_.network_.weights
    assert_almost_equal(
        W1,
        np.array([[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]]),
        decimal=3,
    )
    assert_almost_equal(W2, np.array([[0.04706], [0.154089]]), decimal=3)
    assert_almost_equal(b1, np.array([0.098333, 0.09626]), decimal=3)
    assert_almost_equal(b2, np.array(0.9235), decimal=3)
    # Testing output
    #  h1 = g(X1 * W_i1 + b11) = g(0.6 * 0.098 + 0.8 * 0.2956664 +
    #               0.7 * 0.4939998 + 0.098333) = 0.677
    #  h2 = g(X2 * W_i2 + b12) = g(0.6 * 0.195756 + 0.8 * 0.096008 +
    #            0.7 * -0.002244 + 0.09626) = 0.572
    #  o1 = h * W2 + b21 = 0.677 * 0.04706 +
    #             0.572 * 0.154089 + 0.9235 = 1.043
    #  prob = sigmoid(o1) = 0.739
    assert_almost_equal(mlp_.predict_proba(X)[0, 1], 0.739, decimal=3)


def test_gradient():
    """Port of test_mlp.py::test_gradient: the analytical gradient of the penalised training
    loss (``alpha=1e-5``) agrees with central differences (epsilon 1e-5,
    ``assert_almost_equal``'s 7 decimals), for 2 and 3 labels, from the weights after one
    L-BFGS iteration. Logistic hidden units only. scikit-learn's ``_loss_grad_lbfgs`` is
    fastnet's ``network_.loss_and_gradients(X, Y, alpha=alpha)``; the loss at the perturbed
    weights is that of a network built from them. The penalty's gradient here (about
    ``2e-6 * W``) is above the 7 decimals' ``1.5e-7``: a penalty missing from the gradient
    fails; its value is also checked against scikit-learn's definition."""
    alpha = 1e-5
    for n_labels in [2, 3]:
        n_samples = 5
        n_features = 10
        random_state = np.random.RandomState(seed=42)
        X = random_state.rand(n_samples, n_features)
        y = 1 + np.mod(np.arange(n_samples) + 1, n_labels)
        Y = LabelBinarizer().fit_transform(y)

        mlp_ = mlp(FastNetClassifier, activation="logistic", hidden_layer_sizes=10,
                   solver="lbfgs", alpha=alpha, learning_rate_init=0.2, max_iter=1,
                   random_state=1)  # fmt: skip
        with ignore_convergence():
            mlp_.fit(X, y)
        net = mlp_.network_
        assert net.layers == (n_features, 10, 1 if n_labels == 2 else n_labels)

        def loss_at(theta, net=net, X=X, Y=Y):
            weights = _unflat(theta, net.weights)
            rebuilt = Network.from_weights(weights, loss=net.loss_name, output=net.output)
            return rebuilt.loss(X, Y, alpha=alpha)

        theta = _flat(net.weights)
        value, grads = net.loss_and_gradients(X, Y, alpha=alpha)
        grad = _flat(grads)
        assert value == pytest.approx(loss_at(theta), rel=1e-12)
        # scikit-learn's penalty: alpha / (2 n) times the squared weights, biases excluded
        squares = sum(np.sum(W**2) for W, _ in net.weights)
        assert value == pytest.approx(net.loss(X, Y) + alpha / (2 * n_samples) * squares,
                                      rel=1e-12)  # fmt: skip
        numgrad = np.zeros(np.size(theta))
        n = np.size(theta, 0)
        E = np.eye(n)
        epsilon = 1e-5
        # numerically compute the gradients
        for i in range(n):
            dtheta = E[:, i] * epsilon
            numgrad[i] = (loss_at(theta + dtheta) - loss_at(theta - dtheta)) / (epsilon * 2.0)
        assert_almost_equal(numgrad, grad)


@pytest.mark.parametrize("X,y", classification_datasets)
def test_lbfgs_classification(X, y):
    """Port of test_mlp.py::test_lbfgs_classification: L-BFGS scores above 0.95 on the binary
    and the 3-class digits, and ``predict`` returns the labels' dtype kind. Logistic hidden
    units only."""
    X_train = X[:150]
    y_train = y[:150]
    X_test = X[150:]
    expected_shape_dtype = (X_test.shape[0], y_train.dtype.kind)

    mlp_ = mlp(FastNetClassifier, solver="lbfgs", hidden_layer_sizes=50, max_iter=150,
               shuffle=True, random_state=1, activation="logistic")  # fmt: skip
    mlp_.fit(X_train, y_train)
    y_predict = mlp_.predict(X_test)
    assert mlp_.score(X_train, y_train) > 0.95
    assert (y_predict.shape[0], y_predict.dtype.kind) == expected_shape_dtype


@pytest.mark.parametrize("X,y", regression_datasets)
def test_lbfgs_regression(X, y):
    """Port of test_mlp.py::test_lbfgs_regression: L-BFGS fits the noisy regression data with
    R^2 > 0.98 (the original's threshold for the non-linear activations; logistic only here).
    Adapted: ``tol=None`` (all ``max_iter=200`` iterations) instead of ``tol=1e-3``, because
    ``tol`` means something else for L-BFGS in the two libraries. scikit-learn passes it to
    SciPy as the gradient tolerance ``gtol`` (its run takes 142 iterations); fastnet's L-BFGS
    applies the loss-based stopping rule of its other solvers (a loss improvement below ``tol``
    for more than ``n_iter_no_change`` iterations), which with ``tol=1e-3`` stops after 80
    iterations at R^2 0.979."""
    mlp_ = mlp(FastNetRegressor, solver="lbfgs", hidden_layer_sizes=50, max_iter=200, tol=None,
               shuffle=True, random_state=1, activation="logistic")  # fmt: skip
    mlp_.fit(X, y)
    assert mlp_.n_iter_ == 200
    # Non linear models perform much better than linear bottleneck:
    assert mlp_.score(X, y) > 0.98


def test_learning_rate_warmstart():
    """Port of test_mlp.py::test_learning_rate_warmstart, its ``learning_rate="constant"`` half:
    a warm-started second fit keeps the step size (scikit-learn's
    ``_optimizer.learning_rate`` is fastnet's ``network_.optimizer.lr``); ``power_t`` is
    accepted and changes nothing, as in scikit-learn with this schedule. The ``"invscaling"``
    half cannot apply (no schedules)."""
    X = [[3, 2], [1, 6], [5, 6], [-2, -4]]
    y = [1, 1, 1, 0]
    mlp_ = mlp(FastNetClassifier, solver="sgd", hidden_layer_sizes=4, learning_rate="constant",
               max_iter=1, power_t=0.25, warm_start=True)  # fmt: skip
    with ignore_convergence():
        mlp_.fit(X, y)
        prev_eta = mlp_.network_.optimizer.lr
        mlp_.fit(X, y)
        post_eta = mlp_.network_.optimizer.lr

    assert prev_eta == post_eta


def test_multilabel_classification():
    """Port of test_mlp.py::test_multilabel_classification: multi-label ``fit`` (L-BFGS) scores
    above 0.97, 100 ``partial_fit`` calls (``sgd``) above 0.9, and early stopping works for
    multi-label targets (the split is not stratified for them)."""
    # test fit method
    X, y = make_multilabel_classification(n_samples=50, random_state=0, return_indicator=True)
    mlp_ = mlp(FastNetClassifier, solver="lbfgs", hidden_layer_sizes=50, alpha=1e-5,
               max_iter=150, random_state=0, activation="logistic",
               learning_rate_init=0.2)  # fmt: skip
    mlp_.fit(X, y)
    assert mlp_.score(X, y) > 0.97

    # test partial fit method
    mlp_ = mlp(FastNetClassifier, solver="sgd", hidden_layer_sizes=50, max_iter=150,
               random_state=0, activation="logistic", alpha=1e-5,
               learning_rate_init=0.2)  # fmt: skip
    for _i in range(100):
        mlp_.partial_fit(X, y, classes=[0, 1, 2, 3, 4])
    assert mlp_.score(X, y) > 0.9

    # Make sure early stopping still work now that splitting is stratified by
    # default (it is disabled for multilabel classification)
    mlp_ = mlp(FastNetClassifier, early_stopping=True)
    mlp_.fit(X, y).predict(X)


def test_multioutput_regression():
    """Port of test_mlp.py::test_multioutput_regression: five targets, R^2 above 0.9. Logistic
    hidden units (the original: scikit-learn's default relu)."""
    X, y = make_regression(n_samples=200, n_targets=5, random_state=11)
    mlp_ = mlp(FastNetRegressor, solver="lbfgs", hidden_layer_sizes=50, max_iter=200, tol=1e-2,
               random_state=1)  # fmt: skip
    mlp_.fit(X, y)
    assert mlp_.score(X, y) > 0.9


def test_partial_fit_classes_error():
    """Port of test_mlp.py::test_partial_fit_classes_error: other ``classes`` in a later
    ``partial_fit`` call are a ``ValueError``."""
    X = [[3, 2]]
    y = [0]
    clf = mlp(FastNetClassifier, solver="sgd")
    clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError):
        clf.partial_fit(X, y, classes=[1, 2])


def test_partial_fit_classification():
    """Port of test_mlp.py::test_partial_fit_classification: 100 ``partial_fit`` calls predict
    what a 100-epoch ``fit`` does (``tol=0``), binary and 3-class, scoring above 0.95. ``sgd``
    is full-batch in both (200 rows: scikit-learn's batches are ``min(200, n_samples)``
    rows)."""
    for X, y in classification_datasets:
        mlp_ = mlp(FastNetClassifier, solver="sgd", max_iter=100, random_state=1, tol=0,
                   alpha=1e-5, learning_rate_init=0.2)  # fmt: skip

        with ignore_convergence():
            mlp_.fit(X, y)
        pred1 = mlp_.predict(X)
        mlp_ = mlp(FastNetClassifier, solver="sgd", random_state=1, alpha=1e-5,
                   learning_rate_init=0.2)  # fmt: skip
        for _i in range(100):
            mlp_.partial_fit(X, y, classes=np.unique(y))
        pred2 = mlp_.predict(X)
        assert_array_equal(pred1, pred2)
        assert mlp_.score(X, y) > 0.95


def test_partial_fit_unseen_classes():
    """Port of test_mlp.py::test_partial_fit_unseen_classes (scikit-learn bug 6994): a class
    named in the first call's ``classes`` but absent from its batch can come in a later
    batch."""
    clf = mlp(FastNetClassifier, random_state=0)
    clf.partial_fit([[1], [2], [3]], ["a", "b", "c"], classes=["a", "b", "c", "d"])
    clf.partial_fit([[4]], ["d"])
    assert clf.score([[1], [2], [3], [4]], ["a", "b", "c", "d"]) > 0


def test_partial_fit_regression():
    """Port of test_mlp.py::test_partial_fit_regression: 100 ``partial_fit`` calls predict what a
    100-epoch ``fit`` does (full batch, momentum 0 and 0.9), with R^2 above 0.65. Adapted:
    logistic hidden units instead of relu (the only activation here; R^2 0.652 and 0.81), and
    the fit with ``tol=None``: the original relies on its fit running all 100 epochs (it
    ignores the ConvergenceWarning), which relu does under scikit-learn's default
    ``tol=1e-4``, but from fastnet's initial weights the logistic network's momentum run meets
    the stopping rule at epoch 77 (its predictions then differ from the 100 ``partial_fit``
    epochs' by 0.02)."""
    X = X_reg
    y = y_reg

    for momentum in [0, 0.9]:
        mlp_ = mlp(FastNetRegressor, solver="sgd", max_iter=100, activation="logistic",
                   random_state=1, learning_rate_init=0.01, batch_size=X.shape[0],
                   momentum=momentum, tol=None)  # fmt: skip
        mlp_.fit(X, y)
        assert mlp_.n_iter_ == 100
        pred1 = mlp_.predict(X)
        mlp_ = mlp(FastNetRegressor, solver="sgd", activation="logistic",
                   learning_rate_init=0.01, random_state=1, batch_size=X.shape[0],
                   momentum=momentum)  # fmt: skip
        for _i in range(100):
            mlp_.partial_fit(X, y)

        pred2 = mlp_.predict(X)
        assert_allclose(pred1, pred2)
        score = mlp_.score(X, y)
        assert score > 0.65


def test_partial_fit_errors():
    """Port of test_mlp.py::test_partial_fit_errors, its first half: ``classes`` that do not
    hold ``y``'s labels are a ``ValueError``. (The second half, L-BFGS without
    ``partial_fit``, cannot apply: see the module docstring.)"""
    X = [[3, 2], [1, 6]]
    y = [1, 0]

    # no classes passed
    with pytest.raises(ValueError):
        mlp(FastNetClassifier, solver="sgd").partial_fit(X, y, classes=[2])


def test_nonfinite_params():
    """Port of test_mlp.py::test_nonfinite_params: ``X = finfo.max * U(0, 1)`` is a
    ``ValueError`` that says the input needs preprocessing. fastnet raises it before training
    (the first layer's products would overflow) in its own words, naming ``X`` and suggesting
    to scale it, where scikit-learn says "Solver produced non-finite parameter weights. The
    input data may contain large values and need to be preprocessed."."""
    rng = np.random.RandomState(0)
    n_samples = 10
    fmax = np.finfo(np.float64).max
    X = fmax * rng.uniform(size=(n_samples, 2))
    y = rng.standard_normal(size=n_samples)

    clf = mlp(FastNetRegressor)
    with pytest.raises(ValueError, match=r"X has values as large as .*Scale X first"):
        with warnings.catch_warnings():
            # RuntimeWarning: overflow encountered in square
            warnings.simplefilter("ignore", RuntimeWarning)
            clf.fit(X, y)


def test_predict_proba_binary():
    """Port of test_mlp.py::test_predict_proba_binary: two columns, ``predict_log_proba``
    agrees with ``log(predict_proba)``, ROC AUC 1 on the training rows."""
    X = X_digits_binary[:50]
    y = y_digits_binary[:50]

    clf = mlp(FastNetClassifier, hidden_layer_sizes=5, activation="logistic", random_state=1)
    with ignore_convergence():
        clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    y_log_proba = clf.predict_log_proba(X)

    (n_samples, n_classes) = y.shape[0], 2

    proba_max = y_proba.argmax(axis=1)
    proba_log_max = y_log_proba.argmax(axis=1)

    assert y_proba.shape == (n_samples, n_classes)
    assert_array_equal(proba_max, proba_log_max)
    assert_allclose(y_log_proba, np.log(y_proba))

    assert roc_auc_score(y, y_proba[:, 1]) == 1.0


def test_predict_proba_multiclass():
    """Port of test_mlp.py::test_predict_proba_multiclass: one column per class,
    ``predict_log_proba`` agrees with ``log(predict_proba)``. Logistic hidden units (the
    original: the default relu)."""
    X = X_digits_multi[:10]
    y = y_digits_multi[:10]

    clf = mlp(FastNetClassifier, hidden_layer_sizes=5)
    with ignore_convergence():
        clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    y_log_proba = clf.predict_log_proba(X)

    (n_samples, n_classes) = y.shape[0], np.unique(y).size

    proba_max = y_proba.argmax(axis=1)
    proba_log_max = y_log_proba.argmax(axis=1)

    assert y_proba.shape == (n_samples, n_classes)
    assert_array_equal(proba_max, proba_log_max)
    assert_allclose(y_log_proba, np.log(y_proba))


def test_predict_proba_multilabel():
    """Port of test_mlp.py::test_predict_proba_multilabel: multi-label outputs are independent
    sigmoids (rows do not sum to 1, no softmax), the training labels are recovered, and
    ``predict_log_proba`` agrees with ``predict_proba`` (same arg-max; ``log(predict_proba)``
    within ``rtol=1e-7``). Adapted: the ``assert_allclose`` leaves out the probabilities within
    ``1e-8`` of 1, where fastnet's ``predict_log_proba``, computed from the logits
    (``-log1p(exp(-z))``), is exact and ``log(predict_proba)`` is not: ``log`` of a probability
    rounded to float64 has a relative error up to ``1.1e-16 / (1 - p)``. As written, 13 of the
    250 entries fail, all within ``7e-10`` of 1, by up to 1.8 % (at ``1 - p = 3.8e-15``,
    ``log(p) = -3.77e-15`` against the exact ``-3.70e-15``). scikit-learn's
    ``predict_log_proba`` is ``log(predict_proba)`` by definition, so they agree there to the
    last bit. Those entries are instead checked to be the exact value from the logits. (The
    same goes for probabilities below ``1e-30``, none here: there fastnet's float64 sigmoid
    kernel returns 0 below ``z = -88.7``, documented in ``fastnet/_kernels.py``, so
    ``predict_proba`` is floored at ``finfo.tiny`` while ``predict_log_proba`` is exact;
    without scikit-learn's ``alpha=1e-4`` this network saturates, and then 66 of its logits
    are below -88.7 and rows with several probabilities of 1.0 tie in ``predict_proba``'s
    arg-max.)"""
    X, Y = make_multilabel_classification(n_samples=50, random_state=0, return_indicator=True)
    n_samples, n_classes = Y.shape

    clf = mlp(FastNetClassifier, solver="lbfgs", hidden_layer_sizes=30, random_state=0)
    clf.fit(X, Y)
    y_proba = clf.predict_proba(X)

    assert y_proba.shape == (n_samples, n_classes)
    assert_array_equal(y_proba > 0.5, Y)

    y_log_proba = clf.predict_log_proba(X)
    proba_max = y_proba.argmax(axis=1)
    proba_log_max = y_log_proba.argmax(axis=1)

    assert (y_proba.sum(1) - 1).dot(y_proba.sum(1) - 1) > 1e-10
    assert_array_equal(proba_max, proba_log_max)
    exact = (y_proba > 1e-30) & (y_proba < 1 - 1e-8)
    assert exact.sum() >= 0.8 * exact.size  # the comparison leaves out only a few entries
    assert_allclose(y_log_proba[exact], np.log(y_proba[exact]))
    # where log(predict_proba) is limited by the rounding, predict_log_proba is exact
    Z = clf.network_.logits(X)
    assert_allclose(y_log_proba[~exact], -np.logaddexp(0, -Z[~exact]), rtol=1e-12)


def test_tolerance():
    """Port of test_mlp.py::test_tolerance: a large ``tol`` stops ``sgd`` before ``max_iter``."""
    X = [[3, 2], [1, 6]]
    y = [1, 0]
    clf = mlp(FastNetClassifier, tol=0.5, max_iter=3000, solver="sgd")
    clf.fit(X, y)
    assert clf.max_iter > clf.n_iter_


def test_verbose_sgd(capsys):
    """Port of test_mlp.py::test_verbose_sgd: ``verbose`` prints the progress of ``fit`` and of
    ``partial_fit``. Adapted: fastnet's lines read ``Epoch N, loss = ...`` where
    scikit-learn's read ``Iteration N, loss = ...`` (the original looks for "Iteration"); the
    test looks for both epochs."""
    X = [[3, 2], [1, 6]]
    y = [1, 0]
    clf = mlp(FastNetClassifier, solver="sgd", max_iter=2, verbose=10, hidden_layer_sizes=2)

    with ignore_convergence():
        clf.fit(X, y)
    clf.partial_fit(X, y)

    out, _ = capsys.readouterr()
    assert "Epoch 2, loss = " in out  # the end of fit
    assert "Epoch 3, loss = " in out  # partial_fit's epoch


@pytest.mark.parametrize("MLPEstimator", [FastNetClassifier, FastNetRegressor])
def test_early_stopping(MLPEstimator):
    """Port of test_mlp.py::test_early_stopping: early stopping stops before ``max_iter``;
    ``validation_scores_`` is a list whose maximum is ``best_validation_score_`` and whose
    last two are within ``tol`` of it; without early stopping both attributes are ``None``.
    Without the original's ``best_loss_`` checks (``None`` with early stopping, set without):
    fastnet's estimators have no ``best_loss_``."""
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]
    tol = 0.2
    mlp_estimator = mlp(MLPEstimator, tol=tol, max_iter=3000, solver="sgd", early_stopping=True)
    mlp_estimator.fit(X, y)
    assert mlp_estimator.max_iter > mlp_estimator.n_iter_

    assert isinstance(mlp_estimator.validation_scores_, list)

    valid_scores = mlp_estimator.validation_scores_
    best_valid_score = mlp_estimator.best_validation_score_
    assert max(valid_scores) == best_valid_score
    assert best_valid_score + tol > valid_scores[-2]
    assert best_valid_score + tol > valid_scores[-1]

    # check that the attributes `validation_scores_` and `best_validation_score_`
    # are set to None when `early_stopping=False`
    mlp_estimator = mlp(MLPEstimator, tol=tol, max_iter=3000, solver="sgd",
                        early_stopping=False)  # fmt: skip
    mlp_estimator.fit(X, y)
    assert mlp_estimator.validation_scores_ is None
    assert mlp_estimator.best_validation_score_ is None


def test_warm_start():
    """Port of test_mlp.py::test_warm_start: a warm-started ``fit`` on targets with the same
    classes works (also with other class frequencies), and on targets with other classes
    (fewer, other or more) is a ``ValueError`` with scikit-learn's message. Adapted: the
    message's two class lists are matched as fastnet writes them, Python lists
    (``[0, 1, 2]``), where scikit-learn prints NumPy arrays (``[0 1 2]``)."""
    X = X_iris
    y = y_iris

    y_2classes = np.array([0] * 75 + [1] * 75)
    y_3classes = np.array([0] * 40 + [1] * 40 + [2] * 70)
    y_3classes_alt = np.array([0] * 50 + [1] * 50 + [3] * 50)
    y_4classes = np.array([0] * 37 + [1] * 37 + [2] * 38 + [3] * 38)
    y_5classes = np.array([0] * 30 + [1] * 30 + [2] * 30 + [3] * 30 + [4] * 30)

    # No error raised
    clf = mlp(FastNetClassifier, hidden_layer_sizes=2, solver="lbfgs", warm_start=True,
              random_state=42, tol=1e-2).fit(X, y)  # fmt: skip
    clf.fit(X, y)
    clf.fit(X, y_3classes)

    for y_i in (y_2classes, y_3classes_alt, y_4classes, y_5classes):
        clf = mlp(FastNetClassifier, hidden_layer_sizes=2, solver="lbfgs", warm_start=True,
                  random_state=42, tol=1e-2).fit(X, y)  # fmt: skip
        message = (
            "warm_start can only be used where `y` has the same "
            "classes as in the previous call to fit."
            f" Previously got [0, 1, 2], `y` has {np.unique(y_i).tolist()}"
        )
        with pytest.raises(ValueError, match=re.escape(message)):
            clf.fit(X, y_i)


@pytest.mark.parametrize("MLPEstimator", [FastNetClassifier, FastNetRegressor])
def test_warm_start_full_iteration(MLPEstimator):
    """Port of test_mlp.py::test_warm_start_full_iteration (scikit-learn issue 16812): a
    warm-started ``fit`` runs its whole ``max_iter``."""
    X, y = X_iris, y_iris
    max_iter = 3
    clf = mlp(MLPEstimator, hidden_layer_sizes=2, solver="sgd", warm_start=True,
              max_iter=max_iter)  # fmt: skip
    with ignore_convergence():
        clf.fit(X, y)
        assert max_iter == clf.n_iter_
        clf.fit(X, y)
        assert max_iter == clf.n_iter_


def test_n_iter_no_change():
    """Port of test_mlp.py::test_n_iter_no_change: for several ``n_iter_no_change``, ``sgd``
    stops before ``max_iter`` exactly when scikit-learn's rule would, with its
    ``_no_improvement_count == n_iter_no_change + 1``. fastnet keeps no such count: it is
    recomputed here from ``loss_curve_`` by scikit-learn's rule, written out in
    ``_sklearn_no_improvement_counts``, which must not have reached it before the last
    epoch."""
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]
    tol = 0.01
    max_iter = 3000

    # test multiple n_iter_no_change
    for n_iter_no_change in [2, 5, 10, 50, 100]:
        clf = mlp(FastNetClassifier, tol=tol, max_iter=max_iter, solver="sgd",
                  n_iter_no_change=n_iter_no_change)  # fmt: skip
        clf.fit(X, y)

        # validate n_iter_no_change
        counts = _sklearn_no_improvement_counts(clf.loss_curve_, tol)
        assert len(counts) == clf.n_iter_
        assert counts[-1] == n_iter_no_change + 1
        assert max(counts[:-1]) <= n_iter_no_change  # it did not stop too late
        assert max_iter > clf.n_iter_


def test_n_iter_no_change_inf():
    """Port of test_mlp.py::test_n_iter_no_change_inf: with ``n_iter_no_change=np.inf`` and a
    tolerance that every epoch fails, ``sgd`` runs all ``max_iter`` epochs, every one after the
    first counted as failing (scikit-learn's count recomputed from ``loss_curve_``, as in
    ``test_n_iter_no_change``)."""
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]

    # set a ridiculous tolerance
    # this should always trigger _update_no_improvement_count()
    tol = 1e9

    # fit
    n_iter_no_change = np.inf
    max_iter = 3000
    clf = mlp(FastNetClassifier, tol=tol, max_iter=max_iter, solver="sgd",
              n_iter_no_change=n_iter_no_change)  # fmt: skip
    with ignore_convergence():
        clf.fit(X, y)

    # validate n_iter_no_change doesn't cause early stopping
    assert clf.n_iter_ == max_iter

    # validate _update_no_improvement_count() was always triggered
    assert _sklearn_no_improvement_counts(clf.loss_curve_, tol)[-1] == clf.n_iter_ - 1


def test_early_stopping_stratified():
    """Port of test_mlp.py::test_early_stopping_stratified: the early-stopping split is
    stratified, so a class with one member cannot be split: a ``ValueError`` carrying
    ``train_test_split``'s message. Adapted: the class named at its end is the label ``1``,
    where scikit-learn's is ``'True'`` (it stratifies on its binarised targets, fastnet on
    ``y``)."""
    X = [[1, 2], [2, 3], [3, 4], [4, 5]]
    y = [0, 0, 0, 1]

    mlp_ = mlp(FastNetClassifier, early_stopping=True)
    with pytest.raises(
        ValueError,
        match=(
            r"The least populated classes in y have only 1 member.*Classes with "
            r"too few members are: \[1\]"
        ),
    ):
        mlp_.fit(X, y)


def test_mlp_early_stopping_string_labels():
    """Port of test_mlp.py::test_mlp_early_stopping_string_labels (scikit-learn issue 33760):
    string labels with early stopping, one finite validation score per epoch."""
    X, y = make_classification(n_samples=200, n_features=10, n_classes=3, n_informative=5,
                               random_state=42)  # fmt: skip
    labels = np.array(["class_a", "class_b", "class_c"], dtype=object)
    y = labels[y]

    mlp_ = mlp(FastNetClassifier, early_stopping=True, max_iter=50, random_state=42)
    mlp_.fit(X, y)

    assert mlp_.validation_scores_ is not None
    assert len(mlp_.validation_scores_) == mlp_.n_iter_
    assert np.isfinite(mlp_.validation_scores_).all()


def test_mlp_classifier_dtypes_casting():
    """Port of test_mlp.py::test_mlp_classifier_dtypes_casting: float32 and float64 training
    predict the same labels, and probabilities within ``rtol=1e-2``."""
    # Compare predictions for different dtypes
    mlp_64 = mlp(FastNetClassifier, alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1,
                 max_iter=100, tol=1e-1)  # fmt: skip
    mlp_64.fit(X_digits[:300], y_digits[:300])
    pred_64 = mlp_64.predict(X_digits[300:])
    proba_64 = mlp_64.predict_proba(X_digits[300:])

    mlp_32 = mlp(FastNetClassifier, alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1,
                 max_iter=100, tol=1e-1)  # fmt: skip
    mlp_32.fit(X_digits[:300].astype(np.float32), y_digits[:300])
    pred_32 = mlp_32.predict(X_digits[300:].astype(np.float32))
    proba_32 = mlp_32.predict_proba(X_digits[300:].astype(np.float32))

    assert mlp_32.network_.dtype == np.float32  # the float32 run did train in float32
    assert_array_equal(pred_64, pred_32)
    assert_allclose(proba_64, proba_32, rtol=1e-02)


def test_mlp_regressor_dtypes_casting():
    """Port of test_mlp.py::test_mlp_regressor_dtypes_casting: float32 and float64 training
    predict within ``rtol=5e-4``. Adapted: the fits' ConvergenceWarning is ignored. fastnet's
    fits run all 150 epochs and warn, where scikit-learn's stop at epoch 109 (``tol=1e-3`` is
    in each library's loss units, see the module docstring); the original does not look at
    the stopping."""
    mlp_64 = mlp(FastNetRegressor, alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1,
                 max_iter=150, tol=1e-3)  # fmt: skip
    with ignore_convergence():
        mlp_64.fit(X_digits[:300], y_digits[:300])
    pred_64 = mlp_64.predict(X_digits[300:])

    mlp_32 = mlp(FastNetRegressor, alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1,
                 max_iter=150, tol=1e-3)  # fmt: skip
    with ignore_convergence():
        mlp_32.fit(X_digits[:300].astype(np.float32), y_digits[:300])
    pred_32 = mlp_32.predict(X_digits[300:].astype(np.float32))

    assert mlp_32.network_.dtype == np.float32
    assert_allclose(pred_64, pred_32, rtol=5e-04)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Estimator", [FastNetClassifier, FastNetRegressor])
def test_mlp_param_dtypes(dtype, Estimator):
    """Port of test_mlp.py::test_mlp_param_dtypes: the input's dtype is that of the weights and
    biases (scikit-learn's ``coefs_``/``intercepts_``: fastnet's ``network_.weights``) and of
    the regressor's predictions."""
    # Checks if input dtype is used for network parameters
    # and predictions
    X, y = X_digits.astype(dtype), y_digits
    mlp_ = mlp(Estimator, alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1, max_iter=50,
               tol=1e-1)  # fmt: skip
    mlp_.fit(X[:300], y[:300])
    pred = mlp_.predict(X[300:])

    weights = mlp_.network_.weights
    assert all([intercept.dtype == dtype for _, intercept in weights])

    assert all([coef.dtype == dtype for coef, _ in weights])

    if Estimator == FastNetRegressor:
        assert pred.dtype == dtype


def test_mlp_loading_from_joblib_partial_fit(tmp_path):
    """Port of test_mlp.py::test_mlp_loading_from_joblib_partial_fit (scikit-learn #19626): an
    estimator loaded by joblib learns a new target by ``partial_fit`` (``rtol=1e-4``).
    Adapted: ``alpha=0`` instead of scikit-learn's default ``1e-4``. The 200 Adam epochs are
    not enough to reach the target within ``rtol=1e-4`` with the penalty, from fastnet's
    initial weights: the prediction is 1.000104 (1.00004 after 800 epochs, 1.00002 after
    3,000: the penalty's own bias), where scikit-learn's logistic network gets 0.999925 and
    its relu one 0.999978 from theirs; fastnet without the penalty gets 1.0000685."""
    pre_trained_estimator = mlp(FastNetRegressor, hidden_layer_sizes=(42,), random_state=42,
                                learning_rate_init=0.01, max_iter=200, alpha=0.0)  # fmt: skip
    features, target = [[2]], [4]

    # Fit on x=2, y=4
    pre_trained_estimator.fit(features, target)

    # dump and load model
    pickled_file = tmp_path / "mlp.pkl"
    joblib.dump(pre_trained_estimator, pickled_file)
    load_estimator = joblib.load(pickled_file)

    # Train for a more epochs on point x=2, y=1
    fine_tune_features, fine_tune_target = [[2]], [1]

    for _ in range(200):
        load_estimator.partial_fit(fine_tune_features, fine_tune_target)

    # finetuned model learned the new target
    predicted_value = load_estimator.predict(fine_tune_features)
    assert_allclose(predicted_value, fine_tune_target, rtol=1e-4)


@pytest.mark.parametrize("Estimator", [FastNetClassifier, FastNetRegressor])
def test_preserve_feature_names(Estimator):
    """Port of test_mlp.py::test_preserve_feature_names (scikit-learn gh-24846): feature names
    survive the early-stopping split (no "X does not have valid feature names" UserWarning
    when the held-out rows are scored). Adapted for the classifier: ``y`` alternates two
    classes, where the original's is the single class 1 (``np.full(10, 1)``), which
    ``MLPClassifier`` fits and ``FastNetClassifier`` refuses by design ("needs two classes",
    a ``ValueError``; scikit-learn's ``check_classifiers_one_label`` allows either). The
    regressor keeps the original's constant target."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)

    X = pd.DataFrame(data=rng.randn(10, 2), columns=["colname_a", "colname_b"])
    y = pd.Series(data=np.full(10, 1), name="colname_y")
    if Estimator is FastNetClassifier:
        y = pd.Series(data=np.tile([0, 1], 5), name="colname_y")

    model = mlp(Estimator, early_stopping=True, validation_fraction=0.2)

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.fit(X, y)


@pytest.mark.parametrize("MLPEstimator", [FastNetClassifier, FastNetRegressor])
def test_mlp_warm_start_with_early_stopping(MLPEstimator):
    """Port of test_mlp.py::test_mlp_warm_start_with_early_stopping: a warm-started fit with
    early stopping appends to ``validation_scores_``."""
    mlp_ = mlp(MLPEstimator, max_iter=10, random_state=0, warm_start=True, early_stopping=True)
    with ignore_convergence():
        mlp_.fit(X_iris, y_iris)
        n_validation_scores = len(mlp_.validation_scores_)
        mlp_.set_params(max_iter=20)
        mlp_.fit(X_iris, y_iris)
    assert len(mlp_.validation_scores_) > n_validation_scores


@pytest.mark.parametrize("MLPEstimator", [FastNetClassifier, FastNetRegressor])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_mlp_warm_start_no_convergence(MLPEstimator, solver):
    """Port of test_mlp.py::test_mlp_warm_start_no_convergence (scikit-learn issue 24764): a
    warm-started ``fit`` that does not converge runs exactly ``max_iter`` epochs and warns.
    Also checked: the warnings are the epoch budget's ``ConvergenceWarning``, not
    ``fastnet.FitWarning``'s useless model (which is a ``ConvergenceWarning`` too, and which
    ``pytest.warns`` would otherwise accept)."""
    model = mlp(MLPEstimator, solver=solver, warm_start=True, early_stopping=False, max_iter=10,
                n_iter_no_change=np.inf, random_state=0)  # fmt: skip

    with pytest.warns(ConvergenceWarning) as record:
        model.fit(X_iris, y_iris)
    assert model.n_iter_ == 10

    model.set_params(max_iter=20)
    with pytest.warns(ConvergenceWarning) as more:
        model.fit(X_iris, y_iris)
    assert model.n_iter_ == 20
    assert not [w for w in [*record, *more] if issubclass(w.category, fastnet.FitWarning)]


@pytest.mark.parametrize("MLPEstimator", [FastNetClassifier, FastNetRegressor])
def test_mlp_partial_fit_after_fit(MLPEstimator):
    """Port of test_mlp.py::test_mlp_partial_fit_after_fit (scikit-learn gh-25693):
    ``partial_fit`` after an early-stopping ``fit`` is a ``ValueError``, with scikit-learn's
    message."""
    mlp_ = mlp(MLPEstimator, early_stopping=True, random_state=0).fit(X_iris, y_iris)

    msg = "partial_fit does not support early_stopping=True"
    with pytest.raises(ValueError, match=msg):
        mlp_.partial_fit(X_iris, y_iris)


def test_mlp_sample_weight_with_early_stopping():
    """Port of test_mlp.py::test_mlp_sample_weight_with_early_stopping: unit sample weights give
    the predictions of no weights, through the early-stopping split (the weights split along
    with the rows). Adapted: without ``batch_size=10``: fastnet is full-batch only (a
    ``batch_size`` below the number of rows is a ``ValueError``)."""
    X, y = make_regression(n_samples=100, n_features=2, n_informative=2, random_state=42)
    sw = np.ones_like(y)
    params = dict(
        hidden_layer_sizes=10,
        solver="adam",
        early_stopping=True,
        tol=1e-2,
        learning_rate_init=0.01,
        random_state=42,
    )
    m1 = mlp(FastNetRegressor, **params)
    m1.fit(X, y, sample_weight=sw)

    m2 = mlp(FastNetRegressor, **params).fit(X, y, sample_weight=None)
    assert_allclose(m1.predict(X), m2.predict(X))


def test_minimum_input_sample_size():
    """Port of test_mlp.py::test_minimum_input_sample_size: too few rows for a validation split
    is a ``ValueError`` saying so, in scikit-learn's words."""
    X, y = make_regression(n_samples=2, n_features=5, random_state=0)
    model = mlp(FastNetRegressor, early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        model.fit(X, y)


@pytest.mark.parametrize("csr_container", CSR_CONTAINERS + CSC_CONTAINERS)
def test_sparse_matrices(csr_container):
    """Port of test_mlp.py::test_sparse_matrices: sparse and dense input give the same
    predictions, fitted on either. The original takes CSR containers only; CSC is added since
    both are supported."""
    X = X_digits_binary[:50]
    y = y_digits_binary[:50]
    X_sparse = csr_container(X)
    mlp_ = mlp(FastNetClassifier, solver="lbfgs", hidden_layer_sizes=15, random_state=1)
    mlp_.fit(X, y)
    pred1 = mlp_.predict(X)
    mlp_.fit(X_sparse, y)
    pred2 = mlp_.predict(X_sparse)
    assert_almost_equal(pred1, pred2)
    pred1 = mlp_.predict(X)
    pred2 = mlp_.predict(X_sparse)
    assert_array_equal(pred1, pred2)
