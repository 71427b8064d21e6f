"""The scikit-learn estimators: conventions, tools, target encoding and continued training.

Where a test needs expected numbers it gets them from ``fastnet.Network`` (tested on its own
against three witnesses in test_witnesses.py) on targets the test encodes itself: the
estimators must be thin wrappers that give exactly what the network gives. For scikit-learn's
semantics (the stopping rule, its keyword arguments, dtypes, ``partial_fit``'s ``classes``)
the witness is scikit-learn's ``MLPClassifier`` itself.
"""

import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import sklearn_fit_from
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastnet
from fastnet import Network, _kernels
from fastnet.sklearn import SOLVERS, FastNetClassifier, FastNetRegressor


def small_data(n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ---------------------------------------------------------------------- estimator checks
# Small networks and few epochs keep the suite fast; both still pass every score threshold
# (classifier accuracy > 0.83, regressor R^2 > 0.5). No check is expected to fail.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [
        FastNetClassifier(hidden_layer_sizes=(8,), max_iter=100),
        FastNetRegressor(hidden_layer_sizes=(8,), max_iter=200),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------- thin wrapper
def test_classifier_gives_the_networks_probabilities(cancer):
    X, y = cancer
    clf = FastNetClassifier(solver="gd", random_state=3, max_epochs=200, tol=None).fit(X, y)
    net = Network((30, 16, 1), loss="log", seed=3).fit(X, y, lr=0.5, epochs=200, tol=None)
    p = net.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(X), np.column_stack([1 - p, p]))
    np.testing.assert_array_equal(clf.loss_curve_, net.history_)
    assert clf.n_iter_ == 200
    assert clf.network_.layers == (30, 16, 1)


def test_string_labels(cancer):
    X, y = cancer
    labels = np.where(y == 1, "benign", "malignant")  # sorted: "benign" is classes_[0]
    clf = FastNetClassifier(solver="gd", random_state=0, max_epochs=150, tol=None)
    clf.fit(X, labels)
    assert clf.classes_.tolist() == ["benign", "malignant"]
    net = Network((30, 16, 1), loss="log", seed=0).fit(X, 1.0 - y, lr=0.5, epochs=150, tol=None)
    p_malignant = net.predict_proba(X)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_array_equal(proba[:, 1], p_malignant)
    expected = np.where(p_malignant > 0.5, "malignant", "benign")
    np.testing.assert_array_equal(clf.predict(X), expected)
    assert clf.score(X, labels) > 0.95


def test_multilabel_targets_get_one_sigmoid_output_each(cancer):
    X, y = cancer
    Y = np.column_stack([y, 1 - y, (X[:, 0] > 0).astype(int)])
    clf = FastNetClassifier(solver="gd", random_state=1, max_epochs=100, tol=None).fit(X, Y)
    net = Network((30, 16, 3), loss="log", seed=1).fit(X, Y, lr=0.5, epochs=100, tol=None)
    np.testing.assert_array_equal(clf.predict_proba(X), net.predict_proba(X))
    pred = clf.predict(X)
    assert pred.shape == Y.shape and pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, (net.predict_proba(X) > 0.5).astype(int))
    assert clf.classes_.tolist() == [0, 1, 2]


def test_more_than_two_classes_train_a_softmax_output_with_any_labels():
    X, y = small_data()
    y3 = y + (X[:, 2] > 1)
    names = np.array(["ant", "bee", "cat"])[y3]  # string labels
    kw = dict(solver="gd", learning_rate=0.5, max_epochs=200, tol=None, random_state=0)
    clf = FastNetClassifier(**kw).fit(X, names)
    assert clf.out_activation_ == "softmax" and clf.network_.output == "softmax"
    assert clf.network_.loss_name == "cross_entropy" and clf.network_.layers == (5, 16, 3)
    assert clf.classes_.tolist() == ["ant", "bee", "cat"]
    # the same network trained directly on the labels 0..2
    net = Network((5, 16, 3), loss="cross_entropy", output="softmax", seed=0)
    net.fit(X, y3, lr=0.5, epochs=200, tol=None)
    np.testing.assert_array_equal(clf.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[net.predict(X)])
    assert clf.score(X, names) == net.score(X, y3) > 0.8
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)),
                               rtol=1e-12)  # fmt: skip
    # two classes keep one sigmoid output, multi-label y sigmoid outputs
    two = FastNetClassifier(**kw).fit(X, np.array(["no", "yes"])[y])
    assert two.out_activation_ == "logistic" and two.network_.layers[-1] == 1
    assert two.network_.output == "sigmoid"
    multi = FastNetClassifier(**kw).fit(X, np.column_stack([y, 1 - y, y]))
    assert multi.out_activation_ == "logistic" and multi.network_.output == "sigmoid"
    # only a loss that takes a softmax output: mse does not
    with pytest.raises(ValueError, match="loss 'mse' does not work with output='softmax'"):
        FastNetClassifier(loss="mse", **kw).fit(X, y3)


def test_predict_log_proba_is_finite_for_saturated_outputs():
    X, y = small_data()
    clf = FastNetClassifier(solver="gd", max_epochs=5, tol=None, random_state=0).fit(X, y)
    big = 1e6 * X  # saturates the sigmoid: predict_proba rounds to 0 and 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logp = clf.predict_log_proba(big)
    assert np.isfinite(logp).all()
    z = clf.network_.logits(big)
    expected = np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)])
    np.testing.assert_allclose(logp, np.maximum(expected, np.log(np.finfo(float).tiny)))


