"""The optimizers of ``fastnet.optim``: both backends against each other, external witnesses
(scikit-learn's SGD/momentum/Nesterov/Adam, ``torch.optim.Rprop`` and ``torch.optim.LBFGS``,
SciPy's L-BFGS-B), the training invariants every optimizer must keep, and the input checks.

Every test that concerns "each optimizer" is parametrised over ``fastnet.optim.OPTIMIZERS``, so
an optimizer added there is tested (or makes a table below fail loudly) without editing this file.
No expected number comes from the code under test: the witnesses are other libraries, or the
same computation done another way (one long fit vs. two, one block vs. many).
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize
from conftest import LOSSES, SHAPES, make_data, random_weights, sklearn_mlp_from

from fastnet import DivergedError, Network, optim

NAMES = list(optim.OPTIMIZERS)
BACKENDS = ["numba", "numpy"]


def make(name: str, **kwargs) -> optim.Optimizer:
    return optim.OPTIMIZERS[name](**kwargs)


def is_lbfgs(opt: optim.Optimizer) -> bool:
    return isinstance(opt, optim.LBFGS)


def cast(weights, dtype):
    return [(W.astype(dtype), b.astype(dtype)) for W, b in weights]


def flat(weights) -> np.ndarray:
    return np.concatenate([a.ravel() for pair in weights for a in pair])


def unflat(p: np.ndarray, layers) -> list[tuple[np.ndarray, np.ndarray]]:
    out, i = [], 0
    for fi, fo in zip(layers[:-1], layers[1:], strict=False):
        out.append((p[i : i + fi * fo].reshape(fi, fo).copy(), p[i + fi * fo : i + fi * fo + fo]))
        i += fi * fo + fo
    return out


def rel(a, b) -> float:
    """Largest elementwise relative difference (float64)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def scaled(a, b) -> float:
    """Largest difference relative to the largest value of ``b`` (for whole arrays)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def weights_diff(net_weights, ref_weights) -> float:
    """Largest per-array difference, each relative to the largest value of its array."""
    pairs = zip(net_weights, ref_weights, strict=True)
    return max(scaled(a, b) for p, q in pairs for a, b in zip(p, q, strict=True))


def same_numbers(a: Network, b: Network) -> None:
    """Bit-identical history, weights and optimizer state."""
    assert a.history_.dtype == b.history_.dtype
    np.testing.assert_array_equal(a.history_, b.history_)
    for (W, c), (V, d) in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(W, V)
        np.testing.assert_array_equal(c, d)
    np.testing.assert_array_equal(a.optimizer_state["vec"], b.optimizer_state["vec"])


def snapshot(net: Network) -> dict:
    return {
        "weights": net.weights,
        "history": net.history_.copy(),
        "n_epochs": net.n_epochs_,
        "converged": net.converged_,
        "n_evals": net.n_evals_,
        "optimizer": net.optimizer,
        "state": net.optimizer_state,
    }


def assert_unchanged(net: Network, before: dict) -> None:
    after = snapshot(net)
    for (W, b), (V, c) in zip(after["weights"], before["weights"], strict=True):
        np.testing.assert_array_equal(W, V)
        np.testing.assert_array_equal(b, c)
    np.testing.assert_array_equal(after["history"], before["history"])
    assert after["history"].dtype == before["history"].dtype
    assert after["n_epochs"] == before["n_epochs"]
    assert after["converged"] == before["converged"]
    assert after["n_evals"] == before["n_evals"]
    assert after["optimizer"] == before["optimizer"]
    assert type(after["optimizer"]) is type(before["optimizer"])
    for key in ("vec", "scal"):
        assert after["state"][key].dtype == before["state"][key].dtype
        np.testing.assert_array_equal(after["state"][key], before["state"][key])


# The defaults of every registered optimizer, plus variants that take the other branches: no
# momentum, fast Adam, Rprop reaching its step bounds (step_min in every case here, step_max in
# half), a 3-pair L-BFGS memory whose ring wraps within 15 iterations and a line search capped
# at 3 evaluations.
VARIANTS = [(name, make(name)) for name in NAMES] + [
    ("momentum-0", optim.Momentum(lr=0.3, momentum=0.0)),
    ("nesterov-fast", optim.Momentum(lr=0.2, momentum=0.95, nesterov=True)),
    ("adam-fast", optim.Adam(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6)),
    ("rprop-bounded", optim.Rprop(0.02, eta_minus=0.3, eta_plus=1.5, step_min=1e-3, step_max=0.3)),
    ("lbfgs-short", optim.LBFGS(history=3, max_line_search=3)),
]
FIRST_ORDER_EPOCHS = 300
LBFGS_ITERATIONS = 15


def epochs_for(opt: optim.Optimizer) -> int:
    return LBFGS_ITERATIONS if is_lbfgs(opt) else FIRST_ORDER_EPOCHS


# ============================================================ 1. numba against the numpy baseline
@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(("label", "opt"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_numba_equals_numpy_float64(layers, loss, label, opt):
    X, y = make_data(layers, n=40)
    weights = random_weights(layers, scale=0.5)
    epochs = epochs_for(opt)
    fast, ref = (
        Network.from_weights(weights, loss=loss, backend=b).fit(
            X, y, optimizer=opt, epochs=epochs, tol=None
        )
        for b in BACKENDS
    )
    assert fast.n_epochs_ == ref.n_epochs_ == epochs
    assert len(fast.history_) == epochs
    assert fast.n_evals_ == ref.n_evals_
    assert rel(fast.history_, ref.history_) <= 1e-10
    # An L-BFGS step ends where the loss is flat along the search line, so rounding moves the
    # step (and the weights) more than the losses (measured: 6.5e-11, history 1.1e-12)
    assert weights_diff(fast.weights, ref.weights) <= (1e-9 if is_lbfgs(opt) else 1e-10)
    # L-BFGS's state holds gradient differences y = g_new - g and rho = 1 / (y . s), whose
    # relative rounding errors are larger than the gradients' (measured: 1.6e-10 and 1.9e-10)
    vtol = 1e-8 if is_lbfgs(opt) else 1e-10
    assert scaled(fast.optimizer_state["vec"], ref.optimizer_state["vec"]) <= vtol
    fs, rs = fast.optimizer_state["scal"], ref.optimizer_state["scal"]
    assert fs.dtype == rs.dtype == np.float64
    assert rel(fs, rs) <= vtol
    # the trajectory went somewhere: the loss moved
    assert ref.history_[-1] < ref.history_[0]


@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", NAMES)
def test_numba_equals_numpy_float32(layers, loss, name):
    dtype = np.float32
    opt = make(name)
    X, y = make_data(layers, n=40, dtype=dtype)
    weights = cast(random_weights(layers, scale=0.5), dtype)
    # L-BFGS amplifies float32 rounding from iteration to iteration (measured: losses within
    # 4e-6 after 6 iterations, 1.5e-5 after 8): compare its first 6
    epochs = 6 if is_lbfgs(opt) else FIRST_ORDER_EPOCHS
    fast, ref = (
        Network.from_weights(weights, loss=loss, backend=b).fit(
            X, y, optimizer=opt, epochs=epochs, tol=None
        )
        for b in BACKENDS
    )
    for net in (fast, ref):
        assert net.history_.dtype == dtype
        assert all(a.dtype == dtype for pair in net.weights for a in pair)
        assert net.optimizer_state["vec"].dtype == dtype
        assert net.optimizer_state["scal"].dtype == np.float64
    assert fast.n_epochs_ == ref.n_epochs_ == epochs
    assert fast.n_evals_ == ref.n_evals_
    # relative to the scale of the curve: with Rprop the (5, 4, 3, 1) mse loss falls to 1e-15,
    # where float32 differences are all there is (measured: at most 4e-6)
    assert scaled(fast.history_, ref.history_) <= 1e-4
    # Smooth updates keep the weights as close as the losses (measured: at most 1.4e-6). Rprop
    # moves a weight by a whole step when its gradient is so near 0 that rounding decides the
    # sign; an L-BFGS step is a minimiser along a line, where the loss is flat, so a rounding
    # error d in the losses moves it by about sqrt(d). Measured: at most 1.1e-4 and 4.3e-4.
    wtol = 2e-3 if isinstance(opt, (optim.Rprop, optim.LBFGS)) else 1e-4
    assert weights_diff(fast.weights, ref.weights) <= wtol


# ============================================================ 2. external witnesses


# name -> (our optimizer, the MLPClassifier arguments doing the same update)
SKLEARN_WITNESSES = {
    "gd": (
        optim.GD(lr=0.3),
        dict(solver="sgd", learning_rate_init=0.3, momentum=0.0, nesterovs_momentum=False),
    ),
    "momentum": (
        optim.Momentum(lr=0.2, momentum=0.8),
        dict(solver="sgd", learning_rate_init=0.2, momentum=0.8, nesterovs_momentum=False),
    ),
    "nesterov": (
        optim.Momentum(lr=0.2, momentum=0.8, nesterov=True),
        dict(solver="sgd", learning_rate_init=0.2, momentum=0.8, nesterovs_momentum=True),
    ),
    "adam": (
        optim.Adam(lr=0.05, beta1=0.85, beta2=0.99, eps=1e-7),
        dict(solver="adam", learning_rate_init=0.05, beta_1=0.85, beta_2=0.99, epsilon=1e-7),
    ),
}
# Every optimizer needs a witness outside fastnet; which one covers which:
WITNESSED_BY = {
    "gd": "test_sklearn_witness (and test_witnesses.py)",
    "momentum": "test_sklearn_witness",
    "nesterov": "test_sklearn_witness",
    "adam": "test_sklearn_witness",
    "rprop": "test_torch_rprop_witness",
    "lbfgs": "test_scipy_lbfgs_b_witness, test_lbfgs_no_worse_than_scipy",
}


def test_every_optimizer_has_an_external_witness():
    assert set(WITNESSED_BY) == set(NAMES)


@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("name", list(SKLEARN_WITNESSES))
def test_sklearn_witness(layers, name, backend):
    """Log loss, full batch: scikit-learn's loss_ per epoch and final coefs_/intercepts_."""
    opt, solver = SKLEARN_WITNESSES[name]
    assert make(name).code == opt.code  # the witness is for the optimizer of that name
    X, y = make_data(layers, n=50)
    Y = y.astype(int)
    weights = random_weights(layers, scale=0.5)
    epochs = 60
    clf = sklearn_mlp_from(weights, X, Y, **solver)
    sk_losses = []
    for _ in range(epochs):
        clf.partial_fit(X, Y)
        sk_losses.append(clf.loss_)
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, optimizer=opt, epochs=epochs, tol=None)
    assert rel(net.history_, sk_losses) <= 1e-10
    assert weights_diff(net.weights, list(zip(clf.coefs_, clf.intercepts_, strict=True))) <= 1e-10
    assert sk_losses[-1] < sk_losses[0] - 1e-3  # it trained


