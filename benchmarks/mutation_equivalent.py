"""Equivalent mutants of benchmarks/mutation.py: mutmut name -> why no test can tell it from the original.

A mutant belongs here only when it cannot change any observable behaviour of the module (a dtype that
every consumer converts again, a sort order among exactly equal values, a label that is never read, the
start point of a convex optimisation). A mutant that some reasonable test could detect is a missing test,
not an entry. mutation.py reports an entry whose mutant the tests kill, or that no longer exists, as stale.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    "engine.metrics.verification.x_verification_metrics__mutmut_8":
        "`same` without dtype=bool: pair labels are booleans or 0/1 (documented); all(), any(), the == with the "
        "accept mask and sklearn read 0/1 exactly as False/True",
    "engine.metrics.verification.x_verification_metrics__mutmut_10":
        "`same` without dtype (np.asarray(same, )): as mutmut_8, 0/1 and booleans are read alike by every use",
}
