"""``atc run`` and ``atc runs`` on a real dev server, with the runs worker as a real process.

The gateway is the emulator with a demo key in front of the echo backend,
on loopback. Each test proves one promise: an approved draft runs to
completion and its approval is answered with ``atc runs decide``; nothing
but the approved, unchanged version starts; history holds no key or token;
two versions of one draft run side by side under their own type names.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sqlite3
import time
from typing import Any

import jwt
import pytest
from temporalio.client import Client

from tests.drafting.specs import FLAGSHIP_SCOPES, flagship
from tests.runs.estate import Estate

pytestmark = pytest.mark.slow
LARGE = json.dumps({"order_id": "ORD-9", "amount": 12500})


def _wait_for_approval(estate: Estate, run_id: str, step: str = "manager_approval") -> dict:
    for _ in range(600):
        shown = estate.atc("runs", "show", run_id, "--json")
        now = (shown.doc or {}).get("now") or {}
        if now.get("kind") == "approval" and now.get("step") == step:
            return shown.doc
        time.sleep(0.2)
    raise AssertionError(f"the run never waited at {step}: {shown.stdout} {shown.stderr}")


def _run_id(estate: Estate, draft_id: str, known: set[str] = frozenset()) -> str:
    for _ in range(600):
        listed = estate.atc("runs", "list", "--draft", draft_id, "--json").doc or {"runs": []}
        fresh = [r["run_id"] for r in listed["runs"] if r["run_id"] not in known]
        if fresh:
            return fresh[0]
        time.sleep(0.2)
    raise AssertionError("the run never showed up in `atc runs list`")


def _decoded_payloads(doc: Any) -> list[str]:
    out = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "data" and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    out.append(base64.b64decode(value).decode("utf-8", "replace"))
            else:
                out += _decoded_payloads(value)
    elif isinstance(doc, list):
        for value in doc:
            out += _decoded_payloads(value)
    return out


async def _history_text(estate: Estate, run_id: str) -> str:
    client = await Client.connect(estate.server.address)
    history = await client.get_workflow_handle(run_id).fetch_history()
    doc = history.to_json_dict()
    return json.dumps(doc) + "\n".join(_decoded_payloads(doc))


def test_an_approved_draft_runs_and_its_approval_is_answered_by_runs_decide(
    estate: Estate,
) -> None:
    draft_id = estate.draft(flagship(), FLAGSHIP_SCOPES)
    estate.approve(draft_id)
    estate.worker()
    waiting = estate.atc_background("run", draft_id, "--input", LARGE, "--wait", "--json")
    run_id = _run_id(estate, draft_id)
    shown = _wait_for_approval(estate, run_id)
    assert shown["steps"] == ["get_order", "is_large", "manager_approval"]
    assert [(c["method"], c["operation"], c["status"]) for c in shown["calls"]] == [
        ("GET", "orders.get", 200)
    ]
    wrong = estate.atc("runs", "decide", run_id, "ship", "approve", "--by", "carol")
    assert wrong.returncode == 3 and "no approval 'ship' is pending" in wrong.stderr
    decided = estate.atc("runs", "decide", run_id, "manager_approval", "approve", "--by", "carol")
    assert decided.returncode == 0, decided.stderr
    again = estate.atc("runs", "decide", run_id, "manager_approval", "reject", "--by", "dave")
    # Refused either by the workflow (still finishing) or by the server (already done).
    assert again.returncode == 3
    assert "already decided: approve by carol" in again.stderr or "completed" in again.stderr
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    result = json.loads(out)
    assert result["ok"] and result["status"] == "COMPLETED" and result["run_id"] == run_id
    assert result["result"]["path"] == ["get_order", "is_large", "manager_approval", "ship"]
    assert result["workflow_type"] == f"atc-draft.hold_large_orders.v1.{result['spec_hash'][:12]}"
    shown = estate.atc("runs", "show", run_id, "--json").doc
    assert shown["status"] == "COMPLETED"
    assert [(c["method"], c["operation"], c["status"]) for c in shown["calls"]] == [
        ("GET", "orders.get", 200),
        ("POST", "fulfilment.create_shipment", 201),
    ]
    # Every call carried a short-lived token naming this run and only the approved scopes.
    assert len(estate.gateway.tokens) == 2
    for token in estate.gateway.tokens:
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["sub"] == f"run:{run_id}"
        assert 0 < claims["exp"] - claims["iat"] <= 900
        assert sorted(claims["scope"].split()) == sorted(FLAGSHIP_SCOPES)
    # No key material or token anywhere in the run's history (raw or decoded).
    history = asyncio.run(_history_text(estate, run_id))
    pem = estate.gateway.key.private_path.read_text()
    key_body = "".join(pem.strip().splitlines()[1:-1])
    for secret in [
        *estate.gateway.tokens,
        key_body,
        key_body[:40],
        str(estate.gateway.key.private_path),
    ]:
        assert secret not in history
    assert "ORD-9" in history  # the scan reads decoded payloads (the input is one)


def test_nothing_but_the_approved_unchanged_version_starts(estate: Estate) -> None:
    unapproved = estate.draft(flagship(), FLAGSHIP_SCOPES)
    approved = estate.draft(flagship(), FLAGSHIP_SCOPES)
    estate.approve(approved)
    small = json.dumps({"order_id": "ORD-1", "amount": 5})
    refused = estate.atc("run", unapproved, "--input", small, "--json")
    assert refused.returncode == 3 and "is not approved" in refused.doc["error"]
    wrong_version = estate.atc("run", approved, "--version", "2", "--input", small)
    assert wrong_version.returncode == 3
    assert "version 2 is not the approved version (1)" in wrong_version.stderr
    for bad, message in [
        ('{"order_id": "ORD-1"}', "missing input amount"),
        ('{"order_id": "ORD-1", "amount": "lots"}', "amount must be a number"),
        ('{"order_id": "ORD-1", "amount": 1, "x": 1}', "unknown input"),
    ]:
        wrong_input = estate.atc("run", approved, "--input", bad)
        assert wrong_input.returncode == 2 and message in wrong_input.stderr
    with sqlite3.connect(estate.store.path) as db:
        db.execute("UPDATE versions SET code = replace(code, 'fulfilment', 'fulfilmant')")
    tampered = estate.atc("run", approved, "--input", small)
    assert tampered.returncode == 3 and "code_hash differs" in tampered.stderr
    with sqlite3.connect(estate.store.path) as db:
        db.execute("UPDATE versions SET spec_json = replace(spec_json, '10000', '1')")
    tampered = estate.atc("run", approved, "--input", small)
    assert tampered.returncode == 3 and "spec_hash differs" in tampered.stderr
    # Nothing started: no run of either draft exists.
    for draft_id in (unapproved, approved):
        listed = estate.atc("runs", "list", "--draft", draft_id, "--json")
        assert listed.returncode == 0 and listed.doc["runs"] == []


def test_two_versions_of_one_draft_run_side_by_side_under_their_own_types(
    estate: Estate,
) -> None:
    draft_id = estate.draft(flagship(), FLAGSHIP_SCOPES)
    estate.approve(draft_id)
    worker = estate.worker()
    first = estate.atc_background("run", draft_id, "--input", LARGE, "--wait", "--json")
    run_v1 = _run_id(estate, draft_id)
    _wait_for_approval(estate, run_v1)
    edited = flagship()
    edited["steps"][2]["prompt"] = "Second look at order ${inputs.order_id}?"
    assert estate.edit(draft_id, edited) == 2
    estate.approve(draft_id)
    worker.wait_for(".v2.")  # the worker picked up the new approval
    assert estate.atc("run", draft_id, "--version", "1", "--input", LARGE).returncode == 3
    second = estate.atc_background("run", draft_id, "--input", LARGE, "--wait", "--json")
    run_v2 = _run_id(estate, draft_id, {run_v1})
    assert _wait_for_approval(estate, run_v2)["now"]["prompt"] == "Second look at order ORD-9?"
    assert _wait_for_approval(estate, run_v1)["now"]["prompt"] == "Approve order ORD-9?"
    for run_id in (run_v1, run_v2):
        decided = estate.atc("runs", "decide", run_id, "manager_approval", "reject", "--by", "eve")
        assert decided.returncode == 0, decided.stderr
    results = [json.loads(p.communicate(timeout=120)[0]) for p in (first, second)]
    types = [r["workflow_type"] for r in results]
    assert [r["version"] for r in results] == [1, 2]
    assert types[0].startswith("atc-draft.hold_large_orders.v1.")
    assert types[1].startswith("atc-draft.hold_large_orders.v2.") and types[0] != types[1]
    for r in results:
        assert r["status"] == "COMPLETED"
        assert r["result"]["path"][-2:] == ["cancel_order", "notify_customer"]
    # SIGTERM stops both halves gracefully.
    assert worker.terminate() == 0
    assert "atc runs worker: stopped" in worker.text()


def test_show_and_decide_name_a_missing_run_as_bad_input(estate: Estate) -> None:
    for argv in (("runs", "show", "run-nope"), ("runs", "decide", "run-nope", "s", "approve")):
        done = estate.atc(*argv)
        assert done.returncode == 2 and "no run 'run-nope'" in done.stderr