@pytest.fixture
def torch():
    """torch, on one thread while the test runs (two threads on a busy two-core machine made
    100 Rprop steps of these tiny networks take 8 s instead of 0.1 s)."""
    torch = pytest.importorskip("torch", reason="the Rprop and L-BFGS witnesses need torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def torch_network(torch, weights, X, y, loss):
    """Parameters and loss of the same sigmoid network in torch float64."""
    params = []
    for W, b in weights:
        params += [torch.tensor(W, dtype=torch.float64, requires_grad=True),
                   torch.tensor(b, dtype=torch.float64, requires_grad=True)]  # fmt: skip
    Xt = torch.tensor(X, dtype=torch.float64)
    Yt = torch.tensor(y.reshape(len(y), -1), dtype=torch.float64)

    def objective():
        a = Xt
        for i in range(0, len(params), 2):
            z = a @ params[i] + params[i + 1]
            a = torch.sigmoid(z)
        if loss == "mse":  # mean over rows of the summed per-output losses
            return ((a - Yt) ** 2).sum() / len(X)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        return bce(z, Yt, reduction="sum") / len(X)

    return params, objective


def torch_weights(params):
    arrays = [p.detach().numpy().copy() for p in params]
    return list(zip(arrays[::2], arrays[1::2], strict=True))


@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_torch_rprop_witness(torch, layers, loss, backend):
    opt = optim.Rprop(step0=0.05, eta_minus=0.4, eta_plus=1.3, step_min=0.01, step_max=0.2)
    X, y = make_data(layers, n=40)
    weights = random_weights(layers, scale=0.5)
    steps = 100
    params, objective = torch_network(torch, weights, X, y, loss)
    rprop = torch.optim.Rprop(params, lr=opt.step0, etas=(opt.eta_minus, opt.eta_plus),
                              step_sizes=(opt.step_min, opt.step_max))  # fmt: skip
    losses = []
    for _ in range(steps):
        rprop.zero_grad()
        J = objective()
        J.backward()
        losses.append(J.item())
        rprop.step()
    net = Network.from_weights(weights, loss=loss, backend=backend)
    net.fit(X, y, optimizer=opt, epochs=steps, tol=None)
    assert rel(net.history_, losses) <= 1e-10
    assert weights_diff(net.weights, torch_weights(params)) <= 1e-10
    # the step sizes agree too, and the run reached both clipping bounds
    n = len(flat(weights))
    ours = net.optimizer_state["vec"][:n]
    theirs = np.concatenate([rprop.state[p]["step_size"].numpy().ravel() for p in params])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours.max() == opt.step_max and ours.min() == opt.step_min


def scipy_lbfgs(weights, X, y, loss, k, history=10):
    """SciPy's L-BFGS-B (no bounds, no stopping tolerance) on the numpy backend's loss and
    gradient: the loss after each of its first ``k`` iterations, its final weights, its
    number of iterations."""
    layers = [weights[0][0].shape[0]] + [W.shape[1] for W, _ in weights]

    def fun(p):
        net = Network.from_weights(unflat(p, layers), loss=loss, backend="numpy")
        J, grads = net.loss_and_gradients(X, y)
        return float(J), flat(grads)

    iterates = []
    options = {"maxiter": k, "maxcor": history, "ftol": 0, "gtol": 0}
    res = scipy.optimize.minimize(fun, flat(weights), jac=True, method="L-BFGS-B",
                                  callback=lambda xk: iterates.append(xk.copy()),
                                  options=options)  # fmt: skip
    return [fun(x)[0] for x in iterates], unflat(res.x, layers), int(res.nit)


@pytest.mark.parametrize("layers", [*SHAPES, (30, 16, 1)])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("history", [3, 10])
def test_scipy_lbfgs_b_witness(layers, loss, history, backend):
    """``optim.LBFGS`` is L-BFGS-B's iteration without bounds: from the same weights it takes
    the iterates of ``scipy.optimize.minimize(method="L-BFGS-B")``, iteration by iteration.

    15 iterations: the two round differently (BLAS dot products, the compact vs the two-loop
    form of the inverse Hessian) and L-BFGS amplifies that; measured over 24 problems (breast
    cancer, S and random data, hidden layers, both losses) at most 1e-13 relative after 20
    iterations, 3e-8 after 40."""
    X, y = make_data(layers, n=60)
    weights = random_weights(layers)
    k = 15
    losses, final, nit = scipy_lbfgs(weights, X, y, loss, k, history)
    net = Network.from_weights(weights, loss=loss, backend=backend)
    net.fit(X, y, optimizer=optim.LBFGS(history=history), epochs=k + 1, tol=None)
    assert nit == k and net.n_epochs_ == k + 1
    # history_[i] is the loss at the start of iteration i: after i - 1 of SciPy's iterations
    assert rel(net.history_[1:], losses) <= 1e-10
    net_k = Network.from_weights(weights, loss=loss, backend=backend)
    net_k.fit(X, y, optimizer=optim.LBFGS(history=history), epochs=k, tol=None)
    assert weights_diff(net_k.weights, final) <= 1e-9
    assert losses[-1] < 0.9 * float(net.history_[0])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [10, 30])