def test_regressor_standardises_targets_for_its_linear_output_by_default():
    X, _ = small_data()
    y = 200 + 50 * np.tanh(X[:, 0]) + 10 * X[:, 1]  # far outside [0, 1]
    reg = FastNetRegressor(solver="gd", random_state=0, max_epochs=300, tol=None).fit(X, y)
    mean, std = y.mean(), y.std()  # the test's own standardisation (numpy's)
    net = Network((5, 16, 1), output="linear", seed=0)
    net.fit(X, (y - mean) / std, epochs=300, tol=None)
    assert reg.network_.output == "linear" and reg.out_activation_ == "identity"
    np.testing.assert_allclose(reg.target_offset_, [mean], rtol=1e-14)
    np.testing.assert_allclose(reg.target_scale_, [std], rtol=1e-14)
    np.testing.assert_allclose(reg.loss_curve_, net.history_, rtol=1e-13)  # standardised units
    np.testing.assert_allclose(reg.predict(X), mean + std * net.predict(X), rtol=1e-13)
    assert reg.score(X, y) > 0.9


def test_regressor_standardises_each_column_and_only_centres_a_constant_one():
    X, _ = small_data()
    Y = np.column_stack([1000 + 300 * X[:, 0], np.full(len(X), 7.0), -X[:, 1]])
    reg = FastNetRegressor(max_epochs=50, tol=None, random_state=0).fit(X, Y)
    np.testing.assert_allclose(reg.target_offset_, Y.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(reg.target_scale_, [Y[:, 0].std(), 1.0, Y[:, 2].std()],
                               rtol=1e-14)  # fmt: skip
    assert reg.predict(X).shape == Y.shape


def test_regressor_without_scaling_learns_the_targets_as_they_are():
    X, _ = small_data()
    y = 3 * X[:, 0] - 2  # outside [0, 1]: fine for the linear output
    reg = FastNetRegressor(solver="gd", learning_rate=0.05, scale_targets=False, random_state=0,
                           max_epochs=50, tol=None).fit(X, y)  # fmt: skip
    net = Network((5, 16, 1), output="linear", seed=0).fit(X, y, lr=0.05, epochs=50, tol=None)
    np.testing.assert_array_equal(reg.predict(X), net.predict(X))
    np.testing.assert_array_equal(reg.loss_curve_, net.history_)


def test_sigmoid_regressor_scales_targets_onto_the_sigmoid_range():
    X, _ = small_data()
    y = 10 + 10 * (np.tanh(X[:, 0]) + 1) / 2  # in (10, 20)
    reg = FastNetRegressor(solver="gd", output="sigmoid", random_state=0, max_epochs=300,
                           tol=None).fit(X, y)  # fmt: skip
    assert reg.network_.output == "sigmoid" and reg.out_activation_ == "logistic"
    lo, hi = y.min(), y.max()
    net = Network((5, 16, 1), seed=0).fit(X, (y - lo) / (hi - lo), epochs=300, tol=None)
    np.testing.assert_allclose(reg.predict(X), lo + (hi - lo) * net.predict_proba(X), rtol=1e-14)
    assert reg.score(X, y) > 0.9


def test_sigmoid_regressor_without_scaling_needs_targets_in_unit_interval():
    X, _ = small_data()
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\] with output='sigmoid' and "
                                         r"scale_targets=False"):  # fmt: skip
        FastNetRegressor(output="sigmoid", scale_targets=False).fit(X, X[:, 0])
    y = (np.tanh(X[:, 0]) + 1) / 2
    reg = FastNetRegressor(solver="gd", output="sigmoid", scale_targets=False, random_state=0,
                           max_epochs=50, tol=None)  # fmt: skip
    net = Network((5, 16, 1), seed=0).fit(X, y, epochs=50, tol=None)
    np.testing.assert_array_equal(reg.fit(X, y).predict(X), net.predict_proba(X))


def test_partial_fit_beyond_the_first_target_range_is_an_error_for_the_sigmoid_output_only():
    X, _ = small_data()
    reg = FastNetRegressor(output="sigmoid").partial_fit(X, X[:, 0])
    with pytest.raises(ValueError, match="outside the range"):
        reg.partial_fit(X, 2 * X[:, 0] + 10)
    linear = FastNetRegressor().partial_fit(X, X[:, 0])
    offset, scale = linear.target_offset_.copy(), linear.target_scale_.copy()
    linear.partial_fit(X, 2 * X[:, 0] + 10)  # reachable: the first call's scaling is kept
    np.testing.assert_array_equal(linear.target_offset_, offset)
    np.testing.assert_array_equal(linear.target_scale_, scale)
    assert linear.n_iter_ == 1 and len(linear.loss_curve_) == 2  # n_iter_: the last call's


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)  # targets 25..346
    return StandardScaler().fit_transform(X), y


