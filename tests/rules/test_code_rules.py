"""Code rules: rendered code only (WF100), allow-list, scope, timeouts, compile, sandbox.

Most cases edit the rendered flagship module and run the code rules with the
flagship spec, so WF100 always refuses the edit; the assertions are about the
rule behind it that must refuse it on its own (the second lock).
"""

from __future__ import annotations

import json

import pytest

from copilot.drafting.render import render
from copilot.drafting.spec import WorkflowSpec, parse_spec
from copilot.drafting.validate import (
    MAX_ANSWER_BYTES,
    MAX_JSON_DEPTH,
    code_context,
    decode,
    validate_code,
    validate_document,
)
from copilot.rules import Finding, Rule, RuleContext, get_rule
from copilot.rules._ast_limits import MAX_CODE_BYTES, MAX_DEPTH
from copilot.scopes import Catalog
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship


@pytest.fixture(scope="module")
def spec() -> WorkflowSpec:
    return parse_spec(flagship())


@pytest.fixture(scope="module")
def rendered(spec: WorkflowSpec) -> str:
    return render(spec, FLAGSHIP_SCOPES)


def _errors(code: str, catalog: Catalog, spec: WorkflowSpec | None, sandbox: bool = False):
    found = validate_code(code, catalog, FLAGSHIP_SCOPES, spec=spec, sandbox=sandbox)
    return [f for f in found if f.is_error]


def _run(code: str, catalog: Catalog, spec: WorkflowSpec, *rule_ids: str) -> list[Finding]:
    """Only the named rules, as if no other rule existed."""
    ctx = code_context(code, catalog, FLAGSHIP_SCOPES, spec=spec, sandbox=False)
    return [f for rule_id in rule_ids for f in get_rule(rule_id).run(ctx) if f.is_error]


def _inject(code: str, line: str) -> str:
    """Put ``line`` as the first statement of the first step method."""
    marker = "    async def _step_get_order(self, data: HoldLargeOrdersInput) -> str:\n"
    assert marker in code
    return code.replace(marker, marker + "        " + line + "\n")


def test_rendered_code_passes_every_code_rule_and_loads_in_the_sandbox(
    rendered: str, spec: WorkflowSpec, catalog: Catalog
) -> None:
    assert _errors(rendered, catalog, spec, sandbox=True) == []


def _line_of(code: str, text: str) -> int:
    return code[: code.index(text)].count("\n") + 1


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (lambda c: c + "\n# reviewed by alice\n", lambda c: c.count("\n") + 2),
        (
            lambda c: c.replace("maximum_attempts=5", "maximum_attempts=4", 1),
            lambda c: _line_of(c, "maximum_attempts=5"),
        ),
        (lambda c: c.replace("\n", "\r\n"), lambda c: 1),
        (lambda c: c[:-1], lambda c: c.count("\n") + 1),
    ],
)
def test_wf100_refuses_code_that_is_not_the_renderers_output(
    rendered: str, spec: WorkflowSpec, catalog: Catalog, edit, line
) -> None:
    found = _run(edit(rendered), catalog, spec, "WF100")
    assert [f.rule_id for f in found] == ["WF100"]
    message = found[0].message
    assert message.startswith(f"line {line(rendered)}: the code is not what atc renders"), message
    assert message.endswith("fix: edit the spec and let atc render the code")


def test_wf100_refuses_code_without_a_spec_or_with_one_the_renderer_refuses(
    rendered: str, catalog: Catalog
) -> None:
    no_spec = _errors(rendered, catalog, None)
    assert [f.rule_id for f in no_spec] == ["WF100"]
    assert "no valid spec" in no_spec[0].message
    bad = parse_spec(flagship()).model_copy(update={"name": "x; import os"})
    refused = _errors(rendered, catalog, WorkflowSpec.model_construct(**dict(bad)))
    assert [f.rule_id for f in refused] == ["WF100"]
    assert "the renderer refuses the spec" in refused[0].message


def test_rendered_code_for_other_scopes_is_not_the_same_code(
    rendered: str, spec: WorkflowSpec, catalog: Catalog
) -> None:
    ctx = code_context(rendered, catalog, ("orders.read",), spec=spec, sandbox=False)
    assert [f.rule_id for f in get_rule("WF100").run(ctx)] == ["WF100"]