def test_lbfgs_no_worse_than_scipy(seed, k, backend):
    """The issue's acceptance: after the same number of iterations from the same weights, a
    loss no worse than 1.05 times that of SciPy's L-BFGS-B (or below 1e-9), on networks with
    hidden layers, both losses."""
    layers = (6, 8, 4, 1)
    X, y = make_data(layers, n=120, seed=seed)
    weights = random_weights(layers, seed=seed + 10)
    for loss in LOSSES:
        losses, _, nit = scipy_lbfgs(weights, X, y, loss, k)
        net = Network.from_weights(weights, loss=loss, backend=backend)
        net.fit(X, y, optimizer=optim.LBFGS(), epochs=k, tol=None)
        ours = float(net.loss(X, y))
        assert net.n_epochs_ == nit == k
        assert ours <= 1.05 * losses[-1] or ours < 1e-9


# ============================================================ 3. invariants
INVARIANT_LAYERS = (4, 3, 1)


def invariant_problem(dtype=np.float64):
    X, y = make_data(INVARIANT_LAYERS, n=40, dtype=dtype)
    return X, y, cast(random_weights(INVARIANT_LAYERS, scale=0.5), dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("tol", [None, 1e-3])
def test_block_boundary_changes_no_number(name, tol, backend):
    X, y, weights = invariant_problem()
    one = Network.from_weights(weights, loss="log", backend=backend)
    one.fit(X, y, optimizer=make(name), epochs=40, tol=tol)
    seen = []
    blocks = Network.from_weights(weights, loss="log", backend=backend)
    blocks.fit(X, y, optimizer=make(name), epochs=40, tol=tol, block_epochs=7,
               callback=lambda done, last: seen.append((done, last)))  # fmt: skip
    same_numbers(one, blocks)
    np.testing.assert_array_equal(one.optimizer_state["scal"], blocks.optimizer_state["scal"])
    assert (one.n_epochs_, one.converged_, one.n_evals_) == (
        blocks.n_epochs_, blocks.converged_, blocks.n_evals_
    )  # fmt: skip
    if tol is None:
        assert one.n_epochs_ == 40
        assert [d for d, _ in seen] == [7, 14, 21, 28, 35, 40]  # the blocks really happened
    assert all(last == blocks.history_[d - 1] for d, last in seen)


@pytest.mark.parametrize("name", NAMES)
def test_continuing_equals_one_longer_fit(name, backend):
    X, y, weights = invariant_problem()
    a, b = (12, 13) if name == "lbfgs" else (57, 43)
    one = Network.from_weights(weights, loss="log", backend=backend)
    one.fit(X, y, optimizer=make(name), epochs=a + b, tol=None)
    two = Network.from_weights(weights, loss="log", backend=backend)
    two.fit(X, y, optimizer=make(name), epochs=a, tol=None)
    first = two.history_.copy()
    two.fit(X, y, optimizer=make(name), epochs=b, tol=None)  # an equal, new object
    np.testing.assert_array_equal(np.concatenate([first, two.history_]), one.history_)
    for (W, c), (V, d) in zip(two.weights, one.weights, strict=True):
        np.testing.assert_array_equal(W, V)
        np.testing.assert_array_equal(c, d)
    np.testing.assert_array_equal(two.optimizer_state["vec"], one.optimizer_state["vec"])
    s1, s2 = one.optimizer_state["scal"], two.optimizer_state["scal"]
    if name == "lbfgs":  # the second fit re-evaluated the loss once: only the count differs
        assert s2[optim.LB_EVALS] == s1[optim.LB_EVALS] + 1
        s1, s2 = np.delete(s1, optim.LB_EVALS), np.delete(s2, optim.LB_EVALS)
    np.testing.assert_array_equal(s1, s2)
    assert two.optimizer_state["scal"][0] == a + b  # updates counted over both calls


def changed(opt: optim.Optimizer) -> optim.Optimizer:
    """``opt`` with its first hyper-parameter moved (a different, equally valid optimizer)."""
    f = dataclasses.fields(opt)[0]
    value = getattr(opt, f.name)
    new = value + 1 if isinstance(value, int) else value * 0.75
    other = dataclasses.replace(opt, **{f.name: new})
    assert other != opt
    return other


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("switch", ["other-class", "other-hyper"])
def test_another_optimizer_starts_fresh(name, switch, backend):
    X, y, weights = invariant_problem()
    first = optim.Adam(lr=0.05) if name != "adam" else optim.Momentum(lr=0.2)
    if switch == "other-hyper":
        first = changed(make(name))
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, optimizer=first, epochs=10, tol=None)
    middle = net.weights
    net.fit(X, y, optimizer=make(name), epochs=15, tol=None)
    fresh = Network.from_weights(middle, loss="log", backend=backend)
    fresh.fit(X, y, optimizer=make(name), epochs=15, tol=None)
    same_numbers(net, fresh)
    np.testing.assert_array_equal(net.optimizer_state["scal"], fresh.optimizer_state["scal"])
    assert net.optimizer == make(name) and net.n_evals_ == fresh.n_evals_


