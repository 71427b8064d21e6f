"""scikit-learn estimators: ``FastNetClassifier`` and ``FastNetRegressor``.

Thin wrappers over :class:`fastnet.Network`: they validate data the scikit-learn way, encode the
targets, and call ``Network.fit`` (there is no second training path). They work in
``Pipeline``, ``GridSearchCV`` (including process-based ``n_jobs``) and ``cross_val_score``, and
pass ``sklearn.utils.estimator_checks.check_estimator``.

Continuing training: ``warm_start=True`` makes ``fit`` continue from the current weights, and
``partial_fit`` runs ``epochs`` (default 1) more epochs from them. Both follow the same
trajectory as one longer ``fit``, bit for bit, when ``tol=None`` (with a ``tol``, the stopping
rule's "best loss so far" starts afresh in every call, as in ``Network.fit``).

scikit-learn's ``MLPClassifier`` keyword arguments for a sigmoid full-batch network work
unchanged: ``max_iter`` (an alias of ``max_epochs``), ``learning_rate_init`` (an alias of
``learning_rate``), ``activation="logistic"``, ``batch_size`` of at least the number of rows
and ``shuffle``. A ``fit`` or ``partial_fit`` that raises ``ValueError`` or ``TypeError`` (bad
hyper-parameters or data) leaves the estimator as it was.
"""

from __future__ import annotations

import numbers
import re
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from . import optim
from ._validation import (
    check_backend,
    check_bool,
    check_dtype,
    check_float,
    check_int,
    check_n_iter_no_change,
    check_sample_weight,
)
from .losses import get_loss
from .network import DivergedError, FitWarning, Network

#: ``verbose=2`` prints the loss after every this many epochs (one compiled block each).
VERBOSE_EVERY = 50


def _check_hidden(hidden_layer_sizes: object) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple of positive ints (an int means one hidden layer)."""
    if isinstance(hidden_layer_sizes, numbers.Integral) and not isinstance(
        hidden_layer_sizes, bool
    ):
        hidden_layer_sizes = (hidden_layer_sizes,)
    if isinstance(hidden_layer_sizes, (str, bytes)) or not hasattr(hidden_layer_sizes, "__iter__"):
        raise TypeError(
            "hidden_layer_sizes must be an int or a sequence of ints like (16,), "
            f"got {hidden_layer_sizes!r}"
        )
    return tuple(
        check_int(h, f"hidden_layer_sizes[{i}]", 1) for i, h in enumerate(hidden_layer_sizes)
    )


class UselessModelWarning(FitWarning, ConvergenceWarning):
    """``fastnet.FitWarning`` that is also scikit-learn's ``ConvergenceWarning``: what the
    estimators warn when a fit ends with a saturated or constant network."""


def _seed(random_state: object) -> int:
    """A ``Network`` seed: an int ``random_state`` is used as it is (``random_state=0`` gives
    ``Network(seed=0)``'s weights); ``None`` or a ``RandomState`` draws one."""
    rng = check_random_state(random_state)  # validates: None, int in [0, 2**32), RandomState
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(rng.randint(np.iinfo(np.int32).max))


#: ``solver`` -> the ``fastnet.optim`` class and its step size's default (``learning_rate=None``).
SOLVERS = {
    "gd": (optim.GD, 0.5),
    "momentum": (optim.Momentum, 0.1),
    "nesterov": (optim.Momentum, 0.1),
    "adam": (optim.Adam, 0.001),
    "rprop": (optim.Rprop, 0.1),
    "lbfgs": (optim.LBFGS, None),
    # scikit-learn's name: momentum, Nesterov's with nesterovs_momentum=True, its default step
    "sgd": (optim.Momentum, 0.001),
}
#: scikit-learn's ``max_fun`` default (fastnet bounds L-BFGS by ``max_iter`` only).
MAX_FUN = 15000
#: fastnet.optim's argument names -> the estimators' (scikit-learn's), for error messages;
#: ``lr``/``step0`` become whichever of ``learning_rate``/``learning_rate_init`` was set.
_KNOB_NAMES = {"beta1": "beta_1", "beta2": "beta_2", "eps": "epsilon"}
#: ``max_epochs``/``max_iter`` when neither is set.
DEFAULT_MAX_EPOCHS = 1000
#: ``FastNetRegressor``'s output layers (``output=``); the first is the default.
REGRESSOR_OUTPUTS = ("linear", "sigmoid")
#: The sparse formats ``validate_data`` passes through to ``Network`` (others become CSR; CSC
#: becomes CSR in ``Network``): it multiplies a sparse ``X`` sparsely, never densifying it.
_SPARSE = ("csr", "csc")


def _aliased(est: BaseEstimator, name: str, alias: str, check) -> tuple[object, str]:
    """``(value, the name it was set under)`` of a parameter with two names, each ``None`` when
    unset: ``(None, name)`` if neither is set; a ``ValueError`` if both are, to different
    values. ``check(value, its_name)`` validates each one set."""
    values = {n: getattr(est, n) for n in (name, alias)}
    given = {n: check(v, n) for n, v in values.items() if v is not None}
    given = {n: v for n, v in given.items() if v is not None}
    if len(given) == 2 and given[name] != given[alias]:
        raise ValueError(
            f"{name}={values[name]!r} and {alias}={values[alias]!r} are two names for the same "
            f"setting ({alias} is scikit-learn's name) and disagree: set only one of them"
        )
    for n in (name, alias):
        if n in given:
            return given[n], n
    return None, name


def _check_step_name(value: object, name: str) -> object:
    """A step size (the optimizer checks it); a string ``learning_rate`` is scikit-learn's
    other ``learning_rate``, the schedule: ``"constant"`` (fastnet's only one) means "not set
    here" (``learning_rate_init`` or the solver's default gives the step)."""
    if name == "learning_rate" and isinstance(value, str):
        if value == "constant":
            return None
        raise ValueError(
            "learning_rate is the step size here (a float, scikit-learn's learning_rate_init), "
            "or scikit-learn's schedule 'constant': fastnet's step is constant, there is no "
            f"{value!r} schedule"
        )
    return value


def _check_max_fun(max_fun: object) -> int:
    """scikit-learn's ``max_fun``: only its default, which fastnet's L-BFGS never reaches."""
    value = check_int(max_fun, "max_fun", 1)
    if value != MAX_FUN:
        raise ValueError(
            f"max_fun={value} is not supported: fastnet's L-BFGS is bounded by max_iter (its "
            f"evaluations are counted in network_.n_evals_); leave max_fun={MAX_FUN}"
        )
    return value


def _check_fraction(fraction: object) -> float:
    """``validation_fraction``: a float in (0, 1)."""
    value = check_float(fraction, "validation_fraction", positive=True)
    if not value < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction!r}")
    return value


