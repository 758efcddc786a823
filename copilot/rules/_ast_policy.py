"""What WF101 allows in drafted code: the names, attributes and syntax the renderer writes.

Everything here is an allow-list except the ``DENIED*`` sets, which only make
the message for the usual escapes clearer: a name or attribute absent from the
allow-lists is refused whether or not it is listed as denied.
"""

from __future__ import annotations

import ast
import dataclasses

from workflows.runtime import shared

ALLOWED_FROM = {
    "__future__": {"annotations"},
    "dataclasses": {"dataclass", "field"},
    "datetime": {"timedelta"},
    "typing": {"Any"},
    "temporalio": {"workflow"},
    "temporalio.common": {"RetryPolicy"},
    "temporalio.exceptions": {"ApplicationError"},
    "workflows.runtime.shared": set(shared.__all__),
}
ALLOWED_IMPORT = {"asyncio"}
MODULES = {"workflow": "temporalio.workflow", "asyncio": "asyncio"}
# Module functions a workflow may call (only ever called: never stored, passed or aliased).
MODULE_CALLS = {
    "workflow": {"execute_activity", "wait_condition", "sleep", "now", "info"},
    "asyncio": {"gather"},
}
# ``workflow.<x>`` that may appear only in the exact places the renderer writes them.
WORKFLOW_DECORATORS = {"defn", "run", "query", "update", "signal"}
LOG_METHODS = {"debug", "info", "warning", "error"}
LIST_METHODS = {"append", "extend", "count"}
DICT_METHODS = {"get", "setdefault"}
# Fields of a dataclass parameter the renderer assigns (``request.iteration = ...``).
FIELD_WRITES = {"CallRequest": {"iteration"}}
SHARED_DATACLASSES = {
    name: {f.name for f in dataclasses.fields(obj)}
    for name in shared.__all__
    if isinstance(obj := getattr(shared, name), type) and dataclasses.is_dataclass(obj)
}
SAFE_BUILTINS = {
    "str", "int", "float", "bool", "dict", "list", "tuple", "set", "len", "range", "min", "max",
    "abs", "round", "sorted", "enumerate", "zip", "any", "all", "isinstance", "TimeoutError",
    "ValueError", "KeyError", "True", "False", "None",
}  # fmt: skip
TYPE_NAMES = {"str", "int", "float", "bool", "dict", "list", "tuple", "set", "None", "Any"}
GENERIC_TYPES = {"dict", "list", "tuple", "set"}
DENIED = {
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars", "getattr",
    "setattr", "delattr", "hasattr", "breakpoint", "input", "memoryview", "type", "object",
    "super", "help", "exit", "quit", "print", "id", "dir", "format", "classmethod",
    "staticmethod", "property", "iter", "next", "callable", "issubclass", "__build_class__",
    "__builtins__", "__loader__", "__spec__",
}  # fmt: skip
DENIED_MODULES = {
    "sys", "builtins", "importlib", "os", "subprocess", "ctypes", "gc", "inspect", "types",
    "pickle", "marshal", "code", "codecs", "operator", "functools", "shutil", "pathlib", "io",
    "threading", "multiprocessing", "signal", "posix", "runpy", "pty", "tempfile",
}  # fmt: skip
NETWORK = {"httpx", "requests", "urllib", "urllib3", "socket", "http", "aiohttp", "ssl", "grpc"}
# Attributes that reach interpreter internals (frames, code, tracebacks) or dunders through
# a string: refused on every owner, even a dataclass that declares a field of that name.
DENIED_ATTRS = {
    "format", "format_map", "mro", "with_traceback", "attrgetter", "methodcaller",
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "cr_origin",
    "ag_frame", "ag_code", "ag_await", "f_globals", "f_locals", "f_builtins", "f_back",
    "f_code", "f_trace", "tb_frame", "tb_next", "co_code", "co_consts", "co_names",
    "get_coro", "get_stack", "print_stack",
}  # fmt: skip
# Calls that make a coroutine or a task: awaited where they are made, never held as values
# (an unawaited coroutine carries a frame, and its frame the module's globals).
AWAITED_CALLS = {"workflow.sleep", "workflow.wait_condition", "workflow.execute_activity"}
# Syntax the renderer writes (plus a few plain expressions); every other node is refused.
ALLOWED_NODES = (
    ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Return, ast.Assign,
    ast.AnnAssign, ast.For, ast.While, ast.If, ast.With, ast.Raise, ast.Try, ast.Import,
    ast.ImportFrom, ast.Expr, ast.Pass, ast.Break, ast.Continue, ast.BoolOp, ast.BinOp,
    ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set, ast.Compare, ast.Call, ast.Await,
    ast.JoinedStr, ast.FormattedValue, ast.Constant, ast.Attribute, ast.Subscript, ast.Name,
    ast.List, ast.Tuple, ast.Slice, ast.Load, ast.Store, ast.arguments, ast.arg, ast.keyword,
    ast.alias, ast.withitem, ast.ExceptHandler, ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult,
    ast.Div, ast.FloorDiv, ast.Mod, ast.BitOr, ast.Not, ast.USub, ast.UAdd, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
)  # fmt: skip
CONSTANT_TYPES = (str, int, float, bool, type(None))
# Why some refused syntax is refused (the rest: "not something the renderer writes").
NODE_REASONS = {
    "Global": "keep state on self",
    "Nonlocal": "keep state on self",
    "Match": "class patterns read attributes by name; use if/elif",
    "NamedExpr": "an assignment inside an expression can alias anything; assign on its own line",
    "Delete": "`del` can unbind the gateway activity or the helpers",
    "Yield": "generators expose their frames",
    "YieldFrom": "generators expose their frames",
    "GeneratorExp": "generators expose their frames",
    "Starred": "unpacking hides what is passed",
}
