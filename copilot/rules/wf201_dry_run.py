"""WF201 dry-run: the draft completes on the Temporal time-skipping test server.

Run by the drafting pipeline (not as a static check): every scenario
(approve / reject / no answer, when the draft has approvals) must finish,
with calls going through the gateway emulator to mock backends. A draft is
valid only when the rules pass and the dry run completes.
"""

from __future__ import annotations

from copilot.rules.base import Rule

RULE = Rule(
    id="WF201",
    name="dry-run",
    severity="error",
    stages=("dryrun",),
    summary="The draft completes on the time-skipping test server against the gateway emulator.",
)