def test_continuing_differs_from_starting_fresh():
    """The continuation tests above can fail: restarting Momentum changes the numbers."""
    X, y, weights = invariant_problem()
    net = Network.from_weights(weights, loss="log").fit(X, y, optimizer="momentum", epochs=20,
                                                        tol=None)  # fmt: skip
    fresh = Network.from_weights(net.weights, loss="log")
    fresh.fit(X, y, optimizer="momentum", epochs=5, tol=None)
    net.fit(X, y, optimizer="momentum", epochs=5, tol=None)
    assert not np.array_equal(net.history_, fresh.history_)


def diverging(name: str, dtype) -> tuple[optim.Optimizer, bool]:
    """An optimizer that overflows on the log loss within a few epochs, and whether the start
    must already be non-finite (L-BFGS's line search never takes a non-finite step)."""
    huge = float(np.finfo(dtype).max) / 4
    table = {
        "gd": optim.GD(lr=huge),
        "momentum": optim.Momentum(lr=huge),
        "nesterov": optim.Momentum(lr=huge, nesterov=True),
        "adam": optim.Adam(lr=huge),
        "rprop": optim.Rprop(step0=huge, step_max=huge),
        "lbfgs": optim.LBFGS(),
    }
    return table[name], name == "lbfgs"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_divergence_keeps_the_last_finite_weights(name, dtype, backend):
    X, y, weights = invariant_problem(dtype)
    opt, bad_start = diverging(name, dtype)
    if bad_start:  # logits of +-inf: the loss is inf - inf
        big = np.finfo(dtype).max
        weights = [(np.full_like(W, big), b) for W, b in weights]
    net = Network.from_weights(weights, loss="log", backend=backend)
    with pytest.raises(DivergedError, match="diverged"):
        net.fit(X, y, optimizer=opt, epochs=200, tol=None)
    assert not net.converged_
    assert len(net.history_) == net.n_epochs_ < 200
    assert net.history_.dtype == dtype and np.isfinite(net.history_).all()
    assert all(np.isfinite(a).all() for pair in net.weights for a in pair)
    assert np.isfinite(net.optimizer_state["vec"]).all()
    applied = int(net.optimizer_state["scal"][0])  # updates applied
    assert net.n_epochs_ in (applied, applied + 1)  # +1: a loss was recorded, its update refused
    if applied == 0:
        for (W, b), (V, c) in zip(net.weights, weights, strict=True):
            np.testing.assert_array_equal(W, V)
            np.testing.assert_array_equal(b, c)
    else:  # exactly the weights after the applied updates
        ref = Network.from_weights(weights, loss="log", backend=backend)
        ref.fit(X, y, optimizer=opt, epochs=applied, tol=None)
        np.testing.assert_array_equal(ref.history_, net.history_[:applied])
        for (W, b), (V, c) in zip(net.weights, ref.weights, strict=True):
            np.testing.assert_array_equal(W, V)
            np.testing.assert_array_equal(b, c)
    if bad_start:
        assert net.n_epochs_ == 0


