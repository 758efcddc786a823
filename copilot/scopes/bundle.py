"""The XML of a minimal Apigee proxy bundle that enforces a workflow's scopes.

See :mod:`copilot.scopes.artifacts` for what the bundle does and why. Every
value that reaches the XML is escaped; scope names are checked against a
conservative character set before they enter a condition.

Two token kinds (``token_kind``):

- ``"jwt"``: VerifyJWT (``JWT-VerifyToken``), then VerifyAPIKey
  (``VA-VerifyClientKey``) on the token's client-id claim, so Apigee also
  enforces the app's API products (the pattern of Google's apigee-samples
  ``authorize-idp-access-tokens``: JWT-VerifyIdPToken then VA-IdentifyClientApp
  with ``<APIKey ref="jwt.JWT-VerifyIdPToken.claim.<client id claim>"/>``).
  Flow conditions read ``jwt.JWT-VerifyToken.claim.scope`` (a space-separated
  string) or ``jwt.JWT-VerifyToken.claim.scp`` (an array claim).
- ``"apigee"``: OAuthV2 ``VerifyAccessToken`` (``OA-VerifyAccessToken``) with
  ``<Scope>`` = the workflow's scopes; it enforces the app's products itself
  and sets the ``scope`` flow variable (space-separated) the flows read.

How VerifyJWT renders an *array* claim in ``jwt.{policy}.claim.{name}`` is not
spelled out in the verify-jwt-policy reference
(cloud.google.com/apigee/docs/api-platform/reference/policies/verify-jwt-policy,
"Flow variables"), so the ``scp`` condition accepts each scope as a whole
token delimited by anything a scope token cannot hold (space, ``"``, ``,``,
``[``, ``]``): it matches a JSON array, a comma-joined list and a
space-separated string alike, and scope names holding ``,`` are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from copilot.errors import InputError
from copilot.scopes.bundle_policies import (
    SAFE_SCOPE,
    VERIFY,
    VERIFY_ACCESS_TOKEN,
    VERIFY_KEY,
    client_key_ref,
    oauth_verify_access_token_policy,
    raise_fault_policy,
    remove_authorization_policy,
    verify_api_key_policy,
    verify_jwt_policy,
)
from copilot.scopes.operations import Operation, segments

__all__ = [  # the policy builders are re-exported: callers import them from here
    "VERIFY",
    "VERIFY_ACCESS_TOKEN",
    "VERIFY_KEY",
    "client_key_ref",
    "oauth_verify_access_token_policy",
    "raise_fault_policy",
    "remove_authorization_policy",
    "verify_api_key_policy",
    "verify_jwt_policy",
]

TOKEN_KINDS = ("jwt", "apigee")
_SAFE_SCOPE = SAFE_SCOPE
# Characters a scope token may hold except "," "[" "]" (RFC 6749 NQCHAR), as a
# Java regex class written without backslashes; its complement delimits scp items.
_NOT_SCOPE_CHAR = "[^-!#-+.-Z^-~]"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def resource_for(op: Operation) -> str:
    """The Apigee resource path of an operation: parameters become ``*``."""
    parts = ["*" if s.startswith("{") else s for s in segments(op.path_template)]
    return "/" + "/".join(parts)


def _alternatives(scopes: Iterable[str]) -> str:
    alternatives = []
    for scope in sorted(scopes):
        if not _SAFE_SCOPE.match(scope):
            raise InputError(f"scope {scope!r} cannot be written into an Apigee condition safely")
        alternatives.append(
            "".join(c if c.isalnum() or c in "_-:/@~=!&'" else f"[{c}]" for c in scope)
        )
    return "|".join(alternatives)


def _scope_regex(scopes: Iterable[str]) -> str:
    """JavaRegex: one of ``scopes`` is a token of a space-separated string."""
    return "^(.* )?(" + _alternatives(scopes) + ")( .*)?$"


def scp_regex(scopes: Iterable[str]) -> str:
    """JavaRegex: one of ``scopes`` is an item of an array claim, however rendered."""
    d = _NOT_SCOPE_CHAR
    return f"^(.*{d})?({_alternatives(scopes)})({d}.*)?$"


def scope_condition(scopes: Iterable[str], token_kind: str = "jwt") -> str:
    """The condition that is true when the token carries none of ``scopes``."""
    scopes = list(scopes)
    if token_kind == "apigee":
        return f'!(scope ~~ "{_scope_regex(scopes)}")'
    claim = f"jwt.{VERIFY}.claim"
    return (
        f'!(({claim}.scope ~~ "{_scope_regex(scopes)}") or ({claim}.scp ~~ "{scp_regex(scopes)}"))'
    )


def _flow_condition(op: Operation) -> str:
    resource = resource_for(op)
    verb = f'(request.verb = "{op.method}")'
    if resource == "/":
        return f'((proxy.pathsuffix = "") or (proxy.pathsuffix = "/")) and {verb}'
    return f'(proxy.pathsuffix MatchesPath "{resource}") and {verb}'


def _flow(op: Operation, scopes: Iterable[str], token_kind: str = "jwt") -> str:
    refuse = scope_condition(scopes, token_kind)
    return f"""    <Flow name={quoteattr(op.id)}>
      <Description>{escape(f"{op.method} {op.full_template}")}</Description>
      <Request>
        <Step>
          <Name>RF-InsufficientScope</Name>
          <Condition>{escape(refuse)}</Condition>
        </Step>
      </Request>
      <Response/>
      <Condition>{escape(_flow_condition(op))}</Condition>
    </Flow>
