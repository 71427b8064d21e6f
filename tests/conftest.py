import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

DTYPES = [np.float64, np.float32]
LOSSES = ["mse", "log"]
BACKENDS = ["numba", "numpy"]
# (d, h..., k): one hidden layer, two hidden layers, two outputs
SHAPES = [(4, 3, 1), (5, 4, 3, 1), (6, 5, 2)]


def make_data(layers, n=37, seed=0, dtype=np.float64):
    """Random standardised inputs and 0/1 targets of the right width for ``layers``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, layers[0]))
    Y = (rng.random((n, layers[-1])) < 0.5).astype(float)
    y = Y[:, 0] if layers[-1] == 1 else Y
    return X.astype(dtype), y.astype(dtype)


def random_weights(layers, seed=1, scale=1.0):
    rng = np.random.default_rng(seed)
    return [
        (scale * rng.standard_normal((fi, fo)), 0.1 * rng.standard_normal(fo))
        for fi, fo in zip(layers[:-1], layers[1:], strict=False)
    ]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def sklearn_mlp_from(weights, X, Y, *, regressor=False, **solver):
    """An MLPClassifier doing full-batch updates of ``solver`` (its keyword arguments: ``solver``,
    ``learning_rate_init``, ``momentum``, ...) from exactly ``weights``.

    With labels of 3+ classes ``Y`` (shape ``(n,)``) it is scikit-learn's "sigmoid hidden layers
    + softmax + cross-entropy"; with ``regressor=True`` an ``MLPRegressor`` ("sigmoid hidden
    layers + identity output + squared error")."""
    clf = (MLPRegressor if regressor else MLPClassifier)(
        hidden_layer_sizes=tuple(W.shape[1] for W, _ in weights[:-1]),
        activation="logistic",
        batch_size=X.shape[0],
        alpha=solver.pop("alpha", 0.0),
        shuffle=False,
        learning_rate="constant",
        max_iter=1,
        random_state=0,
        **solver,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)  # builds the layers; its weights are then replaced
    clf.coefs_ = [W.copy() for W, _ in weights]
    clf.intercepts_ = [b.copy() for _, b in weights]
    del clf._optimizer  # it holds the old parameter arrays (and Adam's t, moments): rebuild it
    return clf


def sklearn_fit_from(weights, X, Y, *, max_iter, tol, n_iter_no_change, **solver):
    """``MLPClassifier.fit`` with scikit-learn's own stopping rule (``tol``, ``n_iter_no_change``,
    at most ``max_iter`` epochs) from exactly ``weights``, full batch: the witness of
    ``Network.fit``'s stopping epoch. Returns the fitted classifier (``n_iter_``,
    ``loss_curve_``)."""
    clf = sklearn_mlp_from(weights, X, Y, **solver)
    clf.set_params(max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change, warm_start=True)
    # warm_start keeps the weights set above, and also the rule's state of the one-epoch fit
    # that built the layers: start it afresh, as a first fit does (``_initialize``)
    clf.loss_curve_, clf.best_loss_, clf._no_improvement_count = [], np.inf, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    return clf