def test_nothing_is_loaded_when_wf100_refuses(spec: WorkflowSpec, catalog: Catalog) -> None:
    # Passes WF101 and WF104 but defines no workflow: loading it would be a WF105 finding.
    code = '"""no workflow here."""\n\nfrom __future__ import annotations\n\nX = 1\n'
    assert [f.rule_id for f in _errors(code, catalog, spec, sandbox=True)] == ["WF100"]


def test_wf105_on_its_own_does_not_load_what_the_other_locks_refuse(
    spec: WorkflowSpec, catalog: Catalog
) -> None:
    code = '"""no workflow here."""\n\nfrom __future__ import annotations\n\nX = 1\n'
    ctx = code_context(code, catalog, FLAGSHIP_SCOPES, spec=spec, sandbox=True)
    found = get_rule("WF105").run(ctx)
    assert [f.rule_id for f in found] == ["WF105"]
    assert found[0].message.startswith("not loaded: WF100 refuse")


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
        "x = format(data.amount, data.order_id)",
    ],
)
def test_the_allow_list_refuses_escapes(
    rendered: str, spec: WorkflowSpec, catalog: Catalog, line: str
) -> None:
    found = _run(_inject(rendered, line), catalog, spec, "WF101")
    assert found, line
    assert all("fix:" in f.message for f in found)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("[workflow][0].now()", "on an expression (Subscript)"),
        ("(data or workflow).now()", "on an expression (BoolOp)"),
        ("self._results.get('x', data).order_id", "on an expression (Call)"),
        ("x = 'text'.upper()", "on an expression (Constant)"),
        ("x = text.__wrapped__", "dunder access"),
        ("x = compare.x", "on `compare`"),
        ("x = StepStatus.step", "on `StepStatus`"),
        ("x = data.missing_field", "not an attribute the renderer uses"),
        ("x = self._path.pop()", "not an attribute the renderer uses"),
        ("x = workflow.now().tzinfo", "on an expression (Call)"),
        ("x = workflow.logger.logger", "`workflow.logger.logger` is not allowed"),
        ("x = workflow.unsafe", "`workflow.unsafe` is allowed only where"),
        ("x = workflow.wait_condition", "may only be called, not stored or passed"),
        ("x = compare", "is used as a value"),
        ("x = CALL_OPERATION", "is used as a value"),
        ("x = [lookup]", "is used as a value"),
        ("x = HoldLargeOrdersInput", "is used as a value"),
        ("self._set_status(text, 'x')", "is used as a value"),
        ("x = workflow.defn", "may only decorate"),
        ("data.order_id = 'other'", "assigning `.order_id` here is not allowed"),
        ("self.run = None", "assigning `.run` here is not allowed"),
        ("x, y = 1, 2", "assign one target at a time"),
        ("(x := 1)", "`NamedExpr` is not allowed"),
        ("for x in [1]:\n            pass", "for loop must be `for <name> in range(<literal>)`"),
        ("x = (lambda: 1)", "a lambda is allowed only as the condition"),
        ("x = f'{data.amount:{data.order_id}}'", "format spec must be a literal"),
        ("x = data.order_id % 1", "`%` formatting of a string that is not a literal"),
        ("x = b'bytes'", "a bytes literal is not allowed"),
        ("x = [i for i in range(3)]", "`ListComp` is not allowed"),
        ("del self._path", "`Delete` is not allowed"),
        ("data.order_id", "an expression statement that is not a call"),
        ("text = str", "`text` is rebound here"),
        ("def inner() -> None:\n            pass", "a def inside a def"),
        ("import asyncio", "imports belong at the top"),
        ("x = steps.get", "on `steps`"),
        ("x = 2 ** 8", "`Pow` is not allowed"),
        ("x = data.order_id\n        x.upper()", "on `x`"),
        ("x = self._sleep('x', timedelta(seconds=1))", "a coroutine must be awaited"),
        ("x = workflow.sleep(timedelta(seconds=1))", "a coroutine must be awaited"),
        ("self._set_status(self._step_ship(data), 'x')", "a coroutine must be awaited"),
        ("x = data.cr_frame", "`.cr_frame` is not allowed"),
    ],
)
def test_the_allow_list_names_what_it_refuses(
    rendered: str, spec: WorkflowSpec, catalog: Catalog, line: str, says: str
) -> None:
    messages = [f.message for f in _run(_inject(rendered, line), catalog, spec, "WF101")]
    assert any(says in m for m in messages), messages


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("    order_id: str\n", '    order_id: str = "x".upper()\n', "body holds a AnnAssign"),
        (
            "    order_id: str\n",
            "    order_id: str\n\n    def __post_init__(self) -> None:\n        pass\n",
            "body holds a FunctionDef",
        ),
        (
            "class HoldLargeOrdersInput:",
            "class HoldLargeOrdersInput(dict):",
            "bases or a metaclass",
        ),
        ('@workflow.defn(name="atc-draft.hold_large_orders")', "@workflow.defn", "needs exactly"),
        (
            '@workflow.defn(name="atc-draft.hold_large_orders")',
            '@workflow.defn(name="atc-draft.hold_large_orders", sandboxed=False)',
            "needs exactly",
        ),
        ("    @workflow.run\n", "    @workflow.run\n    @workflow.run\n", "are not the SDK's"),
        ('@workflow.query(name="status")', "@workflow.query", "are not the SDK's"),
        ("@decide.validator", "@status.validator", "are not the SDK's"),
        ("until: str | None = None", "until: str | None = str()", "is not a literal"),
        ("    def __init__(self)", "    def __init_subclass__(cls)", "special method"),
        (
            "data: HoldLargeOrdersInput) -> dict",
            'data: "HoldLargeOrdersInput") -> dict',
            "a string",
        ),
        ("-> StepStatus:", "-> StepStatus.x:", "not a plain type"),
        ("from __future__ import annotations\n", "", "lacks `from __future__"),
        ("MAX_STEPS = 60\n", "MAX_STEPS = 60\nMAX_STEPS = 61\n", "`MAX_STEPS` is bound twice"),
        ("MAX_STEPS = 60\n", "MAX_STEPS = len(SCOPES)\n", "module-level Assign runs at import"),
        ("MAX_STEPS = 60\n", "__builtins__ = ('x',)\n", "binding the special name `__builtins__`"),
        (
            "    order_id: str\n",
            "    __slots__: tuple = ()\n",
            "binding the special name `__slots__`",
        ),
        ("MAX_STEPS = 60\n", "if SCOPES:\n    pass\n", "module-level If runs at import"),
        ('"""atc drafted', '# -*- coding: utf-7 -*-\n"""atc drafted', "encoding declaration"),
        ("DESCRIPTION = ", "DESCRIPTION = '\u00e9' + ", "non-ASCII or control character"),
        ("DESCRIPTION = ", "DESCRIPTION = '\x0c' + ", "non-ASCII or control character"),
        ("        CallRequest,\n", "        CallRequest,\n        os,\n", "is not allowed; fix"),
        ("from temporalio import workflow\n", "import asyncio as aio\n", "`import asyncio`"),
    ],
)
def test_only_imports_literals_and_sdk_decorators_run_at_import(
    rendered: str, spec: WorkflowSpec, catalog: Catalog, old: str, new: str, says: str
) -> None:
    assert old in rendered
    messages = [f.message for f in _run(rendered.replace(old, new, 1), catalog, spec, "WF101")]
    assert any(says in m for m in messages), messages


