"""``fastnet.register_loss``: a user's loss works like a built-in one (issue 12, item 4)."""

import numba
import numpy as np
import pytest
from _focal import focal, focal_reference
from conftest import make_data, random_weights

import fastnet
from fastnet import Network, _jit


@pytest.fixture
def registered():
    fastnet.register_loss("focal", focal, reference=focal_reference, needs_unit_targets=True,
                          aliases=("focal2",))  # fmt: skip
    yield "focal"
    fastnet.unregister_loss("focal")


def test_a_registered_loss_matches_finite_differences_and_the_numpy_baseline(registered):
    layers = (4, 5, 2)
    X, y = make_data(layers, n=30)
    weights = random_weights(layers)
    nets = [Network.from_weights(weights, loss="focal2", backend=b) for b in ("numba", "numpy")]
    assert nets[0].loss_name == "focal"
    J, grads = nets[0].loss_and_gradients(X, y)
    J2, grads2 = nets[1].loss_and_gradients(X, y)
    assert J == pytest.approx(J2, rel=1e-12)
    h = 1e-6
    W = weights[1][0]
    for idx in np.ndindex(W.shape):
        plus = [(a.copy(), b.copy()) for a, b in weights]
        minus = [(a.copy(), b.copy()) for a, b in weights]
        plus[1][0][idx] += h
        minus[1][0][idx] -= h
        fd = (Network.from_weights(plus, loss="focal").loss(X, y)
              - Network.from_weights(minus, loss="focal").loss(X, y)) / (2 * h)  # fmt: skip
        assert grads[1][0][idx] == pytest.approx(fd, rel=1e-6, abs=1e-10)
        assert grads2[1][0][idx] == pytest.approx(fd, rel=1e-6, abs=1e-10)
    for net in nets:
        net.fit(X, y, epochs=200, tol=None, lr=0.5)
    np.testing.assert_allclose(nets[0].history_, nets[1].history_, rtol=1e-10)
    assert nets[0].history_[-1] < nets[0].history_[0]


def test_registering_reuses_the_compiled_training_kernels(registered):
    X, y = make_data((4, 5, 1), n=20)
    Network((4, 5, 1), loss="log").fit(X, y, epochs=2, tol=None)
    before = set(_jit._ENTRY_POINTS)
    Network((4, 5, 1), loss="focal").fit(X, y, epochs=2, tol=None)
    assert set(_jit._ENTRY_POINTS) == before  # no new compiled variant of the kernels


def test_a_saved_network_with_an_unregistered_loss_names_it(tmp_path, registered):
    X, y = make_data((4, 5, 1), n=20)
    path = Network((4, 5, 1), loss="focal").fit(X, y, epochs=2, tol=None).save(tmp_path / "m")
    assert fastnet.load(path).loss_name == "focal"
    fastnet.unregister_loss("focal")
    try:
        with pytest.raises(ValueError, match=r"loss 'focal', which is not registered.*register"):
            fastnet.load(path)
    finally:
        fastnet.register_loss("focal", focal, reference=focal_reference)


@numba.njit(cache=False)
def _wrong_signature(z, p, y):
    return z[0]


@numba.njit(cache=False)
def _returns_an_array(z, p, y, delta):
    return z


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        (dict(kernel=focal_reference), TypeError, "kernel must be an @numba.njit function"),
        (dict(kernel=_wrong_signature), TypeError, "kernel '_wrong_signature' does not compile"),
        (dict(kernel=_returns_an_array), TypeError, "does not compile for the loss block"),
        (dict(reference=3), TypeError, "reference must be callable"),
        (dict(name="mse"), ValueError, "name 'mse' is a built-in loss"),
        (dict(name="bce"), ValueError, "name 'bce' is a built-in loss ('log')"),
        (dict(name=""), TypeError, "name must be a non-empty string"),
        (dict(output="tanh"), ValueError, "output must be one of"),
        (dict(aliases="f"), TypeError, "aliases must be a sequence of strings"),
    ],
)
def test_bad_registrations_are_rejected_and_register_nothing(kwargs, error, fragment):
    args = dict(name="focal_x", kernel=focal, reference=focal_reference) | kwargs
    names = dict(fastnet.LOSS_NAMES)
    with pytest.raises(error) as info:
        fastnet.register_loss(args.pop("name"), args.pop("kernel"), **args)
    assert fragment in str(info.value)
    assert dict(fastnet.LOSS_NAMES) == names


def test_a_registered_name_needs_replace(registered):
    with pytest.raises(ValueError, match="loss 'focal' is already registered; pass replace"):
        fastnet.register_loss("focal", focal, reference=focal_reference)
    with pytest.raises(ValueError, match="'focal2' is already registered"):
        fastnet.register_loss("other", focal, reference=focal_reference, aliases=["focal2"])
    fastnet.register_loss("focal", focal, reference=focal_reference, output="linear",
                          replace=True)  # fmt: skip
    with pytest.raises(ValueError, match="loss 'focal' does not work with output='sigmoid'"):
        Network((2, 1), loss="focal")
    assert "focal2" not in fastnet.LOSS_NAMES
