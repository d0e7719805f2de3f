"""Writes butane_crest.xyz: a CREST-style ensemble of n-butane's three
conformers (anti, gauche+, gauche-) built from ideal internal coordinates.

The energies are illustrative, chosen to give the textbook anti-gauche gap
of about 0.62 kcal/mol; they were not computed by xtb. Run:
    python3 make_butane.py > butane_crest.xyz
"""
import math


def place(a, b, c, bond, angle, dihedral):
    """Position of atom d from a, b, c (natural extension reference frame)."""
    angle, dihedral = math.radians(angle), math.radians(dihedral)
    bc = [c[i] - b[i] for i in range(3)]
    n = math.sqrt(sum(v * v for v in bc))
    bc = [v / n for v in bc]
    ab = [b[i] - a[i] for i in range(3)]
    nv = [ab[1] * bc[2] - ab[2] * bc[1], ab[2] * bc[0] - ab[0] * bc[2], ab[0] * bc[1] - ab[1] * bc[0]]
    n = math.sqrt(sum(v * v for v in nv))
    nv = [v / n for v in nv]
    m = [nv[1] * bc[2] - nv[2] * bc[1], nv[2] * bc[0] - nv[0] * bc[2], nv[0] * bc[1] - nv[1] * bc[0]]
    d2 = [-bond * math.cos(angle), bond * math.sin(angle) * math.cos(dihedral), bond * math.sin(angle) * math.sin(dihedral)]
    return [c[i] + d2[0] * bc[i] + d2[1] * m[i] + d2[2] * nv[i] for i in range(3)]


def butane(phi):
    cc, ch, tet = 1.53, 1.09, 109.47
    c1 = [0.0, 0.0, 0.0]
    c2 = [cc, 0.0, 0.0]
    c3 = place([0.0, 1.0, 0.0], c1, c2, cc, tet, 180.0)
    c4 = place(c1, c2, c3, cc, tet, phi)
    atoms = [("C", c1), ("C", c2), ("C", c3), ("C", c4)]
    for d in (60.0, 180.0, 300.0):  # methyl on C1, staggered
        atoms.append(("H", place(c3, c2, c1, ch, tet, d)))
    for d in (phi + 120.0, phi + 240.0):  # methylene C2, staggered to C1
        atoms.append(("H", place(c4, c3, c2, ch, tet, d)))
    for d in (phi + 120.0, phi + 240.0):  # methylene C3, staggered to C4
        atoms.append(("H", place(c1, c2, c3, ch, tet, d)))
    for d in (60.0, 180.0, 300.0):  # methyl on C4
        atoms.append(("H", place(c2, c3, c4, ch, tet, d)))
    return atoms


ANTI = -13.16742412
for phi, de in ((180.0, 0.0), (65.0, 0.00099350), (-65.0, 0.00099350)):
    atoms = butane(phi)
    print(len(atoms))
    print(f"  {ANTI + de:.8f}")
    for s, (x, y, z) in atoms:
        print(f" {s:<2} {x:14.8f} {y:14.8f} {z:14.8f}")
