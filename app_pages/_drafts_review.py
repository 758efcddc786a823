"""The Drafts page's review part: who is deciding, messages across reruns, the decision form.

A decision names the version the page *showed* and its spec hash, and goes
through the same path as the CLI (``copilot.drafting.review.decide``); the
library refuses it when that is no longer the version under review or the
draft was decided meanwhile, and the page then shows why and reloads.
Approving asks for a confirmation that states exactly what is approved. After
a decision the form is cleared; the opposite action needs an explicit
"Change decision" with its own comment (or a new version).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _drafts_data as data
from copilot.drafting.review import Reviewer
from copilot.errors import AtcError, TokenInvalid

FLASH = "drafts_flash"
COMMENT = "drafts_comment"
CHANGE_COMMENT = "drafts_change_comment"
CONFIRM = "drafts_confirm"  # an approval waiting for its confirmation
CHANGING = "drafts_changing"  # (draft, version) whose decision is being changed
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


def pick(
    label: str, options: list[Any], shown: Callable[[Any], str], state: str, default: Any
) -> Any:
    """A select box whose choice lives in ``st.session_state[state]``.

    The widget's key carries a digest of the option labels: a select box keyed
    only by name keeps showing its old labels in the browser after they change
    (a draft shown as awaiting review after its approval), so new labels make a
    new widget, which starts on the remembered choice.
    """
    chosen = st.session_state.get(state)
    if chosen not in options:
        chosen = default
    labels = "\n".join(shown(o) for o in options)
    digest = hashlib.sha256(labels.encode("utf-8")).hexdigest()[:10]
    value = st.selectbox(
        label,
        options,
        index=options.index(chosen),
        format_func=shown,
        key=f"{state}__{digest}",
    )
    st.session_state[state] = value
    return value


def forget_pending() -> None:
    """Drop a half-made decision (an approval awaiting confirmation, a change being written)."""
    st.session_state.pop(CONFIRM, None)
    st.session_state.pop(CHANGING, None)


def _why_not(draft: dict[str, Any], shown: dict[str, Any]) -> str | None:
    under_review = draft["review_version"]
    if under_review is None:
        return "No version passed validation: there is nothing to approve; edit the spec."
    if shown["version"] != under_review:
        return (
            f"You are looking at version {shown['version']} ({shown['status']}); decisions are "
            f"for version {under_review}, the version under review."
        )
    if draft["status"] != "draft":
        return (
            f"The draft is {draft['status']}. To reverse that, use Change decision with its own "
            "comment, or save a new version of the spec."
        )
    return None


def decision_form(
    draft: dict[str, Any], shown: dict[str, Any], reviewer: Reviewer, summary: str
) -> None:
    """Comment, Approve (then Confirm) and Reject for the version under review, when shown.

    ``summary`` states exactly what approving approves (draft, version, hash,
    scopes, operations); it is shown before anything is approved.
    """
    open_now = draft["status"] == "draft" and shown["version"] == draft["review_version"]
    args = (draft["id"], shown["version"], shown["spec_hash"] or "", reviewer)
    sha = (shown["spec_hash"] or "?")[:12]
    st.caption(f"You are deciding on version {shown['version']} (spec sha256 {sha}…).")
    pending = st.session_state.get(CONFIRM)
    if pending and pending["key"] == args[:3] and open_now:
        _confirmation(pending, summary, args)
        return
    with st.form("drafts_decide", border=False):
        st.text_input("Comment", key=COMMENT)
        left, right = st.columns(2)
        left.form_submit_button(
            "Approve…",
            key="drafts_approve",
            type="primary",
            disabled=not (open_now and shown["valid"]),
            on_click=_ask_confirmation,
            args=args[:3],
        )
        right.form_submit_button(
            "Reject",
            key="drafts_reject",
            disabled=not open_now,
            on_click=_decide,
            args=("reject", *args),
        )
    reason = _why_not(draft, shown)
    if reason:
        st.caption(reason)
    if draft["status"] in ("approved", "rejected") and shown["version"] == draft["review_version"]:
        _change_decision(draft, shown, reviewer, summary)


def _ask_confirmation(draft_id: str, number: int, spec_hash: str) -> None:
    st.session_state[CONFIRM] = {
        "key": (draft_id, number, spec_hash),
        "comment": st.session_state.get(COMMENT, ""),
    }


def _confirmation(pending: dict[str, Any], summary: str, args: tuple) -> None:
    st.warning(plain(summary))
    if pending["comment"]:
        st.text(f"Your comment: {pending['comment']}")
    left, right = st.columns(2)
    left.button(
        "Confirm approval",
        key="drafts_confirm_approve",
        type="primary",
        on_click=_decide,
        args=("approve", *args),
        kwargs={"comment": pending["comment"]},
    )
    right.button(
        "Cancel", key="drafts_confirm_cancel", on_click=st.session_state.pop, args=(CONFIRM, None)
    )


def _change_decision(
    draft: dict[str, Any], shown: dict[str, Any], reviewer: Reviewer, summary: str
) -> None:
    """The explicit way back: the opposite action on the same version, with its own comment."""
    opposite = "reject" if draft["status"] == "approved" else "approve"
    if st.session_state.get(CHANGING) != (draft["id"], shown["version"]):
        st.button(
            "Change decision",
            key="drafts_change",
            on_click=st.session_state.__setitem__,
            args=(CHANGING, (draft["id"], shown["version"])),
        )
        return
    st.caption(
        f"Changing the decision on version {shown['version']}: it will be {opposite}ed "
        "(recorded as a change, with your comment)."
    )
    if opposite == "approve":
        st.warning(plain(summary))
    with st.form("drafts_change_form", border=False):
        st.text_input("Why change it? (required)", key=CHANGE_COMMENT)
        st.form_submit_button(
            f"{opposite.capitalize()} version {shown['version']} instead",
            key="drafts_change_submit",
            on_click=_decide,
            args=(opposite, draft["id"], shown["version"], shown["spec_hash"] or "", reviewer),
            kwargs={"change": True},
        )
    st.button(
        "Keep the decision",
        key="drafts_change_cancel",
        on_click=st.session_state.pop,
        args=(CHANGING, None),
    )


def _decide(
    action: str,
    draft_id: str,
    number: int,
    spec_hash: str,
    reviewer: Reviewer,
    *,
    comment: str | None = None,
    change: bool = False,
) -> None:
    # A callback runs before the page does, so the form can still be cleared and the
    # page then reads the draft as it now is.
    box = CHANGE_COMMENT if change else COMMENT
    text = st.session_state.get(box, "") if comment is None else comment
    try:
        data.decide(draft_id, action, number, spec_hash, reviewer, text, change=change)
    except AtcError as exc:
        flash("error", f"Not recorded. {exc.line()}")
        if comment is not None:  # the box was not drawn while confirming: give its text back
            st.session_state[COMMENT] = comment
        st.session_state.pop(CONFIRM, None)
        st.session_state.pop(f"drafts_version_{draft_id}", None)  # reload on the latest
        return
    for key in (COMMENT, CHANGE_COMMENT):
        st.session_state[key] = ""
    st.session_state.pop(CONFIRM, None)
    st.session_state.pop(CHANGING, None)
    how = "verified" if reviewer.verified else "unverified"
    done = "Approved" if action == "approve" else "Rejected"
    flash(
        "success",
        f"{done} version {number} ({how} reviewer){' (decision changed)' if change else ''}.",
    )
