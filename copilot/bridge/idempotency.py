"""Workflow ids for starts: deterministic under an Idempotency-Key, fresh otherwise.

The key is hashed with the namespace, the workflow type and the caller
(issuer, subject, client id), so two callers using the same key, or one caller
using it for two types, never meet on one workflow id. Started with
``WorkflowIDConflictPolicy.USE_EXISTING`` (a retry while the first run is open
returns that run) and ``WorkflowIDReusePolicy.REJECT_DUPLICATE`` (a retry after
it closed is refused by Temporal, and the bridge answers with the closed run),
a retried POST never starts a second workflow
(docs.temporal.io/workflow-execution/workflowid-runid#workflow-id-conflict-policy).
"""

from __future__ import annotations

import hashlib
import re
import uuid

from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from copilot.scopes.headers import idempotency_problem

CONFLICT_POLICY = WorkflowIDConflictPolicy.USE_EXISTING
REUSE_POLICY = WorkflowIDReusePolicy.REJECT_DUPLICATE
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(workflow_type: str) -> str:
    return _SLUG.sub("-", workflow_type)[:60] or "wf"


def workflow_id(namespace: str, workflow_type: str, caller_key: str, key: str | None) -> str:
    """``bridge-<type>-<hash>``: a hash of (namespace, type, caller, key), or random without a key."""
    if key is None:
        return f"bridge-{_slug(workflow_type)}-{uuid.uuid4().hex}"
    material = "\x1f".join(("atc-bridge/v1", namespace, workflow_type, caller_key, key))
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]
    return f"bridge-{_slug(workflow_type)}-k{digest}"


def key_problem(key: str) -> str | None:
    """Why a header value cannot be an idempotency key (1-200 printable ASCII), or None."""
    return idempotency_problem(key)
