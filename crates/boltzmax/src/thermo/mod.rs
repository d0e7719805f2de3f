//! Statistical mechanics on the softmax engine: units and constants, ensembles of levels, thermodynamics and temperature sweeps.