def stop_epoch(history, tol, n_iter_no_change):
    """scikit-learn's stopping rule, written again: the epoch count at which it stops."""
    best, count = math.inf, 0
    for e, loss in enumerate(history):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > n_iter_no_change:
            return e + 1
    return None


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("tol", [1e-3, 1e-4])
def test_stopping_rule(name, tol, backend):
    X, y, weights = invariant_problem()
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, optimizer=make(name), epochs=5000, tol=tol, n_iter_no_change=5)
    assert net.converged_
    assert net.n_epochs_ < 5000
    expected = stop_epoch(net.history_, tol, 5)
    if expected is None:  # only L-BFGS may stop for another reason: no step lowers the loss
        assert name == "lbfgs"
    else:
        assert net.n_epochs_ == expected
    # training with tol=None runs every epoch and reproduces the same curve
    full = Network.from_weights(weights, loss="log", backend=backend)
    full.fit(X, y, optimizer=make(name), epochs=net.n_epochs_, tol=None)
    np.testing.assert_array_equal(full.history_, net.history_)


# ============================================================ 4. bad input
BAD_HYPER = [
    (optim.GD, {"lr": 0}, ValueError, "lr"),
    (optim.GD, {"lr": -0.1}, ValueError, "lr"),
    (optim.GD, {"lr": math.nan}, ValueError, "lr"),
    (optim.GD, {"lr": math.inf}, ValueError, "lr"),
    (optim.GD, {"lr": 1e-330}, ValueError, "lr"),  # 0.0 as a Python float
    (optim.GD, {"lr": "0.1"}, TypeError, "lr"),
    (optim.GD, {"lr": True}, TypeError, "lr"),
    (optim.GD, {"lr": None}, TypeError, "lr"),
    (optim.GD, {"lr": 1j}, TypeError, "lr"),
    (optim.Momentum, {"lr": 0.0}, ValueError, "lr"),
    (optim.Momentum, {"lr": -math.inf}, ValueError, "lr"),
    (optim.Momentum, {"momentum": 1.0}, ValueError, "momentum"),
    (optim.Momentum, {"momentum": 1.5}, ValueError, "momentum"),
    (optim.Momentum, {"momentum": -0.1}, ValueError, "momentum"),
    (optim.Momentum, {"momentum": math.nan}, ValueError, "momentum"),
    (optim.Momentum, {"momentum": math.inf}, ValueError, "momentum"),
    (optim.Momentum, {"momentum": "0.9"}, TypeError, "momentum"),
    (optim.Momentum, {"nesterov": 1}, TypeError, "nesterov"),
    (optim.Momentum, {"nesterov": "yes"}, TypeError, "nesterov"),
    (optim.Momentum, {"nesterov": None}, TypeError, "nesterov"),
    (optim.Adam, {"lr": -1e-3}, ValueError, "lr"),
    (optim.Adam, {"lr": math.nan}, ValueError, "lr"),
    (optim.Adam, {"beta1": 1.0}, ValueError, "beta1"),
    (optim.Adam, {"beta1": -0.5}, ValueError, "beta1"),
    (optim.Adam, {"beta1": math.nan}, ValueError, "beta1"),
    (optim.Adam, {"beta2": 1.0}, ValueError, "beta2"),
    (optim.Adam, {"beta2": 2.0}, ValueError, "beta2"),
    (optim.Adam, {"beta2": math.inf}, ValueError, "beta2"),
    (optim.Adam, {"beta2": False}, TypeError, "beta2"),
    (optim.Adam, {"eps": 0.0}, ValueError, "eps"),
    (optim.Adam, {"eps": -1e-8}, ValueError, "eps"),
    (optim.Adam, {"eps": math.inf}, ValueError, "eps"),
    (optim.Adam, {"eps": math.nan}, ValueError, "eps"),
    (optim.Rprop, {"step0": 0.0}, ValueError, "step0"),
    (optim.Rprop, {"step0": math.nan}, ValueError, "step0"),
    (optim.Rprop, {"eta_minus": 0.0}, ValueError, "eta_minus"),
    (optim.Rprop, {"eta_minus": -0.5}, ValueError, "eta_minus"),
    (optim.Rprop, {"eta_minus": 1.0}, ValueError, "eta_minus"),
    (optim.Rprop, {"eta_minus": 1.5}, ValueError, "eta_minus"),
    (optim.Rprop, {"eta_minus": math.nan}, ValueError, "eta_minus"),
    (optim.Rprop, {"eta_plus": 1.0}, ValueError, "eta_plus"),
    (optim.Rprop, {"eta_plus": 0.5}, ValueError, "eta_plus"),
    (optim.Rprop, {"eta_plus": math.inf}, ValueError, "eta_plus"),
    (optim.Rprop, {"step_min": 0.0}, ValueError, "step_min"),
    (optim.Rprop, {"step_min": -1e-6}, ValueError, "step_min"),
    (optim.Rprop, {"step_min": 0.2}, ValueError, "step_min"),  # above step0 = 0.1
    (optim.Rprop, {"step0": 60.0}, ValueError, "step_max"),  # above step_max = 50
    (optim.Rprop, {"step_max": 0.05}, ValueError, "step_max"),  # below step0
    (optim.Rprop, {"step_max": math.inf}, ValueError, "step_max"),
    (optim.Rprop, {"step_max": "50"}, TypeError, "step_max"),
    (optim.LBFGS, {"history": 0}, ValueError, "history"),
    (optim.LBFGS, {"history": -3}, ValueError, "history"),
    (optim.LBFGS, {"history": 2.0}, TypeError, "history"),
    (optim.LBFGS, {"history": True}, TypeError, "history"),
    (optim.LBFGS, {"history": "10"}, TypeError, "history"),
    (optim.LBFGS, {"history": None}, TypeError, "history"),
    (optim.LBFGS, {"max_line_search": 0}, ValueError, "max_line_search"),
    (optim.LBFGS, {"max_line_search": 2.0}, TypeError, "max_line_search"),
    (optim.LBFGS, {"max_line_search": False}, TypeError, "max_line_search"),
    (optim.LBFGS, {"max_line_search": math.inf}, TypeError, "max_line_search"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "exc", "arg"),
    BAD_HYPER,
    ids=[f"{c.__name__}-{k}" for c, k, _, _ in BAD_HYPER],
)
def test_bad_hyper_parameter(cls, kwargs, exc, arg):
    with pytest.raises(exc, match=arg):
        cls(**kwargs)


