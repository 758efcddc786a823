"""Policy XML for the bundles atc writes: token and key verification, faults.

Shared by :mod:`copilot.scopes.bundle` (scope-enforcing proxies),
:mod:`copilot.throttling.policies_bundle` (``--policies-out`` bundles) and the
gateway bridge; everything is importable from :mod:`copilot.scopes.bundle` too.
Every value is escaped; names that reach flow-variable references are checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from copilot.errors import InputError

VERIFY = "JWT-VerifyToken"
VERIFY_KEY = "VA-VerifyClientKey"
VERIFY_ACCESS_TOKEN = "OA-VerifyAccessToken"
SAFE_SCOPE = re.compile(r"^[A-Za-z0-9._:/\-+~!$&'()*;=@]+$")
_SAFE_CLAIM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_XML = XML_DECL


def verify_jwt_policy(
    alg: str, jwks_uri: str, issuer: str, audience: str, subject: str | None
) -> str:
    """VerifyJWT: signature from the JWKS, issuer, audience, the workflow as subject
    (``subject=None``: any subject)."""
    pinned = f"  <Subject>{escape(subject)}</Subject>\n" if subject is not None else ""
    return f"""{_XML}<VerifyJWT continueOnError="false" enabled="true" name="{VERIFY}">
  <DisplayName>{VERIFY}</DisplayName>
  <Algorithm>{escape(alg)}</Algorithm>
  <PublicKey>
    <JWKS uri={quoteattr(jwks_uri)}/>
  </PublicKey>
  <Issuer>{escape(issuer)}</Issuer>
  <Audience>{escape(audience)}</Audience>
{pinned}  <TimeAllowance>30s</TimeAllowance>
  <IgnoreUnresolvedVariables>false</IgnoreUnresolvedVariables>
</VerifyJWT>
"""


def verify_api_key_policy(name: str = VERIFY_KEY, key_ref: str = "request.header.x-apikey") -> str:
    """VerifyAPIKey on the key in flow variable ``key_ref``: sets ``client_id`` and
    refuses a key whose app's API products do not grant this proxy, path and verb."""
    return f"""{_XML}<VerifyAPIKey continueOnError="false" enabled="true" name={quoteattr(name)}>
  <DisplayName>{escape(name)}</DisplayName>
  <APIKey ref={quoteattr(key_ref)}/>
</VerifyAPIKey>
"""


def client_key_ref(claim: str = "client_id") -> str:
    """The flow variable VerifyJWT puts the token's client-id claim in."""
    if not _SAFE_CLAIM.match(claim):
        raise InputError(f"claim name {claim!r} cannot name a flow variable safely")
    return f"jwt.{VERIFY}.claim.{claim}"


def oauth_verify_access_token_policy(
    name: str = VERIFY_ACCESS_TOKEN, scopes: Iterable[str] = ()
) -> str:
    """OAuthV2 VerifyAccessToken; with ``scopes``, the token must carry one of them."""
    listed = " ".join(sorted(scopes))
    for scope in listed.split():
        if not SAFE_SCOPE.match(scope):
            raise InputError(f"scope {scope!r} cannot be written into a policy safely")
    scope = f"  <Scope>{escape(listed)}</Scope>\n" if listed else ""
    return f"""{_XML}<OAuthV2 continueOnError="false" enabled="true" name={quoteattr(name)}>
  <DisplayName>{escape(name)}</DisplayName>
  <Operation>VerifyAccessToken</Operation>
{scope}</OAuthV2>
"""


def raise_fault_policy(name: str, status: int, phrase: str, errorcode: str, text: str) -> str:
    """RaiseFault with an Apigee-shaped JSON body (``@``/``#`` delimit variables,
    so the JSON braces are not read as variable references)."""
    body = '{"fault":{"faultstring":"' + text + '","detail":{"errorcode":"' + errorcode + '"}}}'
    return f"""{_XML}<RaiseFault continueOnError="false" enabled="true" name="{name}">
  <DisplayName>{name}</DisplayName>
  <FaultResponse>
    <Set>
      <Payload contentType="application/json" variablePrefix="@" variableSuffix="#">{escape(body)}</Payload>
      <StatusCode>{status}</StatusCode>
      <ReasonPhrase>{phrase}</ReasonPhrase>
    </Set>
  </FaultResponse>
  <IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables>
</RaiseFault>
"""


def remove_authorization_policy() -> str:
    """AssignMessage that keeps the caller's token away from the backend."""
    return f"""{_XML}<AssignMessage continueOnError="false" enabled="true" name="AM-RemoveAuthorization">
  <DisplayName>AM-RemoveAuthorization</DisplayName>
  <Remove>
    <Headers>
      <Header name="Authorization"/>
    </Headers>
  </Remove>
  <IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables>
</AssignMessage>
"""
