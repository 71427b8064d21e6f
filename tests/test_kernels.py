"""The kernels' own numerics and code generation: the vectorised sigmoid's accuracy, the
512-bit vector attributes reaching LLVM, and how numba's threading layer is started."""

import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from conftest import DTYPES

from fastnet import _kernels


@numba.njit(error_model="numpy")
def _sigmoid(z, b, keep):
    out = z.copy()
    logits = np.empty_like(z)
    _kernels.sigmoid_inplace(out, b, logits, keep)
    return out, logits


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_within_a_few_ulps_of_the_correctly_rounded_value(dtype):
    rng = np.random.default_rng(0)
    z = np.concatenate([np.linspace(-40, 40, 200_001), rng.standard_normal(100_000) * 8])
    z = z.astype(dtype)
    got, _ = _sigmoid(z, np.zeros(1, dtype), False)
    exact = (1 / (1 + np.exp(-z.astype(np.longdouble)))).astype(dtype)
    ulps = np.abs(got - exact) / np.spacing(exact)
    assert ulps.max() <= 3, (ulps.max(), z[ulps.argmax()])  # 2.0 measured on AVX-512


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_adds_the_bias_per_column_and_keeps_the_logits(dtype):
    z = np.arange(12, dtype=dtype) / 4 - 1  # 4 rows x 3 columns, flattened
    b = np.array([0.5, -1.0, 2.0], dtype)
    got, logits = _sigmoid(z, b, True)
    expected_logits = (z.reshape(4, 3) + b).ravel()
    np.testing.assert_array_equal(logits, expected_logits)
    np.testing.assert_allclose(
        got, 1 / (1 + np.exp(-expected_logits)), rtol=4 * np.finfo(dtype).eps
    )


@pytest.mark.parametrize("wide", [True, False])
def test_wide_vector_attributes_reach_llvm(monkeypatch, wide):
    """If llvmlite stops accepting the attributes, the kernels silently fall back to 256-bit
    vectors (slower, README "Kernel variants"); this test is what notices."""
    monkeypatch.setattr(_kernels, "WIDE_VECTORS", wide)

    @numba.njit
    def probe(a):
        _kernels._wide_vectors()
        return a.sum()

    probe(np.ones(3))
    ir = next(iter(probe.inspect_llvm().values()))
    assert ('"prefer-vector-width"="512"' in ir) is wide


@pytest.mark.parametrize("user_value", [None, "ACTIVE"])
def test_the_threading_layer_starts_with_a_passive_wait_policy_unless_the_user_set_one(
    monkeypatch, user_value
):
    """numba's OpenMP threads must not spin while they wait (they starve the working thread
    when another process holds a core); the variable is set only while the layer starts."""
    from fastnet import _jit

    seen = []
    monkeypatch.setattr(_jit.numba, "get_num_threads", lambda: seen.append(
        os.environ.get("OMP_WAIT_POLICY")))  # fmt: skip
    if user_value is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", user_value)
    _jit.start_threading_layer()
    assert seen == [user_value or "PASSIVE"]
    assert os.environ.get("OMP_WAIT_POLICY") == user_value


def test_importing_fastnet_leaves_the_environment_as_it_was():
    code = "import os, fastnet; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "None", out.stderr