def test_every_hyper_parameter_has_a_bad_value_tested():
    tested = {(cls, name) for cls, kwargs, _, _ in BAD_HYPER for name in kwargs}
    for name in NAMES:
        cls = type(make(name))
        for f in dataclasses.fields(cls):
            assert (cls, f.name) in tested, f"no bad value tested for {cls.__name__}.{f.name}"


@pytest.mark.parametrize(
    "opt",
    [
        optim.Momentum(momentum=0.0),
        optim.Momentum(nesterov=np.bool_(True)),
        optim.Adam(beta1=0.0, beta2=0.0),
        optim.Rprop(step0=1.0, step_min=1.0, step_max=1.0),
        optim.Rprop(eta_minus=1e-3, eta_plus=1.001),
        optim.LBFGS(history=1, max_line_search=1),
        optim.LBFGS(history=np.int64(4), max_line_search=np.int32(5)),
        optim.GD(lr=np.float32(0.25)),
    ],
    ids=repr,
)
def test_edge_values_are_accepted_and_train(opt):
    X, y, weights = invariant_problem()
    fast, ref = (
        Network.from_weights(weights, loss="log", backend=b).fit(
            X, y, optimizer=opt, epochs=20, tol=None
        )
        for b in BACKENDS
    )
    assert rel(fast.history_, ref.history_) <= 1e-10
    # numpy scalars are stored as the plain Python type of the default
    for f in dataclasses.fields(opt):
        assert type(getattr(opt, f.name)) is type(getattr(make(opt.name), f.name))


