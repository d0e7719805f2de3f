//! A streaming logsumexp accumulator that merges partial results (Milakov and Gimelshein, 2018).