def _mlp_regressor_r2(X, y):
    """The witness: scikit-learn's ``MLPRegressor`` with the same hidden layer, logistic
    hidden units, L-BFGS and the same iteration budget (its own initialisation, its own
    stopping rule, raw targets)."""
    sk = MLPRegressor(hidden_layer_sizes=(16,), activation="logistic", solver="lbfgs",
                      max_iter=1000, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(X, y)
    assert sk.out_activation_ == "identity"
    return sk.score(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_default_regressor_fits_load_diabetes_as_well_as_mlp_regressor(diabetes, dtype):
    """The default regressor (linear output, standardised targets, L-BFGS) on raw targets in
    25..346: an R^2 at least scikit-learn's less 0.05, and above 0.4 (a linear model's is
    0.52); float32 input trains and predicts in float32."""
    X, y = diabetes
    witness = _mlp_regressor_r2(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the epoch budget, not the fit
        warnings.simplefilter("error", fastnet.FitWarning)
        reg = FastNetRegressor(random_state=0).fit(X.astype(dtype), y)
    assert reg.network_.output == "linear" and reg.network_.dtype == dtype
    pred = reg.predict(X.astype(dtype))
    assert pred.dtype == dtype
    r2 = r2_score(y, pred)
    assert r2 > 0.4 and r2 >= witness - 0.05, (r2, witness)


def test_regressor_continuing_equals_one_longer_fit_on_real_targets(diabetes):
    X, y = diabetes
    params = {"random_state": 0, "tol": None, "solver": "adam", "learning_rate": 0.01}
    whole = FastNetRegressor(max_epochs=40, **params).fit(X, y)
    warm = FastNetRegressor(max_epochs=20, warm_start=True, **params).fit(X, y)
    warm.fit(X[:200], y[:200] + 100)  # other targets: the first fit's scaling is kept
    np.testing.assert_array_equal(warm.target_offset_, [y.mean()])
    warm.fit(X, y)
    assert warm.n_iter_ == 20 and len(warm.loss_curve_) == 60  # as in scikit-learn
    stream = FastNetRegressor(**params).partial_fit(X, y, epochs=15)
    stream.partial_fit(X, y, epochs=25)
    _assert_same_trajectory(stream, whole)
    np.testing.assert_array_equal(stream.predict(X), whole.predict(X))


@pytest.mark.parametrize(
    ("params", "exc", "match"),
    [
        ({"output": "softmax"}, ValueError,
         "output must be one of ('linear', 'sigmoid') (a regressor has no softmax output), "
         "got 'softmax'"),
        ({"output": "Linear"}, ValueError, "output must be one of ('linear', 'sigmoid')"),
        ({"output": None}, ValueError, "output must be one of ('linear', 'sigmoid')"),
        ({"output": 1}, ValueError, "output must be one of ('linear', 'sigmoid')"),
        ({"scale_targets": "yes"}, TypeError, "scale_targets must be True or False"),
        ({"scale_targets": None}, TypeError, "scale_targets must be True or False"),
        ({"loss": "log"}, ValueError,
         "loss 'log' does not work with output='linear': it needs output='sigmoid'"),
        ({"loss": "huber", "output": "sigmoid"}, ValueError,
         "loss 'huber' does not work with output='sigmoid': it needs output='linear'"),
        ({"loss": "cross_entropy"}, ValueError,
         "loss 'cross_entropy' does not work with output='linear'"),
    ],
)  # fmt: skip
def test_bad_regressor_settings_are_clear_errors_that_leave_it_alone(params, exc, match):
    X, _ = small_data()
    y = X[:, 0]
    reg = FastNetRegressor(max_epochs=3, tol=None).fit(X, y)
    reg.set_params(**params)
    before = dict(vars(reg))
    with pytest.raises(exc, match=re.escape(match)):
        reg.fit(X, y)
    assert vars(reg).keys() == before.keys()
    assert all(vars(reg)[k] is v for k, v in before.items())
    fresh = FastNetRegressor(**params)
    with pytest.raises(exc, match=re.escape(match)):
        fresh.fit(X, y)
    assert vars(fresh).keys() == vars(FastNetRegressor(**params)).keys()


@pytest.mark.parametrize("first", ["linear", "sigmoid"])
def test_continuing_with_another_output_is_an_error(first):
    X, _ = small_data()
    y = X[:, 0]
    other = {"linear": "sigmoid", "sigmoid": "linear"}[first]
    for continuing in ("warm_start", "partial_fit"):
        reg = FastNetRegressor(output=first, max_epochs=3, tol=None).fit(X, y)
        reg.set_params(output=other, warm_start=continuing == "warm_start")
        state = _fitted_state(reg)
        with pytest.raises(ValueError, match=f"with output='{other}': the regressor was "
                                             f"fitted with output='{first}'"):  # fmt: skip
            reg.fit(X, y) if continuing == "warm_start" else reg.partial_fit(X, y)
        _assert_same_state(reg, state)
    reg.set_params(warm_start=False).fit(X, y)  # starting again takes the new output
    assert reg.network_.output == other


def test_huber_loss_trains_the_linear_output():
    X, _ = small_data()
    y = 200 + 50 * np.tanh(X[:, 0])
    reg = FastNetRegressor(loss="huber", solver="gd", max_epochs=100, tol=None,
                           random_state=0).fit(X, y)  # fmt: skip
    net = Network((5, 16, 1), loss="huber", output="linear", seed=0)
    net.fit(X, (y - y.mean()) / y.std(), epochs=100, tol=None)
    np.testing.assert_allclose(reg.loss_curve_, net.history_, rtol=1e-13)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"learning_rate": -1.0, "solver": "gd"}, "learning_rate must be > 0"),
        ({"max_epochs": 0}, "max_epochs must be >= 1"),
        ({"hidden_layer_sizes": (4, 0)}, r"hidden_layer_sizes\[1\] must be >= 1"),
        ({"loss": "hinge"}, "unknown loss 'hinge'"),
        ({"dtype": np.int32}, "dtype must be np.float32 or np.float64"),
        ({"backend": "cuda"}, "backend must be one of"),
        ({"tol": -1e-3}, "tol must be >= 0"),
    ],
)
def test_bad_hyper_parameters_name_the_argument(params, match):
    X, y = small_data()
    with pytest.raises(ValueError, match=match):
        FastNetClassifier(**params).fit(X, y)


