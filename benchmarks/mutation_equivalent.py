"""Equivalent mutants of benchmarks/mutation.py: mutmut name -> why no test can tell it from the original.

A mutant belongs here only when it cannot change any observable behaviour of the module (a dtype that
every consumer converts again, a sort order among exactly equal values, a label that is never read, the
start point of a convex optimisation). A mutant that some reasonable test could detect is a missing test,
not an entry. mutation.py reports an entry whose mutant the tests kill, or that no longer exists, as stale.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {
}