"""


# Several short conditions rather than one long one (apigeelint CC004).
_AMBIGUOUS = (
    "(request.header.X-HTTP-Method-Override != null) or (request.header.X-HTTP-Method != null)",
    "(request.header.X-Method-Override != null) or (request.header.X-Original-URL != null)",
    # Backends that map "-" to "_" (CGI, WSGI) read these spellings as the same headers.
    "(request.header.X_HTTP_Method_Override != null) or (request.header.X_HTTP_Method != null)",
    "(request.header.X_Method_Override != null) or (request.header.X_Original_URL != null)",
    "(request.header.X-Rewrite-URL != null) or (request.header.X_Rewrite_URL != null)",
    "(request.header.X-Original-URI != null) or (request.header.X_Original_URI != null)",
    '(request.path ~~ ".*(//|;|%2[eEfF]|%5[cC]|%25|/[.]).*")',
)


def verification_steps(token_kind: str = "jwt") -> tuple[str, ...]:
    """The PreFlow policies that verify the caller and enforce its app's API products."""
    if token_kind not in TOKEN_KINDS:
        raise InputError(f"token kind {token_kind!r} must be one of {', '.join(TOKEN_KINDS)}")
    return (VERIFY, VERIFY_KEY) if token_kind == "jwt" else (VERIFY_ACCESS_TOKEN,)


def proxy_endpoint(
    base_path: str,
    ops: list[Operation],
    grants: dict[str, tuple[str, ...]],
    token_kind: str = "jwt",
) -> str:
    """ProxyEndpoint XML: PreFlow checks, one flow per operation, a refusing catch-all."""
    # Apigee runs the first conditional flow that matches: literal segments first.
    ordered = sorted(
        ops, key=lambda o: (-sum(not s.startswith("{") for s in segments(o.path_template)), o.id)
    )
    flows = "".join(_flow(op, grants[op.id], token_kind) for op in ordered)
    verify = "".join(
        f"      <Step>\n        <Name>{name}</Name>\n      </Step>\n"
        for name in verification_steps(token_kind)
    )
    refusals = "".join(
        f"      <Step>\n        <Name>RF-AmbiguousRequest</Name>\n"
        f"        <Condition>{escape(condition)}</Condition>\n      </Step>\n"
        for condition in _AMBIGUOUS
    )
    return f"""{_XML}<ProxyEndpoint name="default">
  <Description>Generated by atc: scope-checked operations only.</Description>
  <PreFlow name="PreFlow">
    <Request>
{refusals}{verify}    </Request>
    <Response/>
  </PreFlow>
  <Flows>
{flows}    <Flow name="unknown-operation">
      <Description>Anything the workflow was not granted.</Description>
      <Request>
        <Step>
          <Name>RF-UnknownOperation</Name>
        </Step>
      </Request>
      <Response/>
    </Flow>
  </Flows>
  <PostFlow name="PostFlow">
    <Request/>
    <Response/>
  </PostFlow>
  <HTTPProxyConnection>
    <BasePath>{escape(base_path)}</BasePath>
  </HTTPProxyConnection>
  <RouteRule name="default">
    <TargetEndpoint>default</TargetEndpoint>
  </RouteRule>
</ProxyEndpoint>
"""


