//! Categorical sampling from logits: inverse CDF, Gumbel-max, alias tables, the temperature / top-k / top-p / min-p chain, Gumbel-softmax.
