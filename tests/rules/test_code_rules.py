"""Code rules on rendered and human-edited modules: allow-list, scope, timeouts, compile, sandbox."""

from __future__ import annotations

import pytest

from copilot.drafting.render import render
from copilot.drafting.spec import parse_spec
from copilot.drafting.validate import validate_code
from copilot.rules import Finding
from copilot.scopes import Catalog
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship


@pytest.fixture(scope="module")
def rendered() -> str:
    return render(parse_spec(flagship()), FLAGSHIP_SCOPES)


def _check(code: str, catalog: Catalog, sandbox: bool = False) -> list[Finding]:
    return [f for f in validate_code(code, catalog, FLAGSHIP_SCOPES, sandbox=sandbox) if f.is_error]


def test_rendered_code_passes_every_code_rule_and_loads_in_the_sandbox(
    rendered: str, catalog: Catalog
) -> None:
    assert _check(rendered, catalog, sandbox=True) == []


def _inject(code: str, line: str) -> str:
    """Put ``line`` as the first statement of the first step method."""
    marker = "    async def _step_get_order(self, data: HoldLargeOrdersInput) -> str:\n"
    assert marker in code
    return code.replace(marker, marker + "        " + line + "\n")


@pytest.mark.parametrize(
    "line",
    [
        "eval('1 + 1')",
        "exec('import os')",
        "open('/etc/passwd').read()",
        "__import__('os').system('id')",
        "getattr(self, 'run')",
        "setattr(self, '_status', None)",
        "print(self.__class__.__mro__)",
        "x = ().__class__.__bases__[0].__subclasses__()",
        "x = '{0.__class__}'.format(self)",
        "x = globals()['__builtins__']",
        "x = vars(self)",
        "x = type(self)",
        "import httpx",
        "import socket",
        "from urllib import request",
        "import os",
        "import subprocess as sp",
        "from temporalio.workflow import unsafe",
        "workflow.unsafe.sandbox_unrestricted()",
        "x = workflow._Runtime",
        "asyncio.create_subprocess_exec('id')",
        "global STATE",
        "breakpoint()",
        "x = lookup.__globals__",
    ],
)
def test_the_allow_list_refuses_escapes(rendered: str, catalog: Catalog, line: str) -> None:
    found = _check(_inject(rendered, line), catalog)
    assert "WF101" in {f.rule_id for f in found}, line
    assert all("fix:" in f.message for f in found)


def test_direct_network_access_names_the_gateway_activity(rendered: str, catalog: Catalog) -> None:
    found = _check(_inject(rendered, "import httpx"), catalog)
    assert any("CALL_OPERATION" in f.message for f in found)


def test_module_level_code_is_refused(rendered: str, catalog: Catalog) -> None:
    found = _check(rendered + "\nprint('side effect at import')\n", catalog)
    assert any("runs at import" in f.message for f in found)


def test_edited_calls_are_scope_checked(rendered: str, catalog: Catalog) -> None:
    edited = rendered.replace('operation="orders.cancel"', 'operation="payments.refund"')
    found = _check(edited, catalog)
    assert {f.rule_id for f in found} == {"WF102"}
    assert "needs payments.refund" in found[0].message
    computed = rendered.replace('operation="orders.cancel"', 'operation="orders." + "cancel"')
    assert any("string literal" in f.message for f in _check(computed, catalog))
    other = rendered.replace("            CALL_OPERATION,\n", '            "atc.other_activity",\n')
    assert "WF102" in {f.rule_id for f in _check(other, catalog)}


def test_edited_timeouts_are_checked(rendered: str, catalog: Catalog) -> None:
    no_timeout = rendered.replace("                timeout=timeout)", "                )")
    no_timeout = rendered.replace(
        "lambda: step in self._decisions, timeout=timeout", "lambda: step in self._decisions"
    )
    assert "WF103" in {f.rule_id for f in _check(no_timeout, catalog)}
    forever = rendered.replace("maximum_attempts=5", "maximum_attempts=0", 1)
    assert "WF103" in {f.rule_id for f in _check(forever, catalog)}
    no_start = rendered.replace("            start_to_close_timeout=timeout,\n", "")
    assert "WF103" in {f.rule_id for f in _check(no_start, catalog)}


def test_syntax_errors_are_wf104_and_nothing_is_loaded(rendered: str, catalog: Catalog) -> None:
    found = validate_code(rendered + "\ndef broken(:\n", catalog, FLAGSHIP_SCOPES, sandbox=True)
    assert [f.rule_id for f in found if f.is_error] == ["WF104"]


def test_a_module_that_passes_the_allow_list_but_not_the_sandbox_is_wf105(catalog: Catalog) -> None:
    code = '"""no workflow here."""\n\nfrom __future__ import annotations\n\nX = 1\n'
    found = validate_code(code, catalog, FLAGSHIP_SCOPES, sandbox=True)
    assert [f.rule_id for f in found if f.is_error] == ["WF105"]
    assert "exactly one workflow class" in found[0].message


def test_secrets_in_code_literals_are_wf007(rendered: str, catalog: Catalog) -> None:
    edited = rendered.replace('DESCRIPTION = "', 'DESCRIPTION = "sk-abcdefghijklmnopqrstuvwx ', 1)
    assert "WF007" in {f.rule_id for f in _check(edited, catalog)}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "data: HoldLargeOrdersInput) -> dict[str, Any]:",
            "data: \"__import__('os').getcwd()\") -> dict[str, Any]:",
        ),
        ("    order_id: str\n", "    order_id: \"eval('1')\"\n"),
        (
            '@workflow.defn(name="atc-draft.hold_large_orders")',
            '@workflow.defn(name="atc-draft.hold_large_orders", sandboxed=False)',
        ),
        (
            "            retry_policy=retry,\n",
            '            retry_policy=retry,\n            task_queue="someone-elses-worker",\n',
        ),
    ],
)
def test_subtler_escapes_are_refused(rendered: str, catalog: Catalog, old: str, new: str) -> None:
    assert old in rendered
    found = _check(rendered.replace(old, new, 1), catalog)
    assert {f.rule_id for f in found} & {"WF101", "WF102"}, new


def test_match_statements_are_refused(rendered: str, catalog: Catalog) -> None:
    line = "match data:\n            case StepStatus(__class__=c):\n                pass"
    assert "WF101" in {f.rule_id for f in _check(_inject(rendered, line), catalog)}
