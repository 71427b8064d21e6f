"""Property-based tests over random shapes, dtypes, losses and learning rates (hypothesis).

Shapes: 1-3 hidden layers of width 1-40, 1-3 outputs, 1-300 rows. The properties: the numba
backend follows the NumPy baseline, ``gradients`` are the finite differences of ``loss``, a
small enough step never increases the loss, and ``predict_proba`` lies in [0, 1]. Profiles
(number of examples) are in ``_hypothesis_profiles.py``.
"""

import _hypothesis_profiles  # noqa: F401  (registers and loads the profile)
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastnet import Network

# Generated problems (random weights, a few rows) are not well-posed fits: whether a model of
# them is useful is not what these tests are about (tests/test_diagnostics.py is).
pytestmark = pytest.mark.filterwarnings("ignore::fastnet.FitWarning")

DTYPES = st.sampled_from([np.float64, np.float32])
LOSSES = st.sampled_from(["mse", "log"])


@st.composite
def problems(draw, max_n=300, max_width=6, wide=True, dtype=DTYPES):
    """``(layers, X, y, dtype, loss, seed)``: standard-normal inputs, targets in [0, 1].

    With ``wide``, hidden layers are sometimes up to 40 wide, so that the kernels' code path
    for large layers (BLAS) is exercised as well as the explicit loops for small ones.
    """
    d = draw(st.integers(1, max_width))
    width = st.integers(1, max_width)
    if wide:
        width = st.one_of(width, st.integers(max_width + 1, 40))
    hidden = draw(st.lists(width, min_size=1, max_size=3))
    k = draw(st.integers(1, 3))
    n = draw(st.integers(1, max_n))
    dt = draw(dtype)
    loss = draw(LOSSES)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dt)
    if draw(st.booleans()):
        Y = (rng.random((n, k)) < 0.5).astype(dt)  # labels
    else:
        Y = rng.random((n, k)).astype(dt)  # soft targets
    y = Y[:, 0] if k == 1 and draw(st.booleans()) else Y
    return (d, *hidden, k), X, y, dt, loss, seed


def tolerance(dtype):
    """(rtol, atol) for comparing two correct implementations that sum in different orders."""
    return (1e-9, 1e-12) if dtype == np.float64 else (2e-3, 2e-5)


@given(problem=problems(), lr=st.floats(1e-3, 1.0), epochs=st.integers(1, 15))
def test_numba_backend_follows_the_numpy_baseline(problem, lr, epochs):
    layers, X, y, dtype, loss, seed = problem
    runs = [
        Network(layers, loss=loss, dtype=dtype, seed=seed, backend=b).fit(
            X, y, lr=lr, epochs=epochs, tol=None
        )
        for b in ("numba", "numpy")
    ]
    rtol, atol = tolerance(dtype)
    assert runs[0].history_.dtype == runs[1].history_.dtype == dtype
    np.testing.assert_allclose(runs[0].history_, runs[1].history_, rtol=rtol, atol=atol)
    for (W, b), (W2, b2) in zip(runs[0].weights, runs[1].weights, strict=True):
        np.testing.assert_allclose(W, W2, rtol=rtol, atol=atol)
        np.testing.assert_allclose(b, b2, rtol=rtol, atol=atol)
    np.testing.assert_allclose(
        runs[0].predict_proba(X), runs[1].predict_proba(X), rtol=rtol, atol=atol
    )


@given(
    problem=problems(max_n=40, max_width=4, wide=False, dtype=st.just(np.float64)),
    backend=st.sampled_from(["numba", "numpy"]),
)
def test_gradients_are_the_finite_differences_of_the_loss(problem, backend):
    layers, X, y, dtype, loss, seed = problem
    net = Network(layers, loss=loss, dtype=dtype, seed=seed, backend=backend)
    weights = net.weights
    h = 1e-6
    for li, (dW, db) in enumerate(net.gradients(X, y)):
        for pi, G in enumerate((dW, db)):
            fd = np.zeros_like(G)
            for idx in np.ndindex(G.shape):
                for sign in (1, -1):
                    w = [(W.copy(), b.copy()) for W, b in weights]
                    w[li][pi][idx] += sign * h
                    moved = Network.from_weights(w, loss=loss, backend=backend)
                    fd[idx] += sign * float(moved.loss(X, y)) / (2 * h)
            # central differences: error O(h^2) plus rounding O(eps * J / h) ~ 1e-9
            np.testing.assert_allclose(G, fd, rtol=1e-5, atol=1e-7)


@given(
    problem=problems(),
    lr=st.floats(1e-4, 1e-2),
    backend=st.sampled_from(["numba", "numpy"]),
)
def test_a_small_step_never_increases_the_loss(problem, lr, backend):
    layers, X, y, dtype, loss, seed = problem
    net = Network(layers, loss=loss, dtype=dtype, seed=seed, backend=backend)
    net.fit(X, y, lr=lr, epochs=2, tol=None)
    before, after = (float(v) for v in net.history_)
    # J(w - lr g) = J(w) - lr |g|^2 + O(lr^2): down, up to the rounding of the two sums
    assert after <= before + 64 * np.finfo(dtype).eps * max(before, 1.0)


@given(
    problem=problems(),
    scale=st.sampled_from([0.01, 1.0, 10.0, 100.0, 1000.0]),
    backend=st.sampled_from(["numba", "numpy"]),
)
def test_predict_proba_lies_in_the_unit_interval(problem, scale, backend):
    layers, X, y, dtype, loss, seed = problem
    rng = np.random.default_rng(seed)
    weights = [
        (scale * rng.standard_normal((fi, fo)), scale * rng.standard_normal(fo))
        for fi, fo in zip(layers[:-1], layers[1:], strict=False)
    ]
    net = Network.from_weights(weights, loss=loss, dtype=dtype, backend=backend)
    P = net.predict_proba(X)
    assert P.dtype == dtype
    assert P.shape == ((X.shape[0],) if layers[-1] == 1 else (X.shape[0], layers[-1]))
    assert np.all((P >= 0) & (P <= 1))
    np.testing.assert_array_equal(net.predict(X), (P >= 0.5).astype(int))