def test_feature_names_are_recorded_and_checked():
    import pandas as pd  # in the `test` extra

    X, y = small_data()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    clf = FastNetClassifier(max_epochs=5, tol=None).fit(df, y)
    assert clf.feature_names_in_.tolist() == ["f0", "f1", "f2", "f3", "f4"]
    assert clf.n_features_in_ == 5
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(df.rename(columns={"f0": "g0"}))


def test_unconverged_fit_warns_like_scikit_learn():
    X, y = small_data()
    with pytest.warns(ConvergenceWarning, match="max_epochs=3"):
        FastNetClassifier(max_epochs=3).fit(X, y)


# ---------------------------------------------------------------------- scikit-learn tools
def test_pipeline_with_standard_scaler():
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = X[:400], X[400:], y[:400], y[400:]
    pipe = make_pipeline(StandardScaler(), FastNetClassifier(solver="gd", random_state=0))
    pipe.fit(X_tr, y_tr)
    assert pipe.score(X_te, y_te) >= 0.95
    scaler = StandardScaler().fit(X_tr)
    net = Network((30, 16, 1), loss="log", seed=0).fit(scaler.transform(X_tr), y_tr)
    np.testing.assert_array_equal(pipe.predict_proba(X_te)[:, 1],
                                  net.predict_proba(scaler.transform(X_te)))  # fmt: skip


def test_cross_val_score():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), FastNetClassifier(random_state=0))
    scores = cross_val_score(pipe, X, y, cv=5)
    assert scores.shape == (5,)
    assert scores.min() > 0.9 and scores.mean() > 0.95


def _worker_pid(estimator, X, y):
    return os.getpid()


def _worker_kernel_compilations(estimator, X, y):
    """How many kernels this process compiled instead of loading them from the disk cache."""
    estimator.predict(X)  # make sure the predict kernel has been loaded in this process too
    return sum(
        sum(k.stats.cache_misses.values())
        for k in (_kernels.train, _kernels.predict, _kernels.predict_serial)
    )


def test_grid_search_in_two_processes_matches_one_process_and_reuses_the_disk_cache():
    # Fill the disk cache for these types in a fresh process (one that imports the kernels'
    # source as it is now, as the workers will), so that the workers only need to load it.
    warm_up = (
        "from sklearn.datasets import make_classification\n"
        "from fastnet.sklearn import FastNetClassifier\n"
        "X, y = make_classification(n_samples=30, n_features=8, random_state=0)\n"
        "FastNetClassifier(solver='gd', max_epochs=2, tol=None).fit(X, y).predict(X)\n"
    )
    subprocess.run([sys.executable, "-c", warm_up], check=True)
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    grid = {"learning_rate": [0.1, 1.0], "hidden_layer_sizes": [(4,), (8,)]}
    scoring = {
        "accuracy": "accuracy",
        "pid": _worker_pid,
        "compilations": _worker_kernel_compilations,
    }
    searches = {
        n_jobs: GridSearchCV(
            FastNetClassifier(solver="gd", random_state=0, max_epochs=100, tol=None),
            grid, cv=3, n_jobs=n_jobs, scoring=scoring, refit="accuracy",
        ).fit(X, y)
        for n_jobs in (1, 2)
    }  # fmt: skip
    one, two = (searches[n].cv_results_ for n in (1, 2))
    pids = {two[f"split{i}_test_pid"][c] for i in range(3) for c in range(4)}
    assert os.getpid() not in pids  # process-based: loky workers, not threads
    assert (two["mean_test_compilations"] == 0).all()
    np.testing.assert_array_equal(one["mean_test_accuracy"], two["mean_test_accuracy"])
    assert one["mean_test_accuracy"].max() > 0.8
    assert searches[2].best_params_ == searches[1].best_params_


# ---------------------------------------------------------------------- continued training
def _fitted_state(est):
    return [a for pair in est.network_.weights for a in pair], est.loss_curve_, est.n_iter_


def _assert_same_trajectory(a, b):
    """Same weights and ``loss_curve_`` (``n_iter_`` counts the last call's epochs only, as in
    scikit-learn, so it differs between one long fit and its continuations)."""
    wa, ca, _ = _fitted_state(a)
    wb, cb, _ = _fitted_state(b)
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(x, y)
    assert ca == cb


@pytest.mark.parametrize(
    ("Estimator", "dtype"),
    [
        (FastNetClassifier, np.float64),
        (FastNetClassifier, np.float32),
        (FastNetRegressor, np.float64),
        (FastNetRegressor, np.float32),
    ],
)
def test_warm_start_and_partial_fit_continue_one_trajectory_bit_identically(Estimator, dtype):
    X, y = small_data()
    params = {"random_state": 0, "tol": None, "dtype": dtype}
    whole = Estimator(max_epochs=60, **params).fit(X, y)
    assert whole.n_iter_ == 60

    warm = Estimator(max_epochs=20, warm_start=True, **params)
    for _ in range(3):
        warm.fit(X, y)
    _assert_same_trajectory(warm, whole)

    kw = {"classes": [0, 1]} if Estimator is FastNetClassifier else {}
    by_epoch = Estimator(**params)
    for _ in range(60):
        by_epoch.partial_fit(X, y, **kw)
    _assert_same_trajectory(by_epoch, whole)

    by_block = Estimator(**params).partial_fit(X, y, epochs=25, **kw)
    by_block.partial_fit(X, y, epochs=35)
    _assert_same_trajectory(by_block, whole)