def test_names_and_objects():
    assert optim.get_optimizer("ADAM") == optim.Adam()
    assert optim.get_optimizer("nesterov") == optim.Momentum(nesterov=True)
    assert optim.get_optimizer("momentum", lr=0.3) == optim.Momentum(lr=0.3)
    assert optim.GD(0.1) == optim.GD(lr=0.1) and hash(optim.GD(0.1)) == hash(optim.GD(0.1))
    assert optim.Momentum() != optim.Momentum(nesterov=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        optim.GD().lr = 0.1


@pytest.fixture
def trained(backend):
    """A network with history and optimizer state to lose."""
    X, y, weights = invariant_problem()
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, optimizer=optim.Momentum(lr=0.2), epochs=15, tol=None)
    return net, X, y


BAD_FITS = [
    (
        dict(optimizer="sgdm"),
        ValueError,
        re.escape("valid names are " + ", ".join(map(repr, NAMES))),
    ),
    (dict(optimizer=""), ValueError, "unknown optimizer"),
    (dict(optimizer=3), TypeError, "optimizer must be"),
    (dict(optimizer=optim.Adam), TypeError, "optimizer must be"),  # the class, not an object
    (dict(optimizer=["adam"]), TypeError, "optimizer must be"),
    (dict(optimizer=optim.GD(), lr=0.1), ValueError, "lr"),
    (dict(optimizer=optim.Momentum(), lr=0.1), ValueError, "lr"),
    (dict(optimizer="lbfgs", lr=0.1), ValueError, "lr"),
    (dict(optimizer="rprop", lr=0.1), ValueError, "lr"),
    (dict(optimizer="adam", lr=0.0), ValueError, "lr"),
    (dict(optimizer="adam", lr=math.nan), ValueError, "lr"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(lr="fast"), TypeError, "lr"),
    (dict(optimizer="momentum", epochs=0), ValueError, "epochs"),
    (dict(optimizer="momentum", tol=-1.0), ValueError, "tol"),
    (dict(optimizer="momentum", block_epochs=0), ValueError, "block_epochs"),
    (dict(optimizer="momentum", callback=3), TypeError, "callback"),
]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"), BAD_FITS, ids=[str(k) for k, _, _ in BAD_FITS]
)
def test_rejected_fit_leaves_the_network_untouched(trained, kwargs, exc, match):
    net, X, y = trained
    before = snapshot(net)
    with pytest.raises(exc, match=match):
        net.fit(X, y, **kwargs)
    assert_unchanged(net, before)


