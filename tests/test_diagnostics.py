"""No silently useless models (issue 14, item 5): ``fit`` warns when its network ends up
saturated or constant, and ``mse`` on the sigmoid output refuses targets it cannot reach."""

import warnings

import numpy as np
import pytest
from conftest import make_data
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning

import fastnet
from fastnet import FitWarning, Network
from fastnet._diagnostics import MIN_EPOCHS, diagnose
from fastnet.sklearn import FastNetClassifier, FastNetRegressor


@pytest.fixture(scope="module")
def unscaled_breast_cancer():
    return load_breast_cancer(return_X_y=True)


# Rprop, sign-based, escapes much of the saturation here (0.98 accuracy, 91 % saturated): it
# is not warned about, nor should it be.
@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_unscaled_features_warn_and_say_to_standardise(unscaled_breast_cancer, optimizer, backend):
    X, y = unscaled_breast_cancer
    net = Network((30, 16, 1), loss="log", backend=backend)
    with pytest.warns(FitWarning, match="StandardScaler") as record:
        net.fit(X, y, optimizer=optimizer)
    assert "saturated" in str(record[0].message)
    # and the advice works: standardised, the same network and optimizer fit better, silently
    Xs = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = Network((30, 16, 1), loss="log", backend=backend).fit(Xs, y, optimizer=optimizer)
    assert scaled.score(Xs, y) > net.score(X, y)


def test_the_estimator_warns_with_scikit_learns_convergence_warning(unscaled_breast_cancer):
    X, y = unscaled_breast_cancer
    for solver in ("gd", "lbfgs"):
        with pytest.warns(ConvergenceWarning, match="StandardScaler"):
            FastNetClassifier(solver=solver, random_state=0).fit(X, y)


def test_scaled_features_do_not_warn(unscaled_breast_cancer):
    X, y = unscaled_breast_cancer
    Xs = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for optimizer in ("gd", "lbfgs", "rprop", "adam"):
            Network((30, 16, 1), loss="log").fit(Xs, y, optimizer=optimizer)
        FastNetClassifier().fit(Xs, y)


def test_a_short_fit_is_not_judged(unscaled_breast_cancer):
    X, y = unscaled_breast_cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = Network((30, 16, 1), loss="log").fit(X, y, epochs=MIN_EPOCHS - 1, tol=None)
    assert not net.converged_
    with pytest.warns(FitWarning):  # the same network, judged once a fit runs long enough
        net.fit(X, y, epochs=MIN_EPOCHS, tol=None)


def test_a_constant_output_with_varying_targets_is_reported():
    X, y = make_data((4, 3, 1), n=200)
    W1 = np.full((4, 3), 0.1)
    good = [(W1, np.zeros(3)), (np.array([[2.0], [-1.0], [0.5]]), np.zeros(1))]
    flat = [(W1, np.zeros(3)), (np.zeros((3, 1)), np.zeros(1))]  # every row gets sigmoid(0)
    Y = y.reshape(-1, 1)
    assert diagnose(good, X, Y) is None
    message = diagnose(flat, X, Y)
    assert message is not None and "same output for every row" in message
    assert diagnose(flat, X, np.ones_like(Y)) is None  # constant targets: a constant is right


def test_saturation_is_judged_per_hidden_layer():
    X, y = make_data((4, 3, 3, 1), n=200)
    Y = y.reshape(-1, 1)
    big = np.full((4, 3), 1e3)
    weights = [(np.full((4, 3), 0.1), np.zeros(3)), (big[:3], np.zeros(3)),
               (np.ones((3, 1)), np.zeros(1))]  # fmt: skip
    message = diagnose(weights, X * 10, Y)
    assert message is not None and "hidden layer 2 is saturated" in message


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mse_on_a_sigmoid_output_rejects_targets_outside_0_1(dtype):
    X, y = load_diabetes(return_X_y=True)  # targets 25..346
    net = Network((10, 8, 1), loss="mse", dtype=dtype)
    before = net.weights
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\].*MinMaxScaler"):
        net.fit(X, y)
    for (W, b), (W0, b0) in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    assert net.n_epochs_ == 0
    # the way out the message names: the regressor scales the targets itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # its max_epochs, not usefulness
        warnings.simplefilter("error", FitWarning)
        reg = FastNetRegressor(hidden_layer_sizes=(8,), dtype=dtype, random_state=0).fit(
            (X - X.mean(0)) / X.std(0), y
        )
    assert reg.score((X - X.mean(0)) / X.std(0), y) > 0.3


def test_fitwarning_is_a_userwarning():
    assert issubclass(fastnet.FitWarning, UserWarning)


def test_units_saturated_on_both_sides_are_not_dead():
    """Step functions still fit: a long L-BFGS fit without a penalty (load_diabetes, R^2 0.75)
    pushes nearly every hidden value past |z| = 10, on both sides. Only units that are constant
    over the rows (one sign everywhere) count as dead."""
    X, y = make_data((4, 6, 1), n=256)
    Y = y.reshape(-1, 1)
    rng = np.random.default_rng(0)
    W1 = rng.choice([-1.0, 1.0], size=(4, 6)) * 1e3  # |z| huge, sign varying with the row
    weights = [(W1, np.zeros(6)), (rng.standard_normal((6, 1)), np.zeros(1))]
    z = X @ W1
    assert np.mean(np.abs(z) > 10) > 0.99  # saturated almost everywhere ...
    assert ((z > 0).mean(0) > 0.1).all() and ((z < 0).mean(0) > 0.1).all()  # ... both ways
    assert diagnose(weights, X, Y) is None
    # the same layer with a bias that pins every unit to one side: dead, reported
    dead = [(W1, np.full(6, 1e6)), weights[1]]
    assert "6 of its 6 units" in diagnose(dead, X, Y)


def test_a_long_lbfgs_regressor_fit_on_diabetes_does_not_warn():
    X, y = load_diabetes(return_X_y=True)
    Xs = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", FitWarning)
        for seed in range(4):
            reg = FastNetRegressor(hidden_layer_sizes=(8,), random_state=seed).fit(Xs, y)
            assert reg.score(Xs, y) > 0.5
