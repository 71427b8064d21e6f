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
from sklearn.utils import check_random_state, column_or_1d
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
}
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
    other ``learning_rate``, the schedule."""
    if name == "learning_rate" and isinstance(value, str):
        raise ValueError(
            "learning_rate is the step size here (a float, scikit-learn's learning_rate_init), "
            f"not scikit-learn's schedule: fastnet's step is constant; got {value!r}"
        )
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
        }[solver]
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
        }

    def _fit(self, X, y, *, incremental: bool, epochs: int | None = None, classes=None):
        """Shared body of ``fit`` (``incremental=False``) and ``partial_fit`` (``True``).

        A ``ValueError`` or ``TypeError`` (bad hyper-parameters or data, found by these checks
        or by ``Network.fit``'s before it trains) leaves the estimator as it was: every
        attribute this call set is put back.
        """
        before = dict(vars(self))
        try:
            return self._fit_checked(X, y, incremental=incremental, epochs=epochs,
                                     classes=classes)  # fmt: skip
        except (ValueError, TypeError):
            vars(self).clear()
            vars(self).update(before)
            raise

    def _fit_checked(self, X, y, *, incremental: bool, epochs: int | None, classes):
        p = self._check_params()
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
        Y = self._encode_y(y, p, reset=reset, classes=classes, incremental=incremental)
        layers = (X.shape[1], *p["hidden"], Y.shape[1])
        p["loss"], p["output"] = self._loss_and_output(p)
        if reset:
            self.network_ = Network(
                layers, loss=p["loss"], dtype=p["dtype"], seed=_seed(self.random_state),
                backend=p["backend"], output=p["output"],
            )  # fmt: skip
            self.loss_curve_ = []
            self.n_iter_ = 0
        else:
            self._match_network(layers, p)
        self._train(X, Y, p, epochs, tol)
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

    def _train(self, X: np.ndarray, Y: np.ndarray, p: dict, epochs: int, tol) -> None:
        """``Network.fit`` for ``epochs`` epochs; appends to ``loss_curve_`` and ``n_iter_``.

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
        net = self.network_
        net._fit_warning = UselessModelWarning
        try:
            net.fit(X, Y, optimizer=p["optimizer"], epochs=epochs, tol=tol,
                    n_iter_no_change=p["n_iter_no_change"], **options)  # fmt: skip
        except DivergedError:
            self._record(net)
            raise
        self._record(net)

    def _record(self, net: Network) -> None:
        self.loss_curve_.extend(net.history_.tolist())
        self.n_iter_ += net.n_epochs_

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
    solver : {"gd", "momentum", "nesterov", "adam", "rprop", "lbfgs"}, default="lbfgs"
        The optimizer (``fastnet.optim``): gradient descent, heavy-ball or Nesterov momentum
        (scikit-learn's ``sgd`` on full batches), Adam (scikit-learn's), iRprop- or L-BFGS
        with a strong Wolfe line search.
    learning_rate : float or None, default=None
        Step size; ``None`` is the solver's default: 0.5 for ``gd``, 0.1 for ``momentum`` and
        ``nesterov``, 0.001 for ``adam``; the initial step for ``rprop`` (0.1). Not used by
        ``lbfgs`` (setting it is an error). Unlike scikit-learn's ``learning_rate`` (a
        schedule) this is the step itself: the step is always constant.
    learning_rate_init : float or None, default=None
        scikit-learn's name for ``learning_rate``: set either one (both, to different values,
        is a ``ValueError``).
    momentum : float, default=0.9
        Momentum of ``momentum``/``nesterov``, in [0, 1).
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
        Epochs run in total (the length of ``loss_curve_``).
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

    def fit(self, X, y):
        """Train on ``X`` ``(n, d)`` and labels ``y`` ``(n,)`` (two classes) or ``(n, k)`` 0/1.

        Returns
        -------
        self : FastNetClassifier
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None, *, epochs=1):
        """Run ``epochs`` epochs of gradient descent from the current weights.

        Parameters
        ----------
        X : array-like of shape (n, d)
        y : array-like of shape (n,) or (n, k)
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
        return self._fit(X, y, incremental=True, epochs=epochs, classes=classes)

    def _encode_y(self, y, p: dict, *, reset: bool, classes, incremental: bool) -> np.ndarray:
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
        """Log of ``predict_proba``, computed from the output logits: exact where the
        probabilities round to 1 (``log p`` of a saturated class is ``-logaddexp(0, -z)``, not
        ``log(1.0) = 0``) and finite where they round to 0, floored at ``log(finfo.tiny)``
        as ``predict_proba`` is at ``finfo.tiny`` (so that both agree)."""
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
    solver : {"gd", "momentum", "nesterov", "adam", "rprop", "lbfgs"}, default="lbfgs"
        The optimizer (``fastnet.optim``): gradient descent, heavy-ball or Nesterov momentum
        (scikit-learn's ``sgd`` on full batches), Adam (scikit-learn's), iRprop- or L-BFGS
        with a strong Wolfe line search.
    learning_rate : float or None, default=None
        Step size; ``None`` is the solver's default: 0.5 for ``gd``, 0.1 for ``momentum`` and
        ``nesterov``, 0.001 for ``adam``; the initial step for ``rprop`` (0.1). Not used by
        ``lbfgs`` (setting it is an error). Unlike scikit-learn's ``learning_rate`` (a
        schedule) this is the step itself: the step is always constant.
    learning_rate_init : float or None, default=None
        scikit-learn's name for ``learning_rate``: set either one (both, to different values,
        is a ``ValueError``).
    momentum : float, default=0.9
        Momentum of ``momentum``/``nesterov``, in [0, 1).
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
        Epochs run in total (the length of ``loss_curve_``).
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

    def fit(self, X, y):
        """Train on ``X`` ``(n, d)`` and targets ``y`` ``(n,)`` or ``(n, k)``.

        Returns
        -------
        self : FastNetRegressor
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, *, epochs=1):
        """Run ``epochs`` epochs of gradient descent from the current weights.

        The first call (on an unfitted regressor) fixes the target scaling. ``tol`` and
        ``max_epochs`` do not apply here.

        Returns
        -------
        self : FastNetRegressor
        """
        return self._fit(X, y, incremental=True, epochs=epochs)

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

    def _encode_y(self, y, p: dict, *, reset: bool, classes, incremental: bool) -> np.ndarray:
        """Scaled targets ``(n, n_outputs)``: standardised for a linear output, mapped onto
        [0, 1] for a sigmoid one (as they are with ``scale_targets=False``); sets the scaling
        on ``reset``, and keeps it when continuing."""
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
                std = Y.std(axis=0)
                self.target_offset_ = Y.mean(axis=0)
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
