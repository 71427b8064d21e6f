"""The plain-NumPy baseline: the same maths as the kernels, written as a textbook would.

It shares no maths code with ``_kernels``/``losses``: it is both the benchmarks' baseline and an
independent correctness witness. Everything is vectorised over the whole batch:

    forward   Z_l = A_{l-1} W_l + b_l,  A_l = sigmoid(Z_l),  A_0 = X,  P = A_L
    mse       J = mean_i sum_j (P - Y)^2,                         Delta_L = (2/n)(P - Y) P (1 - P)
    log       J = -mean_i sum_j [Y log P + (1 - Y) log(1 - P)],   Delta_L = (1/n)(P - Y)
    backward  dW_l = A_{l-1}^T Delta_l,  db_l = sum_rows Delta_l,
              Delta_{l-1} = (Delta_l W_l^T) * A_{l-1} (1 - A_{l-1})
    update    W_l -= lr dW_l,  b_l -= lr db_l
"""

from __future__ import annotations

import numpy as np

Weights = list[tuple[np.ndarray, np.ndarray]]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, evaluated so that ``exp`` never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def forward(weights: Weights, X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Activations ``[A_0 = X, A_1, ..., A_L]`` and the output logits ``Z_L``."""
    activations = [X]
    z = X
    for W, b in weights:
        z = activations[-1] @ W + b
        activations.append(sigmoid(z))
    return activations, z


def loss_value(loss: str, z: np.ndarray, P: np.ndarray, Y: np.ndarray) -> np.floating:
    """Mean over rows, sum over outputs. The log loss is taken from the logits ``z``."""
    n = Y.shape[0]
    if loss == "mse":
        return np.sum((P - Y) ** 2) / n
    # -[y log s(z) + (1 - y) log(1 - s(z))] = logaddexp(0, z) - y z
    return np.sum(np.logaddexp(0, z) - Y * z) / n


def output_delta(loss: str, P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``dJ/dZ_L`` of the mean loss."""
    n = Y.shape[0]
    if loss == "mse":
        return 2 * (P - Y) * P * (1 - P) / n
    return (P - Y) / n  # sigmoid's derivative cancels against dJ/dP


def loss_and_gradients(
    weights: Weights, X: np.ndarray, Y: np.ndarray, loss: str
) -> tuple[np.floating, Weights]:
    """Loss at ``weights`` and its gradient ``[(dW_1, db_1), ...]`` by backpropagation."""
    activations, z = forward(weights, X)
    P = activations[-1]
    J = loss_value(loss, z, P, Y)
    delta = output_delta(loss, P, Y)
    grads: Weights = []
    for layer in range(len(weights) - 1, -1, -1):
        A_prev = activations[layer]
        grads.append((A_prev.T @ delta, delta.sum(axis=0)))
        if layer > 0:
            W = weights[layer][0]
            delta = (delta @ W.T) * A_prev * (1 - A_prev)
    grads.reverse()
    return J, grads


def gradient_step(weights: Weights, grads: Weights, lr: float) -> Weights:
    """``W := W - lr dW`` and ``b := b - lr db`` for every layer (new arrays)."""
    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(weights, grads, strict=True)]
