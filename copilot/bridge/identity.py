"""The caller's identity on its way into Temporal: memo, search attributes, a header.

The bridge sets the verified :class:`~copilot.bridge.routes.Caller` in a context
variable for the duration of one request; :class:`IdentityInterceptor` (a
temporalio *client* interceptor) then adds it as the ``atc-caller`` header of
every start, signal and update that request makes, so workflow code (through a
workflow inbound interceptor) and the started event in history carry it
(docs.temporal.io/develop/python/interceptors). The interceptor also counts
every call it sees, which is how tests prove a refusal never reached Temporal.

Only identity goes in (subject, issuer, client id, scopes, the Apigee message id):
never the token.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from temporalio import client as tc
from temporalio.api.common.v1 import Payload
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.converter import default as default_converter

from copilot.bridge.routes import Caller

HEADER = "atc-caller"
SA_CALLER = "AtcCaller"
SA_CLIENT_ID = "AtcClientId"
SA_SCOPES = "AtcScopes"
SA_MESSAGE_ID = "AtcApigeeMessageId"
CALLER = SearchAttributeKey.for_keyword(SA_CALLER)
CLIENT_ID = SearchAttributeKey.for_keyword(SA_CLIENT_ID)
SCOPES = SearchAttributeKey.for_keyword_list(SA_SCOPES)
MESSAGE_ID = SearchAttributeKey.for_keyword(SA_MESSAGE_ID)
_current: ContextVar[Identity | None] = ContextVar("atc_bridge_identity", default=None)


@dataclass(frozen=True)
class Identity:
    """What a workflow learns about who started or signalled it."""

    caller: Caller
    message_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Memo and header content (JSON-friendly, no token)."""
        return {
            "sub": self.caller.subject,
            "iss": self.caller.issuer,
            "client_id": self.caller.client_id,
            "scopes": list(self.caller.scopes),
            "apigee_message_id": self.message_id,
        }

    def memo(self) -> dict[str, Any]:
        return {"kind": "bridge-start", "caller": self.as_dict()}

    def search_attributes(self) -> TypedSearchAttributes:
        pairs: list[SearchAttributePair] = [SearchAttributePair(CALLER, self.caller.subject)]
        if self.caller.client_id:
            pairs.append(SearchAttributePair(CLIENT_ID, self.caller.client_id))
        if self.caller.scopes:
            pairs.append(SearchAttributePair(SCOPES, list(self.caller.scopes)))
        if self.message_id:
            pairs.append(SearchAttributePair(MESSAGE_ID, self.message_id))
        return TypedSearchAttributes(pairs)


def merge_attributes(
    first: TypedSearchAttributes, second: TypedSearchAttributes
) -> TypedSearchAttributes:
    """Both sets of search attributes in one (a drafted run's and the caller's)."""
    return TypedSearchAttributes([*first.search_attributes, *second.search_attributes])


def set_identity(identity: Identity | None) -> Any:
    """Make ``identity`` the current request's (returns the token to :func:`reset_identity`)."""
    return _current.set(identity)


def reset_identity(token: Any) -> None:
    _current.reset(token)


def _payload(identity: Identity) -> Payload:
    return default_converter().payload_converter.to_payloads([identity.as_dict()])[0]


def caller_from_headers(headers: Mapping[str, Payload]) -> dict[str, Any] | None:
    """The identity a workflow received in its ``atc-caller`` header (None if absent).

    Public API for code outside workflows that reads history (docs/bridge.md);
    the header's encoding lives here, beside the interceptor that writes it.
    """
    payload = headers.get(HEADER)
    if payload is None:
        return None
    return default_converter().payload_converter.from_payloads([payload])[0]


class CallCounter:
    """Thread-safe counts of outbound Temporal calls by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


class _Outbound(tc.OutboundInterceptor):
    def __init__(self, next: tc.OutboundInterceptor, counter: CallCounter) -> None:
        super().__init__(next)
        self._counter = counter

    def _stamp(self, headers: Mapping[str, Payload]) -> Mapping[str, Payload]:
        identity = _current.get()
        return {**headers, HEADER: _payload(identity)} if identity else headers

    async def start_workflow(self, input: tc.StartWorkflowInput) -> Any:
        self._counter.add("start")
        input.headers = self._stamp(input.headers)
        return await super().start_workflow(input)

    async def signal_workflow(self, input: tc.SignalWorkflowInput) -> None:
        self._counter.add("signal")
        input.headers = self._stamp(input.headers)
        return await super().signal_workflow(input)

    async def start_workflow_update(self, input: tc.StartWorkflowUpdateInput) -> Any:
        self._counter.add("update")
        input.headers = self._stamp(input.headers)
        return await super().start_workflow_update(input)

    async def describe_workflow(self, input: tc.DescribeWorkflowInput) -> Any:
        self._counter.add("describe")
        return await super().describe_workflow(input)


class IdentityInterceptor(tc.Interceptor):
    """Adds the current caller as a header to starts, signals and updates; counts calls."""

    def __init__(self, counter: CallCounter | None = None) -> None:
        self.counter = counter or CallCounter()

    def intercept_client(self, next: tc.OutboundInterceptor) -> tc.OutboundInterceptor:
        return _Outbound(next, self.counter)


async def register_attributes(client: Any, namespace: str) -> bool:
    """Register the bridge's search attributes in ``namespace``; False when refused."""
    from workflows.search_attributes import register

    keywords = (SA_CALLER, SA_CLIENT_ID, SA_MESSAGE_ID)
    return await register(client, namespace, keywords, keyword_lists=(SA_SCOPES,))