def target_endpoint(
    target_server: str,
    path: str | None = None,
    *,
    remove_authorization: bool = True,
    description: str = "The proxy's backend; the caller's token is removed first.",
) -> str:
    """TargetEndpoint via a TargetServer (TLS and host live there, per environment).

    ``remove_authorization=False`` for a backend that verifies the caller's token
    again itself (the atc bridge); ``path`` None keeps the request's own path.
    """
    step = "      <Step>\n        <Name>AM-RemoveAuthorization</Name>\n      </Step>\n"
    request = f"    <Request>\n{step}    </Request>" if remove_authorization else "    <Request/>"
    path_xml = f"    <Path>{escape(path)}</Path>\n" if path is not None else ""
    return f"""{_XML}<TargetEndpoint name="default">
  <Description>{escape(description)}</Description>
  <PreFlow name="PreFlow">
{request}
    <Response/>
  </PreFlow>
  <PostFlow name="PostFlow">
    <Request/>
    <Response/>
  </PostFlow>
  <HTTPTargetConnection>
    <LoadBalancer>
      <Server name={quoteattr(target_server)}/>
    </LoadBalancer>
{path_xml}  </HTTPTargetConnection>
</TargetEndpoint>
"""


_COMMON = (
    "RF-AmbiguousRequest",
    "RF-InsufficientScope",
    "RF-UnknownOperation",
    "AM-RemoveAuthorization",
)
POLICIES = (VERIFY, VERIFY_KEY, *_COMMON)


def policies_for(token_kind: str = "jwt") -> tuple[str, ...]:
    """The policy names of a bundle for this token kind."""
    return (*verification_steps(token_kind), *_COMMON)


def proxy_descriptor(
    name: str, base_path: str, description: str, policies: Iterable[str] = POLICIES
) -> str:
    listed = "".join(f"    <Policy>{escape(p)}</Policy>\n" for p in policies)
    return f"""{_XML}<APIProxy name={quoteattr(name)} revision="1">
  <DisplayName>{escape(name)}</DisplayName>
  <Description>{escape(description)}</Description>
  <BasePaths>{escape(base_path)}</BasePaths>
  <Policies>
{listed}  </Policies>
  <ProxyEndpoints>
    <ProxyEndpoint>default</ProxyEndpoint>
  </ProxyEndpoints>
  <TargetEndpoints>
    <TargetEndpoint>default</TargetEndpoint>
  </TargetEndpoints>
</APIProxy>
"""


def policy_files(
    alg: str,
    jwks_uri: str,
    issuer: str,
    audience: str,
    subject: str,
    *,
    token_kind: str = "jwt",
    client_id_claim: str = "client_id",
    scopes: Iterable[str] = (),
) -> dict[str, str]:
    """Every policy of the bundle: file name -> XML (``scopes``: the apigee kind's <Scope>)."""
    if token_kind == "apigee":
        verify = {
            f"{VERIFY_ACCESS_TOKEN}.xml": oauth_verify_access_token_policy(
                VERIFY_ACCESS_TOKEN, scopes
            )
        }
    else:
        verification_steps(token_kind)
        verify = {
            f"{VERIFY}.xml": verify_jwt_policy(alg, jwks_uri, issuer, audience, subject),
            f"{VERIFY_KEY}.xml": verify_api_key_policy(VERIFY_KEY, client_key_ref(client_id_claim)),
        }
    return {
        **verify,
        "RF-AmbiguousRequest.xml": raise_fault_policy(
            "RF-AmbiguousRequest", 400, "Bad Request", "atc.gateway.AmbiguousRequest",
            "The request is ambiguous (method override or unusual path form) and was refused.",
        ),
        "RF-InsufficientScope.xml": raise_fault_policy(
            "RF-InsufficientScope", 403, "Forbidden", "steps.oauth.v2.InsufficientScope",
            "The token's scope does not grant this operation.",
        ),
        "RF-UnknownOperation.xml": raise_fault_policy(
            "RF-UnknownOperation", 403, "Forbidden", "steps.oauth.v2.InsufficientScope",
            "This operation is not granted to the workflow.",
        ),
        "AM-RemoveAuthorization.xml": remove_authorization_policy(),
    }  # fmt: skip