def test_partial_fit_continues_a_fit_and_fit_without_warm_start_starts_again():
    X, y = small_data()
    whole = FastNetClassifier(random_state=0, max_epochs=30, tol=None).fit(X, y)
    clf = FastNetClassifier(random_state=0, max_epochs=20, tol=None).fit(X, y)
    clf.partial_fit(X, y, epochs=10)
    _assert_same_trajectory(clf, whole)
    clf.fit(X, y)  # warm_start=False: from the initial weights again
    fresh = FastNetClassifier(random_state=0, max_epochs=20, tol=None).fit(X, y)
    _assert_same_trajectory(clf, fresh)


def test_partial_fit_needs_both_classes_first_then_accepts_one_class_batches():
    X, y = small_data()
    labels = np.where(y == 1, "yes", "no")
    clf = FastNetClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, labels)
    clf.partial_fit(X[y == 1], labels[y == 1], classes=["no", "yes"])
    clf.partial_fit(X[y == 0], labels[y == 0])
    assert clf.classes_.tolist() == ["no", "yes"] and len(clf.loss_curve_) == 2
    with pytest.raises(ValueError, match=r"labels \['maybe'\] that are not in classes"):
        clf.partial_fit(X[:3], ["maybe", "yes", "no"])


def test_warm_start_with_other_classes_is_an_error():
    X, y = small_data()
    clf = FastNetClassifier(warm_start=True, max_epochs=5, tol=None).fit(X, y)
    with pytest.raises(ValueError, match=r"Previously got \[0, 1\], `y` has \['a', 'b'\]"):
        clf.fit(X, np.where(y == 1, "a", "b"))
    # fewer classes than the first fit's is an error too, as in scikit-learn
    three = FastNetClassifier(warm_start=True, max_epochs=5, tol=None).fit(X, y + (X[:, 2] > 1))
    with pytest.raises(ValueError, match=r"warm_start can only be used where `y` has the same"):
        three.fit(X, y)


# ---------------------------------------------------------------------- verbose
def test_verbose_prints_the_loss_per_block_without_changing_the_trajectory(capsys):
    X, y = small_data()
    quiet = FastNetClassifier(random_state=0, max_epochs=120, tol=None).fit(X, y)
    loud = FastNetClassifier(random_state=0, max_epochs=120, tol=None, verbose=2).fit(X, y)
    _assert_same_trajectory(loud, quiet)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Epoch {e}, loss = {quiet.loss_curve_[e - 1]:.8f}" for e in (50, 100, 120)]


def test_verbose_1_shows_a_progress_bar(capsys):
    X, y = small_data()
    quiet = FastNetClassifier(random_state=0, max_epochs=60, tol=None).fit(X, y)
    bar = FastNetClassifier(random_state=0, max_epochs=60, tol=None, verbose=True).fit(X, y)
    _assert_same_trajectory(bar, quiet)
    err = capsys.readouterr().err
    assert "60/60" in err and "loss=" in err


# ---------------------------------------------------------------------- solvers
SOLVER_OPTIMIZERS = {
    "gd": fastnet.optim.GD(lr=0.5),
    "momentum": fastnet.optim.Momentum(lr=0.1, momentum=0.9),
    "nesterov": fastnet.optim.Momentum(lr=0.1, momentum=0.9, nesterov=True),
    "adam": fastnet.optim.Adam(lr=0.001),
    "rprop": fastnet.optim.Rprop(step0=0.1),
    "lbfgs": fastnet.optim.LBFGS(),
    "sgd": fastnet.optim.Momentum(lr=0.001, momentum=0.9, nesterov=True),  # scikit-learn's
}


def test_every_solver_is_tested():
    assert set(SOLVER_OPTIMIZERS) == set(SOLVERS) == set(fastnet.optim.OPTIMIZERS) | {"sgd"}


@pytest.mark.parametrize("solver", sorted(SOLVER_OPTIMIZERS))
def test_each_solver_is_the_networks_optimizer_with_its_defaults(cancer, solver):
    X, y = cancer
    clf = FastNetClassifier(solver=solver, random_state=2, max_epochs=40, tol=None).fit(X, y)
    net = Network((30, 16, 1), loss="log", seed=2)
    net.fit(X, y, optimizer=SOLVER_OPTIMIZERS[solver], epochs=40, tol=None)
    assert clf.network_.optimizer == SOLVER_OPTIMIZERS[solver]
    np.testing.assert_array_equal(clf.loss_curve_, net.history_)
    # predict_proba is floored at finfo.tiny (log(predict_proba) stays finite)
    tiny = np.finfo(float).tiny
    np.testing.assert_array_equal(
        clf.predict_proba(X)[:, 1], np.maximum(net.predict_proba(X), tiny)
    )
    assert clf.n_iter_ == net.n_epochs_ == len(clf.loss_curve_)


