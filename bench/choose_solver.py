"""Which solver should ``FastNetClassifier`` use by default? Measured, not guessed.

For each data set: a 70/30 split (stratified, seed 0), standardised on the training part, and
``FastNetClassifier(solver=s, random_state=0)`` with every other setting at its default
(``tol=1e-4``, ``n_iter_no_change=10``, ``max_epochs=1000``). Reported: the median wall time of
``fit`` over several rounds (after one untimed fit that compiles), the epochs (iterations) run,
and the held-out accuracy. The default is the solver with the best held-out accuracy per second
over all data sets (README, "Choosing an optimizer").

    python bench/choose_solver.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastnet.report import cpu_model
from fastnet.sklearn import SOLVERS, FastNetClassifier


def datasets():
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast cancer (569 x 30)", X, y
    X, y = load_digits(return_X_y=True)
    yield "digits, even vs odd (1797 x 64)", X, y % 2
    X, y = make_moons(1000, noise=0.25, random_state=0)
    yield "moons (1000 x 2)", X, y
    X, y = make_classification(1000, 10, n_informative=5, random_state=0)
    yield "S: make_classification (1000 x 10)", X, y
    X, y = make_classification(20000, 32, n_informative=16, random_state=0)
    yield "M: make_classification (20000 x 32)", X, y


def measure(rounds: int) -> None:
    print(f"CPU: {cpu_model()}")
    print(f"{'data':38} {'solver':9} {'fit ms':>9} {'epochs':>7} {'accuracy':>9}")
    totals = {s: [] for s in SOLVERS}
    for name, X, y in datasets():
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        for solver in SOLVERS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                FastNetClassifier(solver=solver, random_state=0).fit(X_tr, y_tr)  # compile
                times = []
                for _ in range(rounds):
                    clf = FastNetClassifier(solver=solver, random_state=0)
                    start = time.perf_counter()
                    clf.fit(X_tr, y_tr)
                    times.append(time.perf_counter() - start)
            ms = 1e3 * statistics.median(times)
            acc = clf.score(X_te, y_te)
            totals[solver].append((ms, acc))
            print(f"{name:38} {solver:9} {ms:9.2f} {clf.n_iter_:7d} {acc:9.3f}")
    print()
    print(f"{'solver':9} {'total fit ms':>13} {'mean accuracy':>14}")
    for solver, rows in totals.items():
        ms = sum(r[0] for r in rows)
        acc = np.mean([r[1] for r in rows])
        print(f"{solver:9} {ms:13.1f} {acc:14.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    measure(parser.parse_args().rounds)
