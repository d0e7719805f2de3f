//! softmax, log-softmax and logsumexp along any axis of an n-dimensional array.
