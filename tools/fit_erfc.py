#!/usr/bin/python3
"""Print the polynomial coefficients of dream_gelu's erfc (engine/ops/nn.c).

    /usr/bin/python3 tools/fit_erfc.py

Least-squares fits (numpy polyfit, in double) of
  erf(a) / a            = P(a²),  a in [0, 0.9],   degree 6
  erfc(a) · exp(a²)     = Q(t),   t = 1 / (1 + a/2), a in [0.9, 9.3], degree 10
with their maximum relative errors (about 1e-9 and 5e-10: far below
float32 rounding, which then dominates).
"""

from math import erf, erfc, exp

import numpy as np


def main():
    a = np.linspace(1e-6, 0.9, 6000)
    p = np.polynomial.polynomial.polyfit(a * a, [erf(v) / v for v in a], 6)
    e1 = np.abs(np.polynomial.polynomial.polyval(a * a, p) / [erf(v) / v for v in a] - 1).max()
    b = np.linspace(0.9, 9.3, 12000)
    y = np.array([erfc(v) * exp(v * v) for v in b])
    t = 1 / (1 + 0.5 * b)
    q = np.polynomial.polynomial.polyfit(t, y, 10)
    e2 = np.abs(np.polynomial.polynomial.polyval(t, q) / y - 1).max()
    print('/* P (a²), lowest power first; max relative error %.1e */' % e1)
    print(', '.join('%.9ef' % c for c in p))
    print('/* Q (t), lowest power first; max relative error %.1e */' % e2)
    print(', '.join('%.9ef' % c for c in q))


if __name__ == '__main__':
    main()
