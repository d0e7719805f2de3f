//! Restricted Boltzmann machines: training, sampling, likelihoods.
