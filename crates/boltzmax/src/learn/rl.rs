//! Reinforcement learning: Boltzmann exploration for bandits and tabular methods.
