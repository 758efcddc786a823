"""An environment's flow hooks: which shared flow runs at which point of every proxy.

Flow hooks attach a shared flow to every proxy deployed in an environment at
PreProxyFlowHook, PreTargetFlowHook, PostTargetFlowHook or PostProxyFlowHook
(cloud.google.com/apigee/docs/api-platform/fundamentals/flow-hooks). Accepted
shapes: the management API / apigeecli JSON (``{"flowhooks": [{"flowHookPoint":
"PreProxyFlowHook", "sharedFlow": "sf"}]}``, a list of such objects, one object,
or ``{"PreProxyFlowHook": "sf"}``) and Apigee Edge-style XML (``<FlowHook
name="PreProxyFlowHook"><SharedFlow>sf</SharedFlow></FlowHook>``, possibly
inside a ``<FlowHooks>`` element).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from copilot.errors import BundleError

POINTS = ("PreProxyFlowHook", "PreTargetFlowHook", "PostTargetFlowHook", "PostProxyFlowHook")


def parse_hooks(label: str, data: bytes) -> list[tuple[str, str]]:
    """(flow hook point, shared flow name) pairs from one file."""
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            raise BundleError(f"{label}: not well-formed XML ({exc})") from exc
        return _from_xml(root)
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"{label}: not JSON or XML flow hooks ({exc})") from exc
    return _from_json(body)


def _from_xml(root: ET.Element) -> list[tuple[str, str]]:
    hooks = [root] if root.tag == "FlowHook" else list(root.iter("FlowHook"))
    out = []
    for hook in hooks:
        point = hook.get("name") or (hook.findtext("FlowHookPoint") or "").strip()
        flow = (hook.findtext("SharedFlow") or "").strip()
        if point in POINTS and flow:
            out.append((point, flow))
    return out


def _from_json(body: object) -> list[tuple[str, str]]:
    if isinstance(body, dict) and "flowhooks" in body:
        body = body["flowhooks"]
    if isinstance(body, dict) and "flowHookPoint" not in body:
        # {"PreProxyFlowHook": "sf"} or {"PreProxyFlowHook": {"sharedFlow": "sf"}}
        body = [
            {"flowHookPoint": k, "sharedFlow": v.get("sharedFlow") if isinstance(v, dict) else v}
            for k, v in body.items()
        ]
    if isinstance(body, dict):
        body = [body]
    out = []
    for item in body if isinstance(body, list) else []:
        if not isinstance(item, dict):
            continue
        point, flow = item.get("flowHookPoint") or item.get("name"), item.get("sharedFlow")
        if point in POINTS and isinstance(flow, str) and flow:
            out.append((str(point), flow))
    return out