def test_direct_network_access_names_the_gateway_activity(
    rendered: str, spec: WorkflowSpec, catalog: Catalog
) -> None:
    found = _run(_inject(rendered, "import httpx"), catalog, spec, "WF101")
    assert any("CALL_OPERATION" in f.message for f in found)


def test_module_level_code_is_refused(rendered: str, spec: WorkflowSpec, catalog: Catalog) -> None:
    found = _run(rendered + "\nprint('side effect at import')\n", catalog, spec, "WF101")
    assert any("runs at import" in f.message for f in found)


def test_edited_calls_are_scope_checked(
    rendered: str, spec: WorkflowSpec, catalog: Catalog
) -> None:
    edited = rendered.replace('operation="orders.cancel"', 'operation="payments.refund"')
    found = _run(edited, catalog, spec, "WF101", "WF102")
    assert [f.rule_id for f in found] == ["WF102"]
    assert "needs payments.refund" in found[0].message
    computed = rendered.replace('operation="orders.cancel"', 'operation="orders." + "cancel"')
    assert any("string literal" in f.message for f in _run(computed, catalog, spec, "WF102"))
    other = rendered.replace("            CALL_OPERATION,\n", '            "atc.other_activity",\n')
    assert "may run only CALL_OPERATION" in _run(other, catalog, spec, "WF102")[0].message


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (
            lambda c: _inject(c, "run_it = workflow.execute_activity"),
            "`execute_activity` may appear only as",
        ),
        (
            lambda c: _inject(c, "await [workflow][0].execute_activity(CALL_OPERATION, None)"),
            "`execute_activity` may appear only as",
        ),
        (lambda c: _inject(c, "await workflow.execute_local_activity('x')"), "`execute_local"),
        (lambda c: _inject(c, "await workflow.start_activity('x')"), "`start_activity`"),
        (lambda c: _inject(c, "await workflow.execute_child_workflow('x')"), "`execute_child"),
        (lambda c: _inject(c, "await workflow.start_child_workflow('x')"), "`start_child"),
        (lambda c: _inject(c, "workflow.continue_as_new(data)"), "`continue_as_new`"),
        (lambda c: _inject(c, "workflow.get_external_workflow_handle('x')"), "`get_external"),
        (lambda c: _inject(c, "workflow.signal_external('x')"), "`signal_external`"),
        (lambda c: _inject(c, "CALL_OPERATION = 'atc.other'"), "`CALL_OPERATION` is rebound"),
        (lambda c: _inject(c, "del CALL_OPERATION"), "`CALL_OPERATION` is rebound"),
        (lambda c: _inject(c, "workflow = data"), "`workflow` is rebound"),
        (lambda c: _inject(c, "x = CallRequest"), "CallRequest may only be called in place"),
        (
            lambda c: c.replace(
                "        request.iteration =",
                "        request.operation = 'x'\n        request.iteration =",
            ),
            "operation may not be changed",
        ),
        (
            lambda c: c.replace(
                "from temporalio import workflow\n", "import temporalio.workflow as workflow\n"
            ),
            "`workflow` must come from temporalio",
        ),
        (
            lambda c: (
                c.replace("        CALL_OPERATION,\n", "", 1)
                + "\nCALL_OPERATION = 'atc.other_activity'\n"
            ),
            "`CALL_OPERATION` is rebound",
        ),
        (
            lambda c: c.replace(
                "            retry_policy=retry,\n",
                "            retry_policy=retry,\n            task_queue='elsewhere',\n",
            ),
            "may not choose its task queue",
        ),
        (
            lambda c: c.replace(
                "            request,\n", "            request,\n            'extra',\n"
            ),
            "may run only CALL_OPERATION",
        ),
    ],
)
def test_only_the_rendered_activity_call_leaves_the_workflow(
    rendered: str, spec: WorkflowSpec, catalog: Catalog, edit, says: str
) -> None:
    edited = edit(rendered)
    assert edited != rendered
    messages = [f.message for f in _run(edited, catalog, spec, "WF102")]
    assert any(says in m for m in messages), messages


