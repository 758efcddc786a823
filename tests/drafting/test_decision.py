"""The rules every review path applies to a decision (pure, table-driven)."""

from __future__ import annotations

import pytest

from copilot.drafting.decision import ReviewDecision, VersionState, decision_problem, hash_matches

H = "ab" * 32
PENDING = VersionState(2, True, "draft", H)


@pytest.mark.parametrize(
    ("state", "decision", "problem"),
    [
        (PENDING, ReviewDecision("approve", "alice", version=2, spec_hash=H), None),
        (PENDING, ReviewDecision("reject", "alice", version=2, spec_hash=H[:12]), None),
        (PENDING, ReviewDecision("comment", "alice", "nice"), None),
        (PENDING, ReviewDecision("ship", "alice", version=2, spec_hash=H), "unknown action"),
        (PENDING, ReviewDecision("approve", " ", version=2, spec_hash=H), "reviewer"),
        (PENDING, ReviewDecision("approve", "a", version=1, spec_hash=H), "not the current"),
        (
            PENDING,
            ReviewDecision("approve", "a", version=2, spec_hash="cd" * 32),
            "not the current",
        ),
        (PENDING, ReviewDecision("approve", "a", version=2), "not the current"),
        (PENDING, ReviewDecision("approve", "a", version=2, spec_hash=H[:11]), "not the current"),
        (
            VersionState(2, False, "draft", H),
            ReviewDecision("approve", "a", version=2, spec_hash=H),
            "failed validation",
        ),
        (
            VersionState(2, False, "draft", H),
            ReviewDecision("reject", "a", version=2, spec_hash=H),
            None,
        ),
        (
            VersionState(2, True, "approved", H, approved_version=2, decided_by="bob"),
            ReviewDecision("reject", "a", version=2, spec_hash=H),
            "already approved by bob",
        ),
        (
            VersionState(2, True, "approved", H, approved_version=2, decided_by="bob"),
            ReviewDecision("comment", "a", "after the fact"),
            None,
        ),
    ],
)
def test_a_decision_is_refused_with_its_reason(
    state: VersionState, decision: ReviewDecision, problem: str | None
) -> None:
    found = decision_problem(state, decision)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("given", "matches"),
    [(H, True), (H.upper(), True), (H[:12], True), (H[:11], False), ("", False), (H + "0", False)],
)
def test_hashes_match_in_full_or_by_a_long_enough_prefix(given: str, matches: bool) -> None:
    assert hash_matches(given, H) is matches
