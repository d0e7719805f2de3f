"""boltzmax: softmax, log-softmax and logsumexp that are right on every input.

softmax(z/T) is the Boltzmann distribution p_i = exp(-E_i/kT)/Z with
z = -E/k, and logsumexp gives ln Z. Functions take numpy arrays (any
strides, float32 kept as float32, float64 as float64; other real dtypes are
converted to float64) and release the GIL while they compute on 16384
elements or more (below that, releasing the GIL costs more than the work).

Batched calls run on all cores above a size threshold (`threads=None`);
`threads=1` keeps them on the calling thread. Results are bitwise the same
for any thread count.

Names and arguments follow scipy.special where the function is the same:

>>> import numpy as np, boltzmax
>>> boltzmax.softmax(np.array([0.0, np.inf]))
array([0., 1.])
>>> float(boltzmax.logsumexp(np.array([0.0, 0.0])))  # ln 2
0.6931471805599453
"""

from boltzmax._boltzmax import (
    Ensemble,
    boltzmann_weights,
    categorical,
    cross_entropy,
    kept_set,
    kernels,
    log_softmax,
    log_softmax_backward,
    logsumexp,
    softmax,
    sample_logits,
    softmax_backward,
)

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "softmax_backward",
    "log_softmax_backward",
    "cross_entropy",
    "categorical",
    "sample_logits",
    "kept_set",
    "Ensemble",
    "boltzmann_weights",
    "kernels",
]
__version__ = "0.1.0"