def test_edited_timeouts_are_checked(rendered: str, spec: WorkflowSpec, catalog: Catalog) -> None:
    no_timeout = rendered.replace(
        "lambda: step in self._decisions, timeout=timeout", "lambda: step in self._decisions"
    )
    forever = rendered.replace("maximum_attempts=5", "maximum_attempts=0", 1)
    no_start = rendered.replace("            start_to_close_timeout=timeout,\n", "")
    for edited in (no_timeout, forever, no_start):
        assert edited != rendered
        assert [f.rule_id for f in _run(edited, catalog, spec, "WF103")] == ["WF103"]


def test_syntax_errors_are_found_and_nothing_is_loaded(
    rendered: str, spec: WorkflowSpec, catalog: Catalog
) -> None:
    found = _errors(rendered + "\ndef broken(:\n", catalog, spec, sandbox=True)
    assert [f.rule_id for f in found] == ["WF100", "WF101", "WF104"]
    assert "does not parse" in found[1].message


def test_secrets_in_code_literals_are_wf007(
    rendered: str, spec: WorkflowSpec, catalog: Catalog
) -> None:
    edited = rendered.replace('DESCRIPTION = "', 'DESCRIPTION = "sk-abcdefghijklmnopqrstuvwx ', 1)
    assert "WF007" in {f.rule_id for f in _errors(edited, catalog, spec)}


