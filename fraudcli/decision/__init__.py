"""Decisions: thresholds on the model's score, block lists and safe rule expressions."""

from __future__ import annotations

from fraudcli.decision.engine import Blocklists, Decision, DecisionEngine, Thresholds
from fraudcli.decision.rules import Rule, compile_rule, load_rules

__all__ = [
    "Blocklists",
    "Decision",
    "DecisionEngine",
    "Rule",
    "Thresholds",
    "compile_rule",
    "load_rules",
]
