"""The Drafts page's review part: who is deciding, messages across reruns, the decision form.

A decision names the version the page *showed* and its spec hash; the
library refuses it when that is no longer the latest version or the draft
was decided meanwhile, and the page then shows why and reloads.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _drafts_data as data
from copilot.drafting.review import Reviewer
from copilot.errors import AtcError, TokenInvalid

FLASH = "drafts_flash"
COMMENT = "drafts_comment"
# Alerts render markdown; names and reasons may hold text a person typed.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:@&])")


def plain(text: str) -> str:
    """Text for an alert, with markdown (links, images, emphasis) shown as typed."""
    return _MARKDOWN.sub(r"\\\1", text)


def identity() -> Reviewer:
    """The verified reviewer from the request headers, else the name typed in (unverified)."""
    try:
        found = data.signed_in(st.context.headers)
    except TokenInvalid as exc:
        st.error(plain(f"{exc.line()} (decisions are recorded as unverified)"))
        found = None
    except AtcError as exc:  # e.g. the identity settings are incomplete
        st.error(plain(exc.line()))
        found = None
    if found is not None and found.verified:
        st.text(f"Signed in as {found.name} (verified)")
        return found
    name = st.text_input(
        "Your name (for the audit trail; not verified)", value="reviewer", key="drafts_reviewer"
    )
    return data.unverified(name or "")


def flash(kind: str, text: str, findings: list[dict[str, Any]] | None = None) -> None:
    """Keep a message for the next run (a rerun would otherwise lose it)."""
    st.session_state[FLASH] = (kind, text, findings or [])


def show_flash() -> None:
    """Show, once, the message the last action left."""
    if FLASH not in st.session_state:
        return
    kind, text, findings = st.session_state.pop(FLASH)
    {"success": st.success, "error": st.error}.get(kind, st.info)(plain(text))
    if findings:
        st.dataframe(pd.DataFrame(findings), hide_index=True, width="stretch")


def _why_not(draft: dict[str, Any], shown: dict[str, Any], latest: int) -> str | None:
    if draft["status"] != "draft":
        return f"The draft is {draft['status']}; a new version of the spec re-opens it."
    if shown["version"] != latest:
        return f"You are looking at version {shown['version']}; decisions are for the latest, {latest}."
    if not shown["valid"]:
        return f"Version {shown['version']} failed validation: it can be rejected, not approved."
    return None


def decision_form(draft: dict[str, Any], shown: dict[str, Any], reviewer: Reviewer) -> None:
    """Comment, Approve and Reject for the version shown (enabled only while it can be decided)."""
    latest = draft["versions"][-1]["version"]
    open_latest = draft["status"] == "draft" and shown["version"] == latest
    args = (draft["id"], shown["version"], shown["spec_hash"] or "", reviewer)
    sha = (shown["spec_hash"] or "?")[:12]
    st.caption(f"You are deciding on version {shown['version']} (spec sha256 {sha}…).")
    with st.form("drafts_decide", border=False):
        st.text_input("Comment", key=COMMENT)
        left, right = st.columns(2)
        left.form_submit_button(
            "Approve",
            key="drafts_approve",
            type="primary",
            disabled=not (open_latest and shown["valid"]),
            on_click=_decide,
            args=("approve", *args),
        )
        right.form_submit_button(
            "Reject",
            key="drafts_reject",
            disabled=not open_latest,
            on_click=_decide,
            args=("reject", *args),
        )
    reason = _why_not(draft, shown, latest)
    if reason:
        st.caption(reason)


def _decide(action: str, draft_id: str, number: int, spec_hash: str, reviewer: Reviewer) -> None:
    # A callback runs before the page does, so the comment box can still be
    # cleared and the page then reads the draft as it now is.
    comment = st.session_state.get(COMMENT, "")
    try:
        data.decide(draft_id, action, number, spec_hash, reviewer, comment)
    except AtcError as exc:
        flash("error", f"Not recorded. {exc.line()}")
        st.session_state.pop(f"drafts_version_{draft_id}", None)  # reload on the latest
        return
    st.session_state[COMMENT] = ""
    how = "verified" if reviewer.verified else "unverified"
    done = "Approved" if action == "approve" else "Rejected"
    flash("success", f"{done} version {number} ({how} reviewer).")
