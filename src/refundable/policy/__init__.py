"""The policy engine: a pure package (no Django, no database, no clock, no I/O in decisions).

Facts in, ``Decision`` out::

    policy = load_policy("policies/annual-60-day-guarantee.toml")
    decision = decide(policy, parse_facts(raw_facts), load_floor())
"""

from .decision import Decision
from .document import load_policy, parse_policy
from .engine import decide, decide_raw
from .errors import ExpressionError, FactsError, PolicyError, PolicyErrors
from .facts import parse_facts
from .model import Policy
from .statutory import load_floor

__all__ = [
    "Decision", "ExpressionError", "FactsError", "Policy", "PolicyError", "PolicyErrors",
    "decide", "decide_raw", "load_floor", "load_policy", "parse_facts", "parse_policy",
]
