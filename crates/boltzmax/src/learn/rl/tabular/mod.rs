//! Tabular reinforcement learning (being written).
