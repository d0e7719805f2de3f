//! Backward passes: vector-Jacobian products of softmax and log-softmax, and the fused softmax cross-entropy.
