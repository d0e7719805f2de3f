"""Regenerates the .npy fixtures (numpy >= 1.20): python3 make_npy.py"""
import numpy as np

rng = np.random.default_rng(7)
a = rng.normal(scale=5.0, size=(2, 3, 4))
a[1, 2, 0] = np.inf
a[0, 1, :] = -np.inf
np.save('cube_f64.npy', a)
np.save('cube_f32.npy', a.astype(np.float32))
np.save('cube_fortran.npy', np.asfortranarray(a))
np.save('matrix_f32.npy', rng.normal(size=(5, 7)).astype(np.float32))
np.save('ints.npy', np.arange(6, dtype=np.int32).reshape(2, 3))
m = rng.random((2, 3, 4)) < 0.7
np.save('cube_mask.npy', m)
np.save('vector.npy', np.array([0.5, -1.0, 2.0]))
np.save('scalar.npy', np.array(1.5))
np.save('empty_rows.npy', np.zeros((3, 0)))