def _check_activation(activation: object) -> str:
    if not (isinstance(activation, str) and activation == "logistic"):
        raise ValueError(
            "activation must be 'logistic': every layer of a fastnet network is a sigmoid (the "
            f"logistic function), there is no other activation; got {activation!r}"
        )
    return activation


def _check_batch_size(batch_size: object) -> int | None:
    """``None`` or an int >= 1 (compared with the number of rows in ``_check_full_batch``)."""
    if batch_size is None:
        return None
    if isinstance(batch_size, str):
        raise ValueError(
            f"batch_size={batch_size!r}: scikit-learn's 'auto' means mini-batches of "
            "min(200, n_samples) rows, but fastnet trains on full batches only (one step on "
            "all rows per epoch); leave batch_size=None, or pass an int >= n_samples"
        )
    return check_int(batch_size, "batch_size", 1)


def _check_full_batch(batch_size: int | None, n_samples: int) -> None:
    if batch_size is not None and batch_size < n_samples:
        raise ValueError(
            f"batch_size={batch_size} is smaller than the {n_samples} samples of X: fastnet "
            "trains on full batches only (one step on all rows per epoch); leave "
            "batch_size=None, or pass an int >= n_samples"
        )


class _BaseFastNet(BaseEstimator):
    """Shared fitting code; subclasses encode targets (``_encode_y``) and decode outputs."""

    def _optimizer(self) -> optim.Optimizer:
        """The ``fastnet.optim`` optimizer of ``solver`` and its knobs; errors name the
        estimator's arguments."""
        solver = self.solver
        if not isinstance(solver, str) or solver not in SOLVERS:
            raise ValueError(f"solver must be one of {tuple(SOLVERS)}, got {solver!r}")
        cls, default_lr = SOLVERS[solver]
        lr, lr_name = _aliased(self, "learning_rate", "learning_rate_init", _check_step_name)
        if lr_name == "learning_rate_init" and default_lr is None:
            lr = None  # as in scikit-learn, lbfgs ignores learning_rate_init
        if lr is not None and default_lr is None:
            raise ValueError(
                f"{lr_name} does not apply to solver={solver!r} (it chooses its steps by a "
                f"line search); leave it None, got {lr!r}"
            )
        lr = default_lr if lr is None else lr
        kwargs = {
            "gd": {"lr": lr},
            "momentum": {"lr": lr, "momentum": self.momentum},
            "nesterov": {"lr": lr, "momentum": self.momentum, "nesterov": True},
            "adam": {"lr": lr, "beta1": self.beta_1, "beta2": self.beta_2, "eps": self.epsilon},
            "rprop": {"step0": lr},
            "lbfgs": {},
            "sgd": {"lr": lr, "momentum": self.momentum,
                    "nesterov": check_bool(self.nesterovs_momentum, "nesterovs_momentum")},
        }[solver]  # fmt: skip
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            names = {**_KNOB_NAMES, "lr": lr_name, "step0": lr_name}
            message = re.sub(
                r"\b(lr|step0|beta1|beta2|eps)\b", lambda m: names[m.group(1)], str(exc)
            )
            raise type(exc)(message) from None

    def _check_params(self) -> dict:
        """Validate the hyper-parameters; errors name the constructor argument."""
        verbose = self.verbose
        if isinstance(verbose, bool):
            verbose = int(verbose)
        max_epochs, max_epochs_name = _aliased(
            self, "max_epochs", "max_iter", lambda v, n: check_int(v, n, 1)
        )
        return {
            "hidden": _check_hidden(self.hidden_layer_sizes),
            "activation": _check_activation(self.activation),
            "loss": get_loss(self.loss).name,
            "optimizer": self._optimizer(),
            "max_epochs": DEFAULT_MAX_EPOCHS if max_epochs is None else max_epochs,
            "max_epochs_name": max_epochs_name,
            "tol": None if self.tol is None else check_float(self.tol, "tol", positive=False),
            "n_iter_no_change": check_n_iter_no_change(self.n_iter_no_change),
            "batch_size": _check_batch_size(self.batch_size),
            "shuffle": check_bool(self.shuffle, "shuffle"),
            "dtype": None if self.dtype is None else check_dtype(self.dtype),
            "backend": check_backend(self.backend),
            "verbose": check_int(verbose, "verbose", 0),
            "alpha": check_float(self.alpha, "alpha", positive=False),
            "early_stopping": check_bool(self.early_stopping, "early_stopping"),
            "validation_fraction": _check_fraction(self.validation_fraction),
            "power_t": check_float(self.power_t, "power_t", positive=False),
            "max_fun": _check_max_fun(self.max_fun),
        }

    def _fit(self, X, y, *, incremental: bool, epochs: int | None = None, classes=None,
             sample_weight=None):  # fmt: skip
        """Shared body of ``fit`` (``incremental=False``) and ``partial_fit`` (``True``).

        A ``ValueError`` or ``TypeError`` (bad hyper-parameters or data, found by these checks
        or by ``Network.fit``'s before it trains) leaves the estimator as it was: every
        attribute this call set is put back.
        """
        before = dict(vars(self))
        try:
            return self._fit_checked(X, y, incremental=incremental, epochs=epochs,
                                     classes=classes, sample_weight=sample_weight)  # fmt: skip
        except (ValueError, TypeError):
            vars(self).clear()
            vars(self).update(before)
            raise

    def _fit_checked(self, X, y, *, incremental: bool, epochs: int | None, classes,
                     sample_weight):  # fmt: skip
        p = self._check_params()
        if p["early_stopping"] and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if incremental:
            epochs, tol = check_int(epochs, "epochs", 1), None
        else:
            epochs, tol = p["max_epochs"], p["tol"]
        fitted = hasattr(self, "network_")
        reset = not fitted or (not incremental and not self.warm_start)
        dtype = p["dtype"]
        if dtype is None:  # X's floating dtype when starting, the network's when continuing
            dtype = (np.float64, np.float32) if reset else self.network_.dtype
        X, y = validate_data(
            self, X, y, reset=reset, dtype=dtype, multi_output=True,
            y_numeric=isinstance(self, RegressorMixin), accept_sparse=_SPARSE,
        )  # fmt: skip
        p["dtype"] = check_dtype(X.dtype)
        _check_full_batch(p["batch_size"], X.shape[0])
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        w = check_sample_weight(sample_weight, X.shape[0], np.dtype(np.float64))
        Y = self._encode_y(y, p, reset=reset, classes=classes, incremental=incremental,
                           sample_weight=w)  # fmt: skip
        w = self._row_weights(y, w, incremental)
        layers = (X.shape[1], *p["hidden"], Y.shape[1])
        p["loss"], p["output"] = self._loss_and_output(p)
        if reset:
            self.network_ = Network(
                layers, loss=p["loss"], dtype=p["dtype"], seed=_seed(self.random_state),
                backend=p["backend"], output=p["output"],
            )  # fmt: skip
            self.loss_curve_ = []
            self.n_iter_ = 0
            self.validation_scores_ = [] if p["early_stopping"] else None
            self.best_validation_score_ = -np.inf if p["early_stopping"] else None
        else:
            self._match_network(layers, p)
        validation = None
        if p["early_stopping"]:
            X, Y, w, validation = self._split(X, y, Y, w, p)
        self._train(X, Y, p, epochs, tol, w, validation)
        if not incremental and tol is not None and not self.network_.converged_:
            name = p["max_epochs_name"]
            warnings.warn(
                f"{type(self).__name__} ran {name}={epochs} epochs and the stopping rule "
                f"(tol={tol}, n_iter_no_change={p['n_iter_no_change']}) did not stop it; "
                f"increase {name} to train longer.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self

    def _match_network(self, layers: tuple[int, ...], p: dict) -> None:
        """Continue with ``network_``: same shape; a changed loss, dtype or backend applies."""
        net = self.network_
        if net.layers != layers:
            raise ValueError(
                f"cannot continue training (warm_start or partial_fit): the network has layers "
                f"{net.layers} but hidden_layer_sizes and the data now give {layers}; set "
                "warm_start=False to start again"
            )
        have = (net.loss_name, net.dtype, net.backend, net.output)
        if have != (p["loss"], p["dtype"], p["backend"], p["output"]):
            self.network_ = Network.from_weights(
                net.weights, loss=p["loss"], dtype=p["dtype"], backend=p["backend"],
                output=p["output"],
            )  # fmt: skip

    def _loss_and_output(self, p: dict) -> tuple[str, str]:
        """The network's ``(loss, output)`` for the checked parameters (subclasses map them)."""
        return p["loss"], "sigmoid"

    def _row_weights(self, y, w: np.ndarray | None, incremental: bool) -> np.ndarray | None:
        """The rows' weights: ``sample_weight`` (times ``class_weight``'s, in the classifier)."""
        return w

    #: ``Network.fit``'s ``validation_metric`` for early stopping (the estimator's ``score``).
    _validation_metric = "accuracy"

    def _split(self, X, y, Y, w, p: dict):
        """scikit-learn's early-stopping split: ``validation_fraction`` of the rows held out by
        ``train_test_split`` (``random_state`` as in scikit-learn; stratified by the labels of
        a 1-D classifier target). Returns the training rows ``(X, Y, w)`` and the held-out ones
        ``(X_val, Y_val, w_val)``."""
        fraction = p["validation_fraction"]
        stratify = y if self._stratify(y) else None
        arrays = (X, Y) if w is None else (X, Y, w)
        try:
            rng = check_random_state(self.random_state)
            parts = train_test_split(*arrays, test_size=fraction, stratify=stratify,
                                     random_state=rng)  # fmt: skip
        except ValueError as exc:
            raise ValueError(
                f"early_stopping cannot hold out validation_fraction={fraction} of the "
                f"{X.shape[0]} rows: {exc}"
            ) from None
        X_tr, X_val, Y_tr, Y_val = parts[:4]
        w_tr, w_val = parts[4:] if w is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small (early_stopping, validation_fraction="
                f"{fraction} of {X.shape[0]} rows gives {X_val.shape[0]}): increase "
                "'validation_fraction' or the size of your dataset."
            )
        self._check_split(Y_tr, Y_val, fraction)
        return X_tr, Y_tr, w_tr, (X_val, Y_val, w_val)

    def _stratify(self, y) -> bool:
        return False

    def _check_split(self, Y_tr, Y_val, fraction) -> None:
        """A classifier's split keeps every class on both sides."""

    def _train(self, X: np.ndarray, Y: np.ndarray, p: dict, epochs: int, tol, w=None,
               validation=None) -> None:  # fmt: skip
        """``Network.fit`` for ``epochs`` epochs (on rows weighted by ``w``, held-out rows
        ``validation`` for early stopping); appends to ``loss_curve_`` (and
        ``validation_scores_``), and sets ``n_iter_`` to the epochs of this call, as
        scikit-learn does.

        ``verbose=1`` shows a tqdm progress bar, ``verbose>=2`` prints the loss after every
        block of 50 epochs; both run between compiled blocks and leave the trajectory unchanged.
        """
        start = self.n_iter_
        options = {}
        if p["verbose"] >= 2:
            options["block_epochs"] = VERBOSE_EVERY
            options["callback"] = lambda done, loss: print(
                f"Epoch {start + done}, loss = {loss:.8f}", flush=True
            )
        elif p["verbose"] == 1:
            options["progress"] = True
        if validation is not None:
            options.update(validation_data=validation, early_stopping=True,
                           validation_metric=self._validation_metric)  # fmt: skip
        net = self.network_
        net._fit_warning = UselessModelWarning
        try:
            net.fit(X, Y, optimizer=p["optimizer"], epochs=epochs, tol=tol,
                    n_iter_no_change=p["n_iter_no_change"], sample_weight=w, alpha=p["alpha"],
                    **options)  # fmt: skip
        except DivergedError:
            self._record(net, validation is not None)
            raise
        self._record(net, validation is not None)

    def _record(self, net: Network, early: bool) -> None:
        self.loss_curve_.extend(net.history_.tolist())
        self.n_iter_ = net.n_epochs_
        if early:
            if self.validation_scores_ is None:  # a warm start that turned early stopping on
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.validation_scores_.extend(net.validation_scores_.tolist())
            if net.best_validation_score_ is not None:
                self.best_validation_score_ = net.best_validation_score_

    def _outputs(self, X) -> np.ndarray:
        """``(n, n_outputs_)`` sigmoid outputs of the fitted network.

        A plain 2-D ``ndarray`` with the fitted number of features and rows goes straight to
        ``Network.predict_proba``, whose own checks (dtype, finiteness) are those that
        ``validate_data`` would make, at a fraction of the cost (about 0.3 ms a call, more than
        the prediction of a thousand rows); anything else (lists, DataFrames, sparse or 1-D
        input, the wrong width) goes through ``validate_data`` and its messages.
        """
        net = getattr(self, "network_", None)
        if net is None:
            check_is_fitted(self, "network_")
        if not (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        ):
            X = validate_data(self, X, reset=False, dtype=net.dtype, accept_sparse=_SPARSE)
        P = net.predict_proba(X)
        return P.reshape(X.shape[0], -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True  # scipy.sparse X: Network multiplies it sparsely
        return tags


class FastNetClassifier(ClassifierMixin, _BaseFastNet):
    """Binary, multi-class or multi-label classifier: a network of sigmoid hidden layers trained
    by full-batch descent.

    A thin wrapper over :class:`fastnet.Network` with layers
    ``(n_features, *hidden_layer_sizes, n_outputs)``: one sigmoid output for two classes (any
    labels, strings included; the output is the probability of ``classes_[1]``), a softmax
    output of ``k`` units for ``k > 2`` classes in a 1-D ``y`` (``loss="log"`` is then the
    categorical cross-entropy), or ``k`` independent sigmoid outputs for a multi-label ``y``
    of shape ``(n, k)`` holding 0/1.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(16,)
        Widths of the hidden layers; ``()`` gives logistic regression.
    loss : {"log", "mse"}, default="log"
        Training loss (aliases as in :class:`fastnet.Network`).
    solver : {"gd", "momentum", "nesterov", "adam", "rprop", "lbfgs", "sgd"}, default="lbfgs"
        The optimizer (``fastnet.optim``): gradient descent, heavy-ball or Nesterov momentum
        (scikit-learn's ``sgd`` on full batches; ``"sgd"`` itself is heavy-ball or Nesterov
        by ``nesterovs_momentum``), Adam (scikit-learn's), iRprop- or L-BFGS with a strong
        Wolfe line search.
    learning_rate : float or None, default=None
        Step size; ``None`` is the solver's default: 0.5 for ``gd``, 0.1 for ``momentum`` and
        ``nesterov``, 0.001 for ``adam``; the initial step for ``rprop`` (0.1). Not used by
        ``lbfgs`` (setting it is an error). Unlike scikit-learn's ``learning_rate`` (a
        schedule) this is the step itself: the step is always constant, and scikit-learn's
        ``"constant"`` (its only schedule here) is accepted, meaning "not set here".
    learning_rate_init : float or None, default=None
        scikit-learn's name for ``learning_rate``: set either one (both, to different values,
        is a ``ValueError``). Ignored by ``lbfgs``, as in scikit-learn.
    momentum : float, default=0.9
        Momentum of ``momentum``/``nesterov``/``sgd``, in [0, 1).
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's decay rates, in [0, 1), and its ``epsilon`` > 0.
    max_epochs : int or None, default=None
        Most epochs (iterations, for ``lbfgs``) per call of ``fit``; 1000 when neither this
        nor ``max_iter`` is set.
    max_iter : int or None, default=None
        scikit-learn's name for ``max_epochs``: set either one (both, to different values, is
        a ``ValueError``).
    tol : float or None, default=1e-4
        Stopping rule of ``Network.fit``, scikit-learn's: an epoch fails when its loss is above
        ``best - tol`` (``best``: the lowest loss of the epochs before it in this ``fit``), and
        training stops when more than ``n_iter_no_change`` epochs in a row have failed (from
        the same weights, at the epoch where ``MLPClassifier(solver="sgd")`` stops). ``None``
        runs exactly ``max_epochs`` epochs.
    n_iter_no_change : int or np.inf, default=10
        See ``tol``; ``np.inf`` never stops by ``tol``.
    dtype : np.float64, np.float32 or None, default=None
        Precision of the weights, the computation and of what ``predict``/``predict_proba``
        return. ``None`` follows ``X``, as scikit-learn does: float32 input trains in float32,
        any other input in float64; ``warm_start`` and ``partial_fit`` then keep the dtype
        of the first fit (its input is converted).
    random_state : int, RandomState or None, default=None
        Seed of the initial weights; an int ``s`` gives ``Network(seed=s)``'s weights.
    backend : {"numba", "numpy"}, default="numba"
        ``Network``'s backend.
    verbose : int, default=0
        0: silent; 1: a tqdm progress bar with the loss; 2: print the loss every 50 epochs.
    warm_start : bool, default=False
        If True, ``fit`` continues from the weights of the previous ``fit`` and appends to
        ``loss_curve_``.
    activation : "logistic", default="logistic"
        The hidden layers' activation, for scikit-learn's keyword: fastnet's layers are all
        sigmoids (the logistic function), anything else is a ``ValueError``.
    batch_size : int or None, default=None
        For scikit-learn's keyword: fastnet trains on full batches only (every epoch is one
        step on all rows), so only ``None`` or an int of at least the number of rows of each
        ``fit``/``partial_fit`` is accepted (a ``ValueError`` otherwise, also for
        scikit-learn's ``"auto"``: ``min(200, n_samples)`` rows).
    shuffle : bool, default=False
        For scikit-learn's keyword; any bool is accepted and changes nothing: with full
        batches every epoch sums over all rows, so shuffling them could only reorder that sum.
    alpha : float, default=0.0
        scikit-learn's L2 penalty ``alpha / (2 n) * sum(W^2)`` over the weight matrices (not
        the biases; ``n`` the sum of the sample weights), added to the loss and its gradient.
        scikit-learn's default is 1e-4; fastnet's trains the loss unpenalised.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (scikit-learn's ``train_test_split`` with
        a fresh ``RandomState(random_state)``), count ``n_iter_no_change`` on their score
        (``score``: accuracy, or R^2 for the regressor) instead of the training loss, and keep
        the weights of the best score (scikit-learn's rule). ``partial_fit`` then raises.
    validation_fraction : float, default=0.1
        The held-out share of the rows for ``early_stopping``, in (0, 1).
    nesterovs_momentum : bool, default=True
        scikit-learn's: with ``solver="sgd"`` (momentum, scikit-learn's name, its default step
        0.001), Nesterov's momentum.
    power_t : float, default=0.5
        For scikit-learn's keyword: the exponent of its ``"invscaling"`` schedule, which
        fastnet does not have (its step is constant), so it changes nothing.
    max_fun : int, default=15000
        For scikit-learn's keyword: only the default is accepted; fastnet's L-BFGS is bounded
        by ``max_iter`` (``network_.n_evals_`` counts its evaluations).
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes: each row's weight is its ``sample_weight`` times its class's
        (``"balanced"``: ``n_samples / (n_classes * count)``, scikit-learn's
        ``compute_class_weight``; a dict ``{label: weight}``, unnamed classes weigh 1). Not for
        multi-label targets, and ``"balanced"`` not with ``partial_fit``.

    Attributes
    ----------
    network_ : fastnet.Network
        The trained network.
    classes_ : ndarray of shape (2,) or (k,)
        The class labels (sorted), or ``arange(k)`` for multi-label targets.
    n_outputs_ : int
        Network outputs: 1 for two classes, ``k`` for ``k > 2`` classes or ``k`` labels.
    loss_curve_ : list of float
        Training loss of every epoch (before its update), across ``warm_start`` fits and
        ``partial_fit`` calls.
    n_iter_ : int
        Epochs run by the last ``fit`` or ``partial_fit`` call (as in scikit-learn;
        ``loss_curve_`` holds every epoch).
    validation_scores_ : list of float or None
        With ``early_stopping``: the held-out score after every epoch (across ``warm_start``
        fits); ``None`` without.
    best_validation_score_ : float or None
        With ``early_stopping``: the best of them, whose weights the network holds.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.
    """

    def __init__(
        self,
        hidden_layer_sizes=(16,),
        loss="log",
        solver="lbfgs",
        learning_rate=None,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_epochs=None,
        tol=1e-4,
        n_iter_no_change=10,
        dtype=None,
        random_state=None,
        backend="numba",
        verbose=0,
        warm_start=False,
        max_iter=None,
        learning_rate_init=None,
        activation="logistic",
        batch_size=None,
        shuffle=False,
        alpha=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        nesterovs_momentum=True,
        power_t=0.5,
        max_fun=MAX_FUN,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.loss = loss
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype
        self.random_state = random_state
        self.backend = backend
        self.verbose = verbose
        self.warm_start = warm_start
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.activation = activation
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.nesterovs_momentum = nesterovs_momentum
        self.power_t = power_t
        self.max_fun = max_fun

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` ``(n, d)`` and labels ``y`` ``(n,)`` or ``(n, k)`` 0/1 (multi-label).

        ``sample_weight`` ``(n,)``: non-negative row weights (the loss is their weighted mean;
        a row of weight 0 counts as if it were not there), times ``class_weight``'s.

        Returns
        -------
        self : FastNetClassifier
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None, classes=None, *, epochs=1):
        """Run ``epochs`` epochs of the solver from the current weights.

        Parameters
        ----------
        X : array-like of shape (n, d)
        y : array-like of shape (n,) or (n, k)
        sample_weight : array-like of shape (n,), optional
            Row weights, as in ``fit``.
        classes : array-like of shape (2,), optional
            Both class labels; required in the first call when ``y`` is 1-D (a batch may hold
            only one of them), and when given later it must name the same classes (a
            ``ValueError`` otherwise, as in scikit-learn). Not needed for multi-label ``y``.
        epochs : int, default=1
            Epochs to run; ``tol`` and ``max_epochs`` do not apply here.

        Returns
        -------
        self : FastNetClassifier
        """
        return self._fit(X, y, incremental=True, epochs=epochs, classes=classes,
                         sample_weight=sample_weight)  # fmt: skip

    def _encode_y(self, y, p: dict, *, reset: bool, classes, incremental: bool,
                  sample_weight=None) -> np.ndarray:  # fmt: skip
        """0/1 targets ``(n, n_outputs)``; sets ``classes_`` and ``n_outputs_`` on ``reset``."""
        check_classification_targets(y)
        if not reset and classes is not None and y.ndim == 1:
            # scikit-learn's _check_partial_fit_first_call: the first call fixed the classes
            given = np.unique(np.asarray(classes))
            if not np.array_equal(given, self.classes_):
                raise ValueError(
                    f"classes={given.tolist()} is not the same as in the first call to fit or "
                    f"partial_fit, which fixed classes_={self.classes_.tolist()}"
                )
        if y.ndim == 2:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    "y of shape (n, k) must be a multi-label indicator matrix holding only 0 "
                    f"and 1; got a {type_of_target(y)} target"
                )
            k = y.shape[1]
            if classes is not None and len(classes) != k:
                raise ValueError(f"classes has {len(classes)} entries but y has {k} columns")
            new_classes = np.arange(k)
            Y = y.astype(np.float64)
        else:
            seen = np.unique(y)
            if reset and incremental:
                if classes is None:
                    raise ValueError(
                        "classes must be passed on the first call to partial_fit: both class "
                        "labels, since a batch may hold only one of them"
                    )
                new_classes = np.unique(np.asarray(classes))
            elif reset:
                new_classes = seen
            else:
                new_classes = self.classes_
                if not incremental and not np.array_equal(seen, new_classes):
                    raise ValueError(  # scikit-learn's check for warm_start
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {new_classes.tolist()}, `y` has "
                        f"{seen.tolist()}"
                    )
            if len(new_classes) < 2:
                raise ValueError(
                    "FastNetClassifier needs two classes, but y contains only one class: "
                    f"{new_classes.tolist()}"
                )
            unknown = np.setdiff1d(seen, new_classes)
            if unknown.size:
                raise ValueError(
                    f"y contains labels {unknown.tolist()} that are not in classes "
                    f"{new_classes.tolist()}"
                    + ("" if reset else " (fixed by the first fit or partial_fit)")
                )
            if len(new_classes) > 2:  # one softmax output per class
                Y = (y.reshape(-1, 1) == new_classes.reshape(1, -1)).astype(np.float64)
            else:
                Y = (y == new_classes[1]).astype(np.float64).reshape(-1, 1)
        softmax = y.ndim == 1 and len(new_classes) > 2
        if reset:
            self.classes_ = new_classes
            self.n_outputs_ = Y.shape[1]
            self.out_activation_ = "softmax" if softmax else "logistic"
        elif Y.shape[1] != self.n_outputs_ or not np.array_equal(new_classes, self.classes_):
            raise ValueError(
                "cannot continue training (warm_start or partial_fit) on different targets: "
                f"the classifier was fitted with classes {self.classes_.tolist()}, y now gives "
                f"{new_classes.tolist()}"
            )
        return Y

    def predict_proba(self, X):
        """Class probabilities (at least ``finfo(dtype).tiny``, never exactly 0).

        Returns
        -------
        proba : ndarray of shape (n, 2) or (n, k)
            ``[P(classes_[0]), P(classes_[1])]`` per row for two classes; for multi-label
            targets the ``k`` independent probabilities that each label is 1.
        """
        P = self._outputs(X)
        if self.n_outputs_ == 1:
            P = np.hstack([1 - P, P])
        # never exactly 0: log(predict_proba) stays finite, as predict_log_proba is (the
        # smallest normal number instead of an underflowed probability)
        return np.maximum(P, np.finfo(P.dtype).tiny)

    def predict_log_proba(self, X):
        """Log-probabilities, computed from the output logits: exact where ``predict_proba``
        rounds to 1 (``log p`` of a saturated class is ``-logaddexp(0, -z)``, not
        ``log(1.0) = 0``) or to 0, so there it is not ``log(predict_proba)`` (scikit-learn's
        definition); floored at ``log(finfo.tiny)``, the log of ``predict_proba``'s floor."""
        net = getattr(self, "network_", None)
        if net is None:
            check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=net.dtype, accept_sparse=_SPARSE)
        if self.n_outputs_ > 1:  # softmax log-probabilities, or each label's log sigmoid
            logp = net.predict_log_proba(X)
        else:
            Z = net.logits(X).reshape(-1, 1)
            logp = np.hstack([-np.logaddexp(0, Z), -np.logaddexp(0, -Z)])
        # exact down to log(finfo.tiny) (-708 in float64), where predict_proba's floor is
        return np.maximum(logp, np.log(np.finfo(logp.dtype).tiny))

    def predict(self, X):
        """Labels: for two classes ``classes_[1]`` where its probability is > 0.5 (ties go to
        ``classes_[0]``, as with ``argmax`` of ``predict_proba``); for more classes the one of
        highest probability; 0/1 ints ``(n, k)`` for multi-label targets."""
        P = self._outputs(X)
        if getattr(self, "out_activation_", "logistic") == "softmax":
            return self.classes_[np.argmax(P, axis=1)]
        if self.n_outputs_ > 1:
            return (P > 0.5).astype(self.classes_.dtype)
        return self.classes_[(P[:, 0] > 0.5).astype(np.intp)]

    def _row_weights(self, y, w: np.ndarray | None, incremental: bool) -> np.ndarray | None:
        """``sample_weight`` times ``class_weight``'s weight of each row's class."""
        cw = self.class_weight
        if cw is None:
            return w
        if y.ndim == 2:
            raise ValueError(
                "class_weight does not apply to multi-label targets (y of shape (n, k)); pass "
                "per-row weights as sample_weight instead"
            )
        classes = self.classes_
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}")
            if incremental:
                raise ValueError(
                    "class_weight='balanced' is not supported for partial_fit (one batch does "
                    "not give the classes' frequencies); compute them once with "
                    "sklearn.utils.class_weight.compute_class_weight('balanced', "
                    "classes=classes, y=y) and pass the resulting dict as class_weight"
                )
            missing = np.setdiff1d(classes, y)
            if missing.size:
                raise ValueError(
                    f"class_weight='balanced' needs every class in y; {missing.tolist()} "
                    "are missing"
                )
            per_class = compute_class_weight("balanced", classes=classes, y=y)
        elif isinstance(cw, dict):
            unknown = [c for c in cw if not np.isin(c, classes)]
            if unknown:
                raise ValueError(
                    f"class_weight names classes {unknown} that are not in classes_ "
                    f"{classes.tolist()}"
                )
            per_class = np.ones(len(classes))
            for label, value in cw.items():
                value = check_float(value, f"class_weight[{label!r}]", positive=False)
                per_class[np.flatnonzero(classes == label)] = value
        else:
            raise TypeError(
                f"class_weight must be None, 'balanced' or a dict, got {type(cw).__name__}"
            )
        row = per_class[np.searchsorted(classes, y)]
        weights = row if w is None else w * row
        if not weights.sum() > 0:
            raise ValueError("class_weight and sample_weight leave every row with weight 0")
        return weights

    def _stratify(self, y) -> bool:
        return y.ndim == 1  # not for multi-label targets (as in scikit-learn)

    def _check_split(self, Y_tr, Y_val, fraction) -> None:
        if Y_tr.shape[1] > 1 and self.out_activation_ != "softmax":
            return  # multi-label targets: a label may be 0 on every row of a split
        for name, Y in (("training", Y_tr), ("validation", Y_val)):
            if Y.shape[1] == 1:  # two classes: 0/1 targets of classes_[1]
                counts = np.array([(Y == 0).sum(), (Y == 1).sum()])
            else:  # one-hot rows
                counts = Y.sum(axis=0)
            lost = np.flatnonzero(counts == 0)
            if lost.size:
                raise ValueError(
                    f"early_stopping with validation_fraction={fraction} leaves classes "
                    f"{self.classes_[lost].tolist()} out of the {name} split; use a "
                    "validation_fraction that leaves every class on both sides, or more data"
                )

    def _loss_and_output(self, p: dict) -> tuple[str, str]:
        """More than two classes: a softmax output; ``loss="log"`` (the default) is then the
        categorical cross-entropy. Otherwise sigmoid outputs and ``loss`` as given."""
        loss = p["loss"]
        if getattr(self, "out_activation_", "logistic") != "softmax":
            return loss, "sigmoid"
        if loss == "log":
            return "cross_entropy", "softmax"
        get_loss(loss, "softmax")  # a ValueError naming the loss unless it takes softmax
        return loss, "softmax"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True  # a softmax output for more than two classes
        tags.classifier_tags.multi_label = True
        return tags


class FastNetRegressor(RegressorMixin, _BaseFastNet):
    """Regressor: a network of sigmoid hidden layers and linear outputs (``MLPRegressor``'s
    identity output), trained by full-batch descent.

    A thin wrapper over :class:`fastnet.Network` with layers
    ``(n_features, *hidden_layer_sizes, n_outputs)`` and ``output="linear"``. **Target
    scaling:** with ``scale_targets=True`` (the default) each target column is standardised
    with the mean and standard deviation of the first ``fit``'s targets (a constant column is
    only centred), the network learns the standardised targets and predictions are mapped
    back, so that the default step sizes suit targets of any magnitude (``load_diabetes``'s 25
    to 346, say); ``loss_curve_`` is in the standardised units (the mean over rows of the
    squared error summed over the standardised target columns, for ``loss="mse"``).
    ``warm_start`` and ``partial_fit`` keep the first fit's scaling. With
    ``scale_targets=False`` the targets are learnt as they are.

    ``output="sigmoid"`` gives the sigmoid-output regressor instead: its outputs lie in [0, 1],
    so with ``scale_targets=True`` each target column is mapped linearly from ``[min, max]``
    of the first ``fit``'s targets onto [0, 1] (a constant column onto 0) and predictions lie
    inside that training range; with ``scale_targets=False`` the targets must lie in [0, 1].
    Either way, targets that end up outside [0, 1] (e.g. a ``partial_fit`` batch beyond the
    first batch's range) raise ``ValueError``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(16,)
        Widths of the hidden layers.
    loss : str, default="mse"
        Training loss, on the scaled targets: for ``output="linear"`` ``"mse"`` or ``"huber"``
        (delta 1, in standardised units), for ``output="sigmoid"`` ``"mse"`` or ``"log"``
        (cross-entropy with soft targets); or a loss ``fastnet.register_loss`` registered for
        that output. A loss that does not take the output is a ``ValueError`` naming both.
    solver : {"gd", "momentum", "nesterov", "adam", "rprop", "lbfgs", "sgd"}, default="lbfgs"
        The optimizer (``fastnet.optim``): gradient descent, heavy-ball or Nesterov momentum
        (scikit-learn's ``sgd`` on full batches; ``"sgd"`` itself is heavy-ball or Nesterov
        by ``nesterovs_momentum``), Adam (scikit-learn's), iRprop- or L-BFGS with a strong
        Wolfe line search.
    learning_rate : float or None, default=None
        Step size; ``None`` is the solver's default: 0.5 for ``gd``, 0.1 for ``momentum`` and
        ``nesterov``, 0.001 for ``adam``; the initial step for ``rprop`` (0.1). Not used by
        ``lbfgs`` (setting it is an error). Unlike scikit-learn's ``learning_rate`` (a
        schedule) this is the step itself: the step is always constant, and scikit-learn's
        ``"constant"`` (its only schedule here) is accepted, meaning "not set here".
    learning_rate_init : float or None, default=None
        scikit-learn's name for ``learning_rate``: set either one (both, to different values,
        is a ``ValueError``). Ignored by ``lbfgs``, as in scikit-learn.
    momentum : float, default=0.9
        Momentum of ``momentum``/``nesterov``/``sgd``, in [0, 1).
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's decay rates, in [0, 1), and its ``epsilon`` > 0.
    max_epochs : int or None, default=None
        Most epochs (iterations, for ``lbfgs``) per call of ``fit``; 1000 when neither this
        nor ``max_iter`` is set.
    max_iter : int or None, default=None
        scikit-learn's name for ``max_epochs``: set either one (both, to different values, is
        a ``ValueError``).
    tol : float or None, default=1e-5
        Stopping rule of ``Network.fit`` (scikit-learn's, as in ``FastNetClassifier``), on
        ``loss_curve_``'s scaled units; ``None`` runs exactly ``max_epochs`` epochs.
    n_iter_no_change : int or np.inf, default=10
        See ``tol``; ``np.inf`` never stops by ``tol``.
    dtype : np.float64, np.float32 or None, default=None
        Precision of the weights, the computation and of what ``predict``/``predict_proba``
        return. ``None`` follows ``X``, as scikit-learn does: float32 input trains in float32,
        any other input in float64; ``warm_start`` and ``partial_fit`` then keep the dtype
        of the first fit (its input is converted).
    random_state : int, RandomState or None, default=None
        Seed of the initial weights; an int ``s`` gives ``Network(seed=s)``'s weights.
    backend : {"numba", "numpy"}, default="numba"
        ``Network``'s backend.
    verbose : int, default=0
        0: silent; 1: a tqdm progress bar with the loss; 2: print the loss every 50 epochs.
    warm_start : bool, default=False
        If True, ``fit`` continues from the weights (and the target scaling) of the previous
        ``fit`` and appends to ``loss_curve_``.
    scale_targets : bool, default=True
        Standardise the targets (``output="linear"``) or map them onto [0, 1]
        (``output="sigmoid"``), see above; if False they are used as they are (and must lie in
        [0, 1] for a sigmoid output).
    activation : "logistic", default="logistic"
        The hidden layers' activation, for scikit-learn's keyword: fastnet's layers are all
        sigmoids (the logistic function), anything else is a ``ValueError``.
    batch_size : int or None, default=None
        For scikit-learn's keyword: fastnet trains on full batches only (every epoch is one
        step on all rows), so only ``None`` or an int of at least the number of rows of each
        ``fit``/``partial_fit`` is accepted (a ``ValueError`` otherwise, also for
        scikit-learn's ``"auto"``: ``min(200, n_samples)`` rows).
    shuffle : bool, default=False
        For scikit-learn's keyword; any bool is accepted and changes nothing: with full
        batches every epoch sums over all rows, so shuffling them could only reorder that sum.
    alpha : float, default=0.0
        scikit-learn's L2 penalty ``alpha / (2 n) * sum(W^2)`` over the weight matrices (not
        the biases; ``n`` the sum of the sample weights), added to the loss and its gradient.
        scikit-learn's default is 1e-4; fastnet's trains the loss unpenalised.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (scikit-learn's ``train_test_split`` with
        a fresh ``RandomState(random_state)``), count ``n_iter_no_change`` on their score
        (``score``: accuracy, or R^2 for the regressor) instead of the training loss, and keep
        the weights of the best score (scikit-learn's rule). ``partial_fit`` then raises.
    validation_fraction : float, default=0.1
        The held-out share of the rows for ``early_stopping``, in (0, 1).
    nesterovs_momentum : bool, default=True
        scikit-learn's: with ``solver="sgd"`` (momentum, scikit-learn's name, its default step
        0.001), Nesterov's momentum.
    power_t : float, default=0.5
        For scikit-learn's keyword: the exponent of its ``"invscaling"`` schedule, which
        fastnet does not have (its step is constant), so it changes nothing.
    max_fun : int, default=15000
        For scikit-learn's keyword: only the default is accepted; fastnet's L-BFGS is bounded
        by ``max_iter`` (``network_.n_evals_`` counts its evaluations).
    output : {"linear", "sigmoid"}, default="linear"
        The output layer: ``"linear"`` (the identity, as ``MLPRegressor``'s) or ``"sigmoid"``
        (outputs in [0, 1]; see above for the target scaling of each). Continuing training
        (``warm_start``, ``partial_fit``) with another output than the first fit's is a
        ``ValueError``.

    Attributes
    ----------
    network_ : fastnet.Network
        The trained network.
    target_offset_, target_scale_ : ndarray of shape (n_outputs_,)
        ``y = target_offset_ + target_scale_ * output``: the first fit's target means and
        standard deviations (1 for a constant column) for ``output="linear"``, minima and
        ranges for ``"sigmoid"``; 0 and 1 with ``scale_targets=False``.
    out_activation_ : str
        ``"identity"`` (linear output) or ``"logistic"`` (sigmoid output), scikit-learn's
        names.
    n_outputs_ : int
        Number of targets.
    loss_curve_ : list of float
        Training loss of every epoch (before its update, scaled units), across ``warm_start``
        fits and ``partial_fit`` calls.
    n_iter_ : int
        Epochs run by the last ``fit`` or ``partial_fit`` call (as in scikit-learn;
        ``loss_curve_`` holds every epoch).
    validation_scores_ : list of float or None
        With ``early_stopping``: the held-out score after every epoch (across ``warm_start``
        fits); ``None`` without.
    best_validation_score_ : float or None
        With ``early_stopping``: the best of them, whose weights the network holds.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.
    """

    def __init__(
        self,
        hidden_layer_sizes=(16,),
        loss="mse",
        solver="lbfgs",
        learning_rate=None,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_epochs=None,
        tol=1e-5,
        n_iter_no_change=10,
        dtype=None,
        random_state=None,
        backend="numba",
        verbose=0,
        warm_start=False,
        scale_targets=True,
        max_iter=None,
        learning_rate_init=None,
        activation="logistic",
        batch_size=None,
        shuffle=False,
        output="linear",
        alpha=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        nesterovs_momentum=True,
        power_t=0.5,
        max_fun=MAX_FUN,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.loss = loss
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype
        self.random_state = random_state
        self.backend = backend
        self.verbose = verbose
        self.warm_start = warm_start
        self.scale_targets = scale_targets
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.activation = activation
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.output = output
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.nesterovs_momentum = nesterovs_momentum
        self.power_t = power_t
        self.max_fun = max_fun

    #: Early stopping scores the held-out rows by R^2 (``score``), for either output layer.
    _validation_metric = "r2"

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` ``(n, d)`` and targets ``y`` ``(n,)`` or ``(n, k)``.

        ``sample_weight`` ``(n,)``: non-negative row weights (the loss is their weighted mean;
        the target scaling uses the weighted mean and standard deviation).

        Returns
        -------
        self : FastNetRegressor
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None, *, epochs=1):
        """Run ``epochs`` epochs of the solver from the current weights.

        The first call (on an unfitted regressor) fixes the target scaling. ``tol`` and
        ``max_epochs`` do not apply here.

        Returns
        -------
        self : FastNetRegressor
        """
        return self._fit(X, y, incremental=True, epochs=epochs, sample_weight=sample_weight)

    def _check_params(self) -> dict:
        p = super()._check_params()
        output = self.output
        if not isinstance(output, str) or output not in REGRESSOR_OUTPUTS:
            raise ValueError(
                f"output must be one of {REGRESSOR_OUTPUTS} (a regressor has no softmax "
                f"output), got {output!r}"
            )
        p["output"] = output
        p["scale_targets"] = check_bool(self.scale_targets, "scale_targets")
        get_loss(self.loss, output)  # a ValueError naming the loss and the output
        return p

    def _loss_and_output(self, p: dict) -> tuple[str, str]:
        return p["loss"], p["output"]

    def _encode_y(self, y, p: dict, *, reset: bool, classes, incremental: bool,
                  sample_weight=None) -> np.ndarray:  # fmt: skip
        """Scaled targets ``(n, n_outputs)``: standardised (by the ``sample_weight``-weighted
        mean and standard deviation) for a linear output, mapped onto [0, 1] for a sigmoid one
        (as they are with ``scale_targets=False``); sets the scaling on ``reset``, and keeps it
        when continuing."""
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        sigmoid = p["output"] == "sigmoid"
        activation = "logistic" if sigmoid else "identity"
        if reset:
            if not p["scale_targets"]:
                self.target_offset_ = np.zeros(Y.shape[1])
                self.target_scale_ = np.ones(Y.shape[1])
            elif sigmoid:
                lo, hi = Y.min(axis=0), Y.max(axis=0)
                span = hi - lo
                self.target_offset_, self.target_scale_ = lo, np.where(span > 0, span, 1.0)
            else:
                mean = np.average(Y, axis=0, weights=sample_weight)
                std = np.sqrt(np.average((Y - mean) ** 2, axis=0, weights=sample_weight))
                self.target_offset_ = mean
                self.target_scale_ = np.where(std > 0, std, 1.0)
            self.n_outputs_ = Y.shape[1]
            self.out_activation_ = activation
        else:
            fitted = getattr(self, "out_activation_", "logistic")  # before output= existed
            if fitted != activation:
                was = "sigmoid" if fitted == "logistic" else "linear"
                raise ValueError(
                    f"cannot continue training (warm_start or partial_fit) with "
                    f"output={p['output']!r}: the regressor was fitted with output={was!r} "
                    "(and its target scaling); set warm_start=False to start again"
                )
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"cannot continue training (warm_start or partial_fit): the regressor was "
                    f"fitted with {self.n_outputs_} targets, y now has {Y.shape[1]}"
                )
        Y = (Y - self.target_offset_) / self.target_scale_
        if sigmoid and (Y.min() < 0 or Y.max() > 1):
            lo = self.target_offset_
            hi = self.target_offset_ + self.target_scale_
            if not p["scale_targets"]:
                raise ValueError(
                    "y must lie in [0, 1] with output='sigmoid' and scale_targets=False, got "
                    f"values in [{np.min(y)}, {np.max(y)}]; use scale_targets=True, or the "
                    "default output='linear'"
                )
            raise ValueError(
                f"y has values in [{np.min(y)}, {np.max(y)}], outside the range "
                f"[{lo.tolist()}, {hi.tolist()}] of the targets that fixed the scaling in the "
                "first fit or partial_fit; the sigmoid output cannot reach them (the default "
                "output='linear' can)"
            )
        return Y

    def predict(self, X):
        """Predicted targets, shape ``(n,)`` or ``(n, k)`` like the ``y`` of ``fit``."""
        P = self._outputs(X).astype(np.float64)
        Y = (self.target_offset_ + self.target_scale_ * P).astype(self.network_.dtype, copy=False)
        return Y[:, 0] if self.n_outputs_ == 1 else Y
