#!/usr/bin/python3
"""scipy.stats.kstwo.sf(x, n) over the regimes of Simard & L'Ecuyer (2011):
writes tests/data/kstwo.csv (n,x,sf) for tests/unit/stats/stats_test.cc.

    /usr/bin/python3 tests/reference/make_kstwo.py > tests/data/kstwo.csv
"""
import math
import sys

from scipy import stats

print("n,x,sf")
for n in [1, 2, 3, 5, 10, 50, 100, 140, 141, 500, 1000, 5000, 20000, 100000, 100001, 1000000]:
    xs = [z / math.sqrt(n) for z in (0.2, 0.35, 0.5, 0.7, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 5.0, 8.0)]
    xs += [0.75 / n, 1.0 / n, 1.5 / n, 0.5, 0.6, 0.9, 1 - 0.5 / n]
    for x in xs:
        if not 0 < x < 1:
            continue
        sf = stats.kstwo.sf(x, n)
        if sf > 1e-300:
            print(f"{n},{x!r},{sf!r}")
