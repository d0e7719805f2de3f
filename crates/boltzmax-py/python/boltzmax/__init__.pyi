from typing import Literal, overload

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
Array = npt.NDArray[np.floating]

def softmax(
    x: ArrayLike,
    axis: int = -1,
    temperature: float | None = None,
    beta: float | None = None,
    where: npt.NDArray[np.bool_] | None = None,
    out: Array | None = None,
    threads: int | None = None,
) -> Array:
    """Softmax along `axis` of exp(x / T) (or exp(beta x)), normalised to sum 1."""

def log_softmax(
    x: ArrayLike,
    axis: int = -1,
    temperature: float | None = None,
    beta: float | None = None,
    where: npt.NDArray[np.bool_] | None = None,
    out: Array | None = None,
    threads: int | None = None,
) -> Array:
    """Logarithm of the softmax along `axis`, without forming the softmax."""

@overload
def logsumexp(
    a: ArrayLike,
    axis: int | None = None,
    b: ArrayLike | None = None,
    keepdims: bool = False,
    return_sign: Literal[False] = False,
    temperature: float | None = None,
    beta: float | None = None,
    where: ArrayLike | None = None,
    threads: int | None = None,
) -> Array | np.floating: ...
@overload
def logsumexp(
    a: ArrayLike,
    axis: int | None = None,
    b: ArrayLike | None = None,
    keepdims: bool = False,
    return_sign: Literal[True] = ...,
    temperature: float | None = None,
    beta: float | None = None,
    where: ArrayLike | None = None,
    threads: int | None = None,
) -> tuple[Array | np.floating, Array | np.floating]: ...
def softmax_backward(
    y: Array, grad: Array, axis: int = -1, temperature: float | None = None, beta: float | None = None
) -> Array:
    """dL/dx given y = softmax(x) and grad = dL/dy."""

def log_softmax_backward(
    y: Array, grad: Array, axis: int = -1, temperature: float | None = None, beta: float | None = None
) -> Array:
    """dL/dx given y = log_softmax(x) and grad = dL/dy."""

def cross_entropy(
    logits: ArrayLike, labels: ArrayLike, label_smoothing: float = 0.0, ignore_index: int | None = None
) -> tuple[float, Array]:
    """Mean softmax cross-entropy of (n, k) logits and its gradient (torch semantics)."""

def categorical(
    logits: ArrayLike,
    size: int | None = None,
    temperature: float | None = None,
    beta: float | None = None,
    seed: int = 0,
    method: Literal["inverse_cdf", "gumbel"] = "inverse_cdf",
) -> np.int64 | npt.NDArray[np.int64]:
    """Draws from softmax(logits / T); one portable stream (seed, row) per row."""

def sample_logits(
    logits: ArrayLike,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    typical: float | None = None,
    order: str = "hf",
    greedy: bool = False,
    seed: int = 0,
) -> np.int64 | npt.NDArray[np.int64]:
    """One draw per row through the temperature/top-k/top-p/min-p/typical chain."""

def kept_set(
    logits: ArrayLike,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    typical: float | None = None,
    order: str = "hf",
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Indices kept by the chain and their renormalised probabilities."""

class Ensemble:
    """Energy levels with degeneracies, symmetry numbers and property columns, in one unit."""

    def __init__(
        self,
        energies: list[float] | npt.NDArray[np.float64],
        unit: str = "kcal/mol",
        degeneracies: list[float] | None = None,
        symmetry_numbers: list[float] | None = None,
        properties: dict[str, list[float]] | None = None,
        constants: Literal["codata2018", "goodvibes"] = "codata2018",
    ) -> None: ...
    def __len__(self) -> int: ...
    def relative_energies(self) -> npt.NDArray[np.float64]: ...
    def at(self, temperature: float = 298.15) -> dict:
        """Populations, ln_z, z, U, F, S, Cv, S_conf, named ensemble free energies, property averages."""
    def sweep(self, temperatures: list[float] | npt.NDArray[np.float64]) -> dict:
        """The same quantities at every temperature, as arrays."""

def boltzmann_weights(
    energies: list[float] | npt.NDArray[np.float64],
    temperature: float = 298.15,
    unit: str = "kcal/mol",
    degeneracies: list[float] | None = None,
) -> npt.NDArray[np.float64]:
    """Boltzmann populations of levels given in `unit`."""

def kernels() -> tuple[str, str]:
    """Names of the kernel tables in use for float32 and float64."""

__version__: str