def _deep_sum(terms: int) -> str:
    """A module-level constant ``0 + 0 + ...``: one level of nesting per term."""
    return "X = " + " + ".join(["0"] * terms) + "\n"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (lambda c: c + "#" * (MAX_CODE_BYTES + 1), f"larger than {MAX_CODE_BYTES} bytes"),
        (lambda c: c + _deep_sum(MAX_DEPTH + 50), f"nested deeper than {MAX_DEPTH} levels"),
        (lambda c: c + _deep_sum(100_000), "nested too deeply to parse"),
        (lambda c: c + "X = " + "-" * 100_000 + "1\n", "nested too deeply to parse"),
        (lambda c: c + "X = " + "not " * 100_000 + "1\n", "nested too deeply to parse"),
    ],
    ids=["large", "deep", "deeper", "minus", "not"],
)
def test_code_too_large_or_too_deep_is_a_finding_of_every_code_rule(
    rendered: str, spec: WorkflowSpec, catalog: Catalog, code, says: str
) -> None:
    found = _errors(code(rendered), catalog, spec, sandbox=True)
    by_rule = {f.rule_id: f.message for f in found}
    assert set(by_rule) >= {"WF100", "WF101", "WF102", "WF103", "WF104", "WF105"}
    for rule_id in ("WF101", "WF102", "WF103", "WF104", "WF105"):
        assert says in by_rule[rule_id] and "fix:" in by_rule[rule_id]


@pytest.mark.parametrize(
    "text",
    ["X = 1\x00\n", "X = '\ud800'\n", "\ufeffX = 1\n", "X = 1" + "0" * 5000],
    ids=["nul", "surrogate", "bom", "long-int"],
)
def test_text_that_is_not_python_is_a_finding_not_an_exception(
    spec: WorkflowSpec, catalog: Catalog, text: str
) -> None:
    found = _errors('"""m."""\n\nfrom __future__ import annotations\n\n' + text, catalog, spec)
    assert {"WF100", "WF101"} <= {f.rule_id for f in found}


def _recurse_forever(ctx: RuleContext) -> list[Finding]:
    return _recurse_forever(ctx)


def test_a_rule_that_runs_out_of_stack_reports_an_error_instead_of_raising(
    catalog: Catalog,
) -> None:
    rule = Rule("WF999", "deep", "error", ("code",), "recurses", check=_recurse_forever)
    found = rule.run(RuleContext(catalog=catalog, scopes=()))
    assert [f.rule_id for f in found] == ["WF999"] and found[0].is_error
    assert "RecursionError" in found[0].message and "fix:" in found[0].message


def _nested_dict(depth: int) -> dict:
    doc: dict = {}
    inner = doc
    for _ in range(depth):
        inner["x"] = {}
        inner = inner["x"]
    return doc


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("[" * 100_000 + "]" * 100_000, f"nested deeper than {MAX_JSON_DEPTH} levels"),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, f"nested deeper than {MAX_JSON_DEPTH} levels"),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "nested deeper than"),
        (_nested_dict(100_000), f"nested deeper than {MAX_JSON_DEPTH} levels"),
        ('"' + "a" * (MAX_ANSWER_BYTES + 1) + '"', f"larger than {MAX_ANSWER_BYTES} bytes"),
        (b"\xff\xfe", "not a JSON document"),
        ("1" * 5000, "not a JSON document"),
    ],
    ids=["list", "object", "limit+1", "dict", "large", "bytes", "long-int"],
)
def test_an_answer_too_large_or_too_deep_is_a_schema_finding(
    catalog: Catalog, answer, says: str
) -> None:
    validation = validate_document(answer, catalog, FLAGSHIP_SCOPES, sandbox=False)
    assert [f.rule_id for f in validation.errors] == ["WF001"]
    assert says in validation.errors[0].message
    assert validation.code is None


def test_an_answer_within_the_bounds_still_decodes(catalog: Catalog) -> None:
    doc, error = decode(json.dumps(flagship()))
    assert error is None and doc == flagship()
    deep, error = decode("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert error is None and deep is not None
