//! The Ising model: samplers, observables and exact references.