def test_scikit_learn_knob_names_reach_the_optimizer():
    X, y = small_data()
    clf = FastNetClassifier(solver="adam", learning_rate=0.01, beta_1=0.8, beta_2=0.99,
                            epsilon=1e-6, max_epochs=3, tol=None).fit(X, y)  # fmt: skip
    assert clf.network_.optimizer == fastnet.optim.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
    clf = FastNetClassifier(solver="nesterov", momentum=0.5, max_epochs=3, tol=None).fit(X, y)
    assert clf.network_.optimizer == fastnet.optim.Momentum(lr=0.1, momentum=0.5, nesterov=True)
    clf = FastNetClassifier(solver="rprop", learning_rate=0.05, max_epochs=3, tol=None).fit(X, y)
    assert clf.network_.optimizer == fastnet.optim.Rprop(step0=0.05)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"solver": "newton"}, "solver must be one of"),
        ({"solver": "lbfgs", "learning_rate": 0.1}, "learning_rate does not apply to solver"),
        ({"solver": "momentum", "momentum": 1.0}, "momentum must satisfy 0 <= momentum < 1"),
        ({"solver": "adam", "beta_1": -0.1}, "beta_1 must satisfy 0 <= beta_1 < 1"),
        ({"solver": "adam", "beta_2": 1.0}, "beta_2 must satisfy 0 <= beta_2 < 1"),
        ({"solver": "adam", "epsilon": 0.0}, "epsilon must be > 0"),
        ({"solver": "adam", "learning_rate": np.nan}, "learning_rate must be finite"),
        ({"solver": "rprop", "learning_rate": 100.0}, "learning_rate=100.0, step_max=50.0"),
    ],
)
def test_bad_solver_settings_name_the_estimators_argument(params, match):
    X, y = small_data()
    clf = FastNetClassifier(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")


@pytest.mark.parametrize("solver", sorted(SOLVER_OPTIMIZERS))
def test_warm_start_and_partial_fit_continue_every_solver_exactly(solver):
    X, y = small_data()
    kw = {"solver": solver, "random_state": 0, "tol": None}
    one = FastNetClassifier(max_epochs=30, **kw).fit(X, y)
    warm = FastNetClassifier(max_epochs=15, warm_start=True, **kw).fit(X, y).fit(X, y)
    stream = FastNetClassifier(**kw).partial_fit(X, y, classes=[0, 1], epochs=10)
    stream.partial_fit(X, y, epochs=20)
    assert warm.loss_curve_ == stream.loss_curve_ == one.loss_curve_
    np.testing.assert_array_equal(warm.predict_proba(X), one.predict_proba(X))
    np.testing.assert_array_equal(stream.predict_proba(X), one.predict_proba(X))


def test_the_default_solver_trains_breast_cancer_well():
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = X[:400], X[400:], y[:400], y[400:]
    pipe = make_pipeline(StandardScaler(), FastNetClassifier(random_state=0)).fit(X_tr, y_tr)
    assert pipe[-1].solver == "lbfgs" and pipe[-1].network_.optimizer == fastnet.optim.LBFGS()
    assert pipe[-1].n_iter_ < 200  # gradient descent needs about 1,000 epochs here
    assert pipe.score(X_te, y_te) >= 0.95


# ---------------------------------------------------------------------- scikit-learn's semantics
def _sklearn_twin(clf, X, y, **solver):
    """``MLPClassifier.fit`` from ``clf``'s initial weights (``Network(seed=random_state)``'s)
    with ``clf``'s stopping rule: the witness of ``clf.fit(X, y)``."""
    layers = (X.shape[1], *clf.hidden_layer_sizes, 1)
    weights = Network(layers, loss="log", seed=clf.random_state).weights
    max_iter = clf.max_iter if clf.max_iter is not None else clf.max_epochs
    return sklearn_fit_from(weights, X, y, max_iter=max_iter, tol=clf.tol,
                            n_iter_no_change=clf.n_iter_no_change, **solver)  # fmt: skip


@pytest.mark.parametrize(("tol", "n_iter_no_change"), [(1e-3, 2), (1e-4, 10)])
def test_the_estimator_stops_at_scikit_learns_epoch(tol, n_iter_no_change):
    X, y = small_data()
    rule = {"tol": tol, "n_iter_no_change": n_iter_no_change}
    clf = FastNetClassifier(hidden_layer_sizes=(4,), solver="gd", learning_rate=0.5, **rule,
                            max_epochs=5000, random_state=3).fit(X, y)  # fmt: skip
    sk = _sklearn_twin(clf, X, y, solver="sgd", momentum=0.0, learning_rate_init=0.5)
    assert clf.network_.converged_
    assert clf.n_iter_ == len(clf.loss_curve_) == sk.n_iter_ == len(sk.loss_curve_) < 5000
    np.testing.assert_allclose(clf.loss_curve_, sk.loss_curve_, rtol=1e-12)


def test_n_iter_no_change_inf_runs_every_epoch_as_scikit_learn_does():
    X, y = small_data()
    # tol=1: no epoch improves by that much, so only n_iter_no_change=inf lets all 30 run
    clf = FastNetClassifier(hidden_layer_sizes=(4,), solver="gd", tol=1.0,
                            n_iter_no_change=np.inf, max_iter=30, random_state=3)  # fmt: skip
    with pytest.warns(ConvergenceWarning, match="max_iter=30"):
        clf.fit(X, y)
    sk = _sklearn_twin(clf, X, y, solver="sgd", momentum=0.0, learning_rate_init=0.5)
    assert clf.n_iter_ == sk.n_iter_ == 30
    np.testing.assert_allclose(clf.loss_curve_, sk.loss_curve_, rtol=1e-12)


def test_scikit_learns_keyword_arguments_work_unchanged():
    X, y = small_data()
    # an MLPClassifier for a sigmoid full-batch network, as a scikit-learn user writes it
    kw = dict(hidden_layer_sizes=(4,), activation="logistic", solver="adam",
              learning_rate_init=0.01, max_iter=5000, batch_size=len(X), shuffle=False,
              tol=1e-4, n_iter_no_change=10, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
              random_state=3, verbose=False, warm_start=False)  # fmt: skip
    assert MLPClassifier(**kw).get_params().items() >= kw.items()  # all scikit-learn's names
    clf = FastNetClassifier(**kw).fit(X, y)
    assert clf.get_params().items() >= kw.items()  # stored unchanged
    assert clf.network_.optimizer == fastnet.optim.Adam(lr=0.01)
    solver = {k: kw[k] for k in ("solver", "learning_rate_init", "beta_1", "beta_2", "epsilon")}
    sk = _sklearn_twin(clf, X, y, **solver)
    assert clf.network_.converged_ and clf.n_iter_ == sk.n_iter_ < 5000
    np.testing.assert_allclose(clf.loss_curve_, sk.loss_curve_, rtol=1e-10)
    FastNetRegressor(**kw).fit(X, X[:, 0])  # the regressor takes them too


def test_partial_fit_with_other_classes_raises_as_in_scikit_learn():
    X, y = small_data()
    sk = MLPClassifier(hidden_layer_sizes=(4,), max_iter=1).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        sk.partial_fit(X, y, classes=[1, 2])
    clf = FastNetClassifier(solver="gd").partial_fit(X, y, classes=[0, 1])
    before = _fitted_state(clf)
    with pytest.raises(ValueError, match=r"classes=\[1, 2\] is not the same as in the first"):
        clf.partial_fit(X, y, classes=[1, 2])
    _assert_same_state(clf, before)
    clf.partial_fit(X, y, classes=[1, 0])  # the same classes, in any order
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2
    fitted = FastNetClassifier(max_epochs=3, tol=None).fit(X, y)  # classes_ fixed by fit
    with pytest.raises(ValueError, match=r"classes=\[0, 2\] is not the same"):
        fitted.partial_fit(X, y, classes=[0, 2])


def _assert_same_state(est, state):
    weights, curve, n_iter = _fitted_state(est)
    for x, y in zip(weights, state[0], strict=True):
        np.testing.assert_array_equal(x, y)
    assert curve == state[1] and n_iter == state[2]


# ---------------------------------------------------------------------- dtype
@pytest.mark.parametrize(
    ("X_dtype", "expected"),
    [(np.float32, np.float32), (np.float64, np.float64), (np.float16, np.float64),
     (np.int64, np.float64), (bool, np.float64)],
)  # fmt: skip
def test_default_dtype_follows_X_as_scikit_learn_does(X_dtype, expected):
    X, y = small_data()
    X = (X > 0) if X_dtype is bool else (3 * X).astype(X_dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
    assert sk.coefs_[0].dtype == expected  # the witness: scikit-learn's weights' dtype
    clf = FastNetClassifier(hidden_layer_sizes=(4,), solver="gd", max_epochs=20, tol=None,
                            random_state=0).fit(X, y)  # fmt: skip
    assert clf.network_.dtype == expected
    net = Network((5, 4, 1), loss="log", dtype=expected, seed=0)
    net.fit(X.astype(expected), y, lr=0.5, epochs=20, tol=None)
    proba = clf.predict_proba(X)
    assert proba.dtype == expected
    np.testing.assert_array_equal(proba[:, 1], net.predict_proba(X.astype(expected)))
    reg = FastNetRegressor(hidden_layer_sizes=(4,), max_epochs=5, tol=None).fit(X, y + 1.0)
    assert reg.network_.dtype == expected and reg.predict(X).dtype == expected


def test_everything_returned_is_in_the_networks_dtype():
    X, y = small_data()
    reg = FastNetRegressor(dtype=np.float32, max_epochs=20, tol=None, random_state=0)
    reg.fit(X, 10 * y + X[:, 0])
    pred = reg.predict(X)
    assert pred.dtype == np.float32
    P = reg.network_.predict_proba(X.astype(np.float32)).astype(np.float64)
    expected = reg.target_offset_ + reg.target_scale_ * P  # in float64, then rounded once
    np.testing.assert_array_equal(pred, expected.astype(np.float32))
    clf = FastNetClassifier(dtype=np.float32, max_epochs=5, tol=None).fit(X, y)
    assert clf.predict_proba(X).dtype == np.float32
    Y = np.column_stack([y, 1 - y])
    multi = FastNetClassifier(dtype=np.float32, max_epochs=5, tol=None).fit(X, Y)
    assert multi.predict_proba(X).dtype == np.float32


def test_continuing_keeps_the_dtype_of_the_first_fit():
    X, y = small_data()
    clf = FastNetClassifier(solver="gd", random_state=0, tol=None).partial_fit(
        X.astype(np.float32), y, classes=[0, 1], epochs=5
    )
    clf.partial_fit(X, y, epochs=5)  # float64 data: converted, the network stays float32
    assert clf.network_.dtype == np.float32
    one = FastNetClassifier(solver="gd", random_state=0, max_epochs=10, tol=None)
    one.fit(X.astype(np.float32), y)
    _assert_same_trajectory(clf, one)
    clf.set_params(dtype=np.float64).partial_fit(X, y)  # an explicit dtype applies
    assert clf.network_.dtype == np.float64


# ---------------------------------------------------------------------- names
def test_max_iter_and_learning_rate_init_are_aliases():
    X, y = small_data()
    ours = FastNetClassifier(solver="gd", max_epochs=15, learning_rate=0.3, tol=None,
                             random_state=0).fit(X, y)  # fmt: skip
    for names in [{"max_iter": 15, "learning_rate_init": 0.3},
                  {"max_epochs": 15, "max_iter": 15, "learning_rate": 0.3,
                   "learning_rate_init": 0.3}]:  # fmt: skip
        theirs = FastNetClassifier(solver="gd", tol=None, random_state=0, **names).fit(X, y)
        _assert_same_trajectory(theirs, ours)
    default = FastNetClassifier(solver="gd", tol=None, random_state=0).fit(X[:20], y[:20])
    assert default.n_iter_ == 1000


@pytest.mark.parametrize(
    ("params", "exc", "match"),
    [
        ({"max_epochs": 10, "max_iter": 20}, ValueError,
         "max_epochs=10 and max_iter=20 are two names for the same setting"),
        ({"learning_rate": 0.1, "learning_rate_init": 0.2}, ValueError,
         "learning_rate=0.1 and learning_rate_init=0.2 are two names"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1, got 0"),
        ({"max_iter": 2.0}, TypeError, "max_iter must be an integer"),
        ({"learning_rate_init": -1.0, "solver": "gd"}, ValueError,
         "learning_rate_init must be > 0"),
        ({"learning_rate": 0.1, "solver": "lbfgs"}, ValueError,
         "learning_rate does not apply to solver='lbfgs'"),
        ({"learning_rate_init": 100.0, "solver": "rprop"}, ValueError,
         "learning_rate_init=100.0, step_max=50.0"),
        ({"learning_rate": "adaptive"}, ValueError,
         "learning_rate is the step size here (a float, scikit-learn's learning_rate_init), "
         "or scikit-learn's schedule 'constant'"),
        ({"alpha": -1.0}, ValueError, "alpha must be >= 0"),
        ({"alpha": "0.1"}, TypeError, "alpha must be a real number"),
        ({"early_stopping": 1}, TypeError, "early_stopping must be True or False"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction must be in (0, 1)"),
        ({"validation_fraction": 0.0}, ValueError, "validation_fraction must be > 0"),
        ({"class_weight": "auto"}, ValueError, "class_weight must be None, 'balanced' or a dict"),
        ({"class_weight": {7: 2.0}}, ValueError, "class_weight names classes [7] that are not"),
        ({"class_weight": {1: -2.0}}, ValueError, "class_weight[1] must be >= 0"),
        ({"early_stopping": True, "validation_fraction": 0.005}, ValueError,
         "early_stopping cannot hold out validation_fraction=0.005 of the 120 rows"),
        ({"learning_rate_init": "0.1", "solver": "adam"}, TypeError,
         "learning_rate_init must be a real number, got str"),
        ({"activation": "relu"}, ValueError, "activation must be 'logistic'"),
        ({"activation": None}, ValueError, "activation must be 'logistic'"),
        ({"batch_size": "auto"}, ValueError, "scikit-learn's 'auto' means mini-batches"),
        ({"batch_size": 119}, ValueError,
         "batch_size=119 is smaller than the 120 samples of X: fastnet trains on full batches"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        ({"batch_size": 200.0}, TypeError, "batch_size must be an integer"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"n_iter_no_change": 2.5}, TypeError, "n_iter_no_change must be an integer or np.inf"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be >= 1"),
    ],
)  # fmt: skip
def test_bad_scikit_learn_names_are_clear_errors_that_leave_the_estimator_alone(
    params, exc, match
):
    X, y = small_data()
    clf = FastNetClassifier(solver="gd", max_epochs=3, tol=None).fit(X, y)
    clf.set_params(**params)
    before = dict(vars(clf))
    with pytest.raises(exc, match=re.escape(match)):
        clf.fit(X, y)
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is v for k, v in before.items())
    fresh = FastNetClassifier(**params)
    with pytest.raises(exc, match=re.escape(match)):
        fresh.fit(X, y)
    assert vars(fresh).keys() == vars(FastNetClassifier(**params)).keys()


@pytest.mark.parametrize("batch_size", [None, 120, 10_000])
@pytest.mark.parametrize("shuffle", [False, True])
def test_full_batch_sizes_and_shuffle_change_nothing(batch_size, shuffle):
    X, y = small_data()
    ours = FastNetClassifier(solver="gd", max_epochs=10, tol=None, random_state=0).fit(X, y)
    theirs = FastNetClassifier(solver="gd", max_epochs=10, tol=None, random_state=0,
                               batch_size=batch_size, shuffle=shuffle).fit(X, y)  # fmt: skip
    _assert_same_trajectory(theirs, ours)
    # partial_fit compares batch_size with each call's rows
    stream = FastNetClassifier(batch_size=60).partial_fit(X[:60], y[:60], classes=[0, 1])
    with pytest.raises(ValueError, match="batch_size=60 is smaller than the 120 samples"):
        stream.partial_fit(X, y)
    assert stream.n_iter_ == 1


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_X_so_large_that_the_first_layer_overflows_is_an_error_naming_X(dtype):
    # scikit-learn's test_nonfinite_params: X = finfo.max * U(0, 1)
    rng = np.random.RandomState(0)
    X = np.finfo(dtype).max * rng.uniform(size=(100, 2)).astype(dtype)
    y = (X[:, 0] > X[:, 1]).astype(int)
    fresh = FastNetClassifier(dtype=dtype)
    with pytest.raises(ValueError, match="X has values as large as .* Scale X first"):
        fresh.fit(X, y)
    assert vars(fresh) == vars(FastNetClassifier(dtype=dtype))  # left as it was
    Xs = X / np.finfo(dtype).max
    clf = FastNetClassifier(dtype=dtype, max_epochs=3, tol=None).fit(Xs, y)
    before = dict(vars(clf))
    with pytest.raises(ValueError, match="Scale X first"):
        clf.fit(X, y)
    assert all(vars(clf)[k] is v for k, v in before.items()) and vars(clf).keys() == before.keys()
    with pytest.raises(ValueError, match="Scale X first"):
        clf.predict(X)