def test_rejected_data_leaves_the_network_untouched(trained):
    net, X, y = trained
    before = snapshot(net)
    with pytest.raises(ValueError):
        net.fit(X[:, :2], y, optimizer="momentum")
    with pytest.raises(ValueError):
        net.fit(X, y[:-1], optimizer="adam")
    assert_unchanged(net, before)


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        (dict(optimizer=optim.GD(lr=1e-50)), "lr"),
        (dict(optimizer=optim.Momentum(lr=1e-46)), "lr"),
        (dict(optimizer="adam", lr=1e-50), "lr"),
        (dict(lr=1e-50), "lr"),
        (dict(optimizer=optim.GD(lr=1e39)), "lr"),
        (dict(optimizer=optim.Adam(eps=1e-50)), "eps"),
        (dict(optimizer=optim.Rprop(step_min=1e-50)), "step_min"),
        (dict(optimizer=optim.Rprop(step0=1e39, step_max=1e40)), "step0"),
    ],
)
def test_step_sizes_that_round_to_zero_or_inf_in_float32(kwargs, arg, backend):
    X, y, weights = invariant_problem(np.float32)
    net = Network.from_weights(weights, loss="log", backend=backend)
    net.fit(X, y, optimizer="rprop", epochs=5, tol=None)
    before = snapshot(net)
    with pytest.raises(ValueError, match=arg):
        net.fit(X, y, **kwargs)
    assert_unchanged(net, before)
    # the same values are fine in float64
    Network.from_weights(cast(weights, np.float64), loss="log", backend=backend).fit(
        X.astype(np.float64), y.astype(np.float64), epochs=2, tol=None, **kwargs
    )


# ============================================================ 5. L-BFGS specifics
@pytest.mark.parametrize("layers", SHAPES)
@pytest.mark.parametrize("loss", LOSSES)
def test_lbfgs_history_and_evaluations(layers, loss, backend):
    X, y = make_data(layers, n=40)
    net = Network.from_weights(random_weights(layers), loss=loss, backend=backend)
    net.fit(X, y, optimizer="lbfgs", epochs=40, tol=None)
    h = net.history_
    assert len(h) == net.n_epochs_
    assert np.all(np.diff(h) <= 0)  # each iteration's loss is at most the one before
    assert h[-1] < h[0]
    assert float(net.loss(X, y)) <= h[-1]
    assert net.n_evals_ >= net.n_epochs_ + 1  # the start, and at least one per line search
    # a second fit counts only its own evaluations
    evals = net.n_evals_
    net.fit(X, y, optimizer="lbfgs", epochs=3, tol=None)
    assert 4 <= net.n_evals_ < evals


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("loss", LOSSES)
def test_lbfgs_stops_at_a_minimum(loss, backend):
    """Targets made by a teacher network of the same shape (no hidden layer): for both losses
    the unique minimum is the teacher's weights, with loss 0 (mse) or the targets' entropy
    (log). L-BFGS gets there, finds that no step lowers the loss any more, and stops."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 3))
    W, b = rng.standard_normal((3, 1)), rng.standard_normal(1)
    y = sigmoid(X @ W + b)[:, 0]
    start = [(np.zeros((3, 1)), np.zeros(1))]
    net = Network.from_weights(start, loss=loss, backend=backend)
    net.fit(X, y, optimizer="lbfgs", epochs=500, tol=None)  # only a minimum can stop it
    assert net.converged_
    assert net.n_epochs_ < 200
    (W_fit, b_fit), = net.weights  # fmt: skip
    np.testing.assert_allclose(W_fit, W, rtol=1e-6)
    np.testing.assert_allclose(b_fit, b, rtol=1e-6)
    if loss == "mse":
        assert net.history_[-1] < 1e-20
    else:
        entropy = -np.mean(y * np.log(y) + (1 - y) * np.log(1 - y))
        assert net.history_[-1] == pytest.approx(entropy, rel=1e-12)


# ============================================================ numba's threading layer
def test_kernels_start_the_threading_layer_on_import():
    """numba#8578: a cached serial kernel calling the parallel ``evaluate`` may have been cached
    without the instruction to start the threading layer, and then crashes when it is the first
    kernel a process loads (found here: a fresh process whose first fit was L-BFGS). Importing
    ``_kernels`` starts the layer first."""
    code = "import numba, fastnet._kernels; print(numba.threading_layer())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip()
