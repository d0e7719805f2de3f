//! Where softmax lives in machine learning: calibration, classification,
//! reinforcement learning and energy-based models, each built on the core
//! kernels.

pub mod calibrate;
pub mod classify;
pub mod ising;
pub mod rbm;
pub mod rl;
