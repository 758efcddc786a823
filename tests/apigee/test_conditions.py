"""Apigee conditions: the documented operators, null table, patterns, three-valued logic, columns.

Cases come from the Apigee conditions reference and pattern-matching page (docs/conditions.md lists
the sources) and from conditions seen in real bundles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from copilot.apigee.conditions import UNKNOWN, Condition, parse_condition

ORDERS = '(proxy.pathsuffix MatchesPath "/orders/*") and (request.verb = "GET")'

# condition, values, expected (True / False / None = unknown)
EVALUATE = [
    # documented examples
    (ORDERS, {"proxy.pathsuffix": "/orders/17", "request.verb": "GET"}, True),
    (ORDERS, {"proxy.pathsuffix": "/orders/17", "request.verb": "POST"}, False),
    (ORDERS, {"proxy.pathsuffix": "/orders/17/lines", "request.verb": "GET"}, False),
    ('request.header.accept = "application/json"', {"request.header.accept": "text/xml"}, False),
    (
        "(response.status.code = 503) or (response.status.code = 400)",
        {"response.status.code": 400},
        True,
    ),
    (
        "(response.status.code = 503) or (response.status.code = 400)",
        {"response.status.code": 404},
        False,
    ),
    ('request.queryparam.test = "spikearrest"', {"request.queryparam.test": "spikearrest"}, True),
    ('request.queryparam.test = "spikearrest"', {"request.queryparam.test": "SpikeArrest"}, False),
    ('request.verb != "OPTIONS"', {"request.verb": "GET"}, True),
    ('request.verb != "OPTIONS"', {"request.verb": "OPTIONS"}, False),
    ('(fault.name = "SpikeArrestViolation")', {"fault.name": "SpikeArrestViolation"}, True),
    ('proxy.pathsuffix ~~ "/v1/orders/[0-9]+"', {"proxy.pathsuffix": "/v1/orders/42"}, True),
    # JavaRegex must match the whole value, not a part of it
    ('proxy.pathsuffix ~~ "/v1/orders/[0-9]+"', {"proxy.pathsuffix": "/v1/orders/42/lines"}, False),
    ('proxy.pathsuffix JavaRegex "/c*t"', {"proxy.pathsuffix": "/cat"}, False),
    ('proxy.pathsuffix JavaRegex "/[cbr]at"', {"proxy.pathsuffix": "/bat"}, True),
    ('proxy.pathsuffix ~~ "\\d+"', {"proxy.pathsuffix": "123"}, True),
    ('proxy.pathsuffix ~~ "\\d+"', {"proxy.pathsuffix": "١٢٣"}, False),  # Java's \d is ASCII
    ('x ~~ "\\Qa.b\\E"', {"x": "a.b"}, True),
    ('x ~~ "\\Qa.b\\E"', {"x": "axb"}, False),
    ('x ~~ "(?<id>[a-z]+)-\\k<id>"', {"x": "ab-ab"}, True),
    ('x ~~ "(?i)get"', {"x": "GET"}, True),
    (
        'jwt.JWT-Verify.claim.scope ~~ "(^| )orders[.]read( |$)"',
        {"jwt.JWT-Verify.claim.scope": "orders.read"},
        True,
    ),
    # whole-value match: the pattern does not say ".*" around it, so a longer scope list fails
    (
        'jwt.JWT-Verify.claim.scope ~~ "(^| )orders[.]read( |$)"',
        {"jwt.JWT-Verify.claim.scope": "openid orders.read"},
        False,
    ),
    (
        'jwt.JWT-Verify.claim.scope ~~ ".*(^| )orders[.]read( |$).*"',
        {"jwt.JWT-Verify.claim.scope": "openid orders.read email"},
        True,
    ),
    # null: the header is present in the record but null at runtime
    ("request.header.x-api-key != null", {"request.header.x-api-key": "k1"}, True),
    ("request.header.x-api-key != null", {"request.header.x-api-key": None}, False),
    ("request.header.x-api-key = null", {"request.header.x-api-key": None}, True),
    ('request.header.x = "a"', {"request.header.x": None}, False),
    ('request.header.x != "a"', {"request.header.x": None}, True),
    ("request.queryparam.country IsNot null", {"request.queryparam.country": "IN"}, True),
    ("request.header.host is null", {"request.header.host": None}, True),
    ('x =| "a"', {"x": None}, False),
    ('x ~ "*"', {"x": None}, False),
    ("x > 5", {"x": None}, True),  # documented: LHS null makes > true
    ("x >= 5", {"x": None}, False),
    ("x < 5", {"x": None}, True),
    ("x <= 5", {"x": None}, True),
    ("x > null", {"x": 3}, False),
    ("x >= null", {"x": 3}, True),
    ("x <= null", {"x": None}, True),
    ('x !~ "a*"', {"x": None}, True),
    ('x !~ "a*"', {"x": "abc"}, False),
    ('x !~ "a*"', {"x": "bcd"}, True),
    # NaN from a DataFrame is null too
    ("request.header.x-api-key != null", {"request.header.x-api-key": float("nan")}, False),
    # negation
    ('!(request.verb = "POST")', {"request.verb": "POST"}, False),
    ('!(request.verb = "POST")', {"request.verb": "GET"}, True),
    ('not (request.verb = "POST")', {"request.verb": "GET"}, True),
    ('NOT request.verb = "POST"', {"request.verb": "POST"}, False),
    ('x NOT StartsWith "ab"', {"x": "abc"}, False),
    ('x not ~~ "[0-9]+"', {"x": "abc"}, True),
    ("!valid", {"valid": "false"}, True),
    ("Not valid", {"valid": True}, False),
    ("flow.cachehit is true", {"flow.cachehit": True}, True),
    ("flow.cachehit is true", {"flow.cachehit": "true"}, True),
    ("flow.cachehit = false", {"flow.cachehit": True}, False),
    # numbers: a number-like value against a number literal compares numerically
    ("response.status.code >= 500", {"response.status.code": 503}, True),
    ("response.status.code >= 500", {"response.status.code": "503"}, True),
    ("response.status.code >= 500", {"response.status.code": "1000"}, True),
    ("response.status.code >= 500", {"response.status.code": 404.0}, False),
    ("response.status.code GreaterThanOrEquals 500", {"response.status.code": 500}, True),
    ("response.status.code LesserThan 500", {"response.status.code": 200}, True),
    ('response.status.code = "400"', {"response.status.code": 400}, True),  # documented equivalence
    ("response.status.code = 400", {"response.status.code": "400"}, True),
    ("x = 1.5f", {"x": "1.5"}, True),
    ("x = 12321421312L", {"x": 12321421312}, True),
    ("x = -3", {"x": "-3.0"}, True),
    ('x > "b"', {"x": "c"}, True),  # strings order lexically
    ('x =| "4"', {"x": 404.0}, True),  # a whole float reads as an integer
    # case
    ('request.verb := "get"', {"request.verb": "GET"}, True),
    ('request.verb EqualsCaseInsensitive "get"', {"request.verb": "Get"}, True),
    ('request.verb == "get"', {"request.verb": "GET"}, False),
    ('client_id == "abc"', {"client_id": "abc"}, True),
    ('request.verb equals "GET"', {"request.verb": "GET"}, True),
    ('request.verb NOTEQUALS "GET"', {"request.verb": "GET"}, False),
    (
        'request.header.authorization StartsWith "Bearer "',
        {"request.header.authorization": "Bearer x"},
        True,
    ),
    (
        'request.header.authorization =| "Bearer "',
        {"request.header.authorization": "bearer x"},
        False,
    ),
    # Matches: "*" is any characters, "%" escapes, whole value, case-sensitive
    ('proxy.pathsuffix Matches "/cat"', {"proxy.pathsuffix": "/cat"}, True),
    ('proxy.pathsuffix Matches "/cat"', {"proxy.pathsuffix": "/cat/wild"}, False),
    ('proxy.pathsuffix Matches "/*at"', {"proxy.pathsuffix": "/bat"}, True),
    ('proxy.pathsuffix Like "/*"', {"proxy.pathsuffix": "/animals/cat"}, True),
    ('proxy.pathsuffix ~ "/c%*at"', {"proxy.pathsuffix": "/c*at"}, True),
    ('proxy.pathsuffix ~ "/c%*at"', {"proxy.pathsuffix": "/cat"}, False),
    ('proxy.pathsuffix ~ "/cat"', {"proxy.pathsuffix": "/Cat"}, False),
    ('proxy.pathsuffix ~ "a?c"', {"proxy.pathsuffix": "abc"}, False),  # "?" is literal in Matches
    # MatchesPath: "*" one segment, "**" any number of segments
    ('proxy.pathsuffix MatchesPath "/animals/*"', {"proxy.pathsuffix": "/animals/cat"}, True),
    ('proxy.pathsuffix MatchesPath "/animals/*"', {"proxy.pathsuffix": "/animals/cat/wild"}, False),
    (
        'proxy.pathsuffix MatchesPath "/animals/**"',
        {"proxy.pathsuffix": "/animals/cat/wild/african"},
        True,
    ),
    (
        'proxy.pathsuffix LikePath "/animals/*/wild/**"',
        {"proxy.pathsuffix": "/animals/cat/wild/african"},
        True,
    ),
    (
        'proxy.pathsuffix ~/ "/animals/*/wild/**"',
        {"proxy.pathsuffix": "/animals/cat/tame/african"},
        False,
    ),
    ('request.path ~/ "/*/a/*/feed/"', {"request.path": "/y/a/foo/feed/"}, True),
    ('request.path ~/ "/a/**/feed/**"', {"request.path": "/a/b/feed/rss/1234"}, True),
    ('request.path ~/ "/a/**/feed"', {"request.path": "/a/feed"}, True),
    ('request.path ~/ "**/india/blr/**"', {"request.path": "/x/india/blr/y"}, True),
    ('request.path ~/ "/%{user%}"', {"request.path": "/{user}"}, True),
    ('request.path ~/ "/statuses"', {"request.path": "/statuses/1"}, False),
    # strings: only \" is unescaped, so a regex keeps its backslashes
    (r'x = "say \"hi\""', {"x": 'say "hi"'}, True),
    (r'x ~~ "a\\"', {"x": "a\\"}, True),
    (r'x ~~ "a\."', {"x": "ab"}, False),
    # quoted names hold operator characters
    ("'request.header.help!me' = \"x\"", {"request.header.help!me": "x"}, True),
    # a variable on the right
    (
        "request.header.a = request.header.b",
        {"request.header.a": "1", "request.header.b": "1"},
        True,
    ),
    # an unquoted word on the right is a variable, not text
    ("request.verb = GET", {"request.verb": "GET"}, UNKNOWN),
    ("request.verb = GET", {"request.verb": "GET", "GET": None}, False),
    # precedence: NOT, then comparisons, then AND, then OR (Java's)
    ("a = 1 or b = 1 and c = 1", {"a": 1, "b": 0, "c": 0}, True),
    ("(a = 1 or b = 1) and c = 1", {"a": 1, "b": 0, "c": 0}, False),
    ("a = 1 || b = 1 && c = 1", {"a": 1, "b": 0, "c": 0}, True),
    # three-valued logic: a header atc's logs do not have is unknown
    ('request.header.x-test = "1"', {}, UNKNOWN),
    ('request.header.x-test = "1" and request.verb = "GET"', {"request.verb": "POST"}, False),
    ('request.header.x-test = "1" and request.verb = "GET"', {"request.verb": "GET"}, UNKNOWN),
    ('request.header.x-test = "1" or request.verb = "GET"', {"request.verb": "GET"}, True),
    ('request.header.x-test = "1" or request.verb = "GET"', {"request.verb": "POST"}, UNKNOWN),
    ('!(request.header.x-test = "1")', {}, UNKNOWN),
    ("valid", {}, UNKNOWN),
    # constants and the empty condition
    ("", {}, True),
    ("   \n ", {}, True),
    ("true", {}, True),
    ("false or x = 1", {"x": 1}, True),
]


@pytest.mark.parametrize(("text", "values", "expected"), EVALUATE)
def test_evaluate_follows_apigee(text: str, values: dict, expected: bool | None) -> None:
    cond = parse_condition(text)
    assert cond.problem is None
    assert cond.evaluate(values) is expected


@pytest.mark.parametrize(("text", "values", "expected"), EVALUATE)
def test_evaluate_columns_agrees_on_the_documented_cases(text: str, values: dict, expected) -> None:
    cond = parse_condition(text)
    columns = {name: np.array([value, value], dtype=object) for name, value in values.items()}
    true, unknown = cond.evaluate_columns(columns, 2)
    assert list(true) == [expected is True] * 2
    assert list(unknown) == [expected is None] * 2


# text, a word from the expected one-sentence reason
PROBLEMS = [
    ('request.verb = "GET', "never closed"),
    ('(request.verb = "GET"', "never closed"),
    ('request.verb = "GET")', "Unexpected"),
    ("request.verb =", "ends too early"),
    ('request.verb = "GET" and', "ends too early"),
    ('request.verb # "GET"', "Unexpected character"),
    ('"GET"', "alone is not a condition"),
    ('x = "a" = "b"', "Unexpected"),
    ("x ~~ y", "quoted pattern"),
    ('x ~~ "\\p{Alpha}+"', "Unicode property"),
    ('x ~~ "[a-z&&[^e]]"', "intersections"),
    ('x ~~ "\\h+"', "no Python equivalent"),
    ('x ~~ "(unclosed"', "not a regular expression"),
    ('x ~~ "[abc"', "unclosed"),
    ('x ~~ "a(?i)b"', "not a regular expression"),  # mid-pattern flags: Java yes, Python no
    ("x = 'y", "never closed"),
    ('x = "a" ' + "and " * 3, "Unexpected"),
    ("(" * 150 + 'x = "a"' + ")" * 150, "nests deeper"),
    ("!" * 150 + 'x = "a"', "nests deeper"),
    ('x = "' + "a" * 5000 + '"', "longer than"),
]


@pytest.mark.parametrize(("text", "reason"), PROBLEMS)
def test_unreadable_condition_has_a_problem_and_is_unknown(text: str, reason: str) -> None:
    cond = parse_condition(text)
    assert cond.problem is not None and reason in cond.problem
    assert cond.problem.endswith(".") and "\n" not in cond.problem
    assert cond.evaluate({"x": "a", "request.verb": "GET", "y": "a"}) is UNKNOWN
    true, unknown = cond.evaluate_columns({"x": np.array(["a"], dtype=object)}, 1)
    assert not true.any() and unknown.all()
    assert not cond.always


@pytest.mark.parametrize("junk", [None, 42, "\x00", "\u2028", "((((((((", "&&", "!"])
def test_parse_condition_never_raises(junk) -> None:
    cond = parse_condition(junk)
    assert isinstance(cond, Condition)


def test_variables_are_listed_as_written() -> None:
    cond = parse_condition(
        '(proxy.pathsuffix MatchesPath "/o/*") and request.header.X-Api-Key != null '
        "or !jwt.JWT-Verify.claim.azp or a = b"
    )
    assert cond.variables == {
        "proxy.pathsuffix",
        "request.header.X-Api-Key",
        "jwt.JWT-Verify.claim.azp",
        "a",
        "b",
    }
    assert cond.unavailable(["proxy.pathsuffix", "a", "b"]) == {
        "request.header.X-Api-Key",
        "jwt.JWT-Verify.claim.azp",
    }


@pytest.mark.parametrize(
    ("text", "mixed"),
    [
        ("a = 1 or b = 1 and c = 1", True),
        ("a = 1 and b = 1 || c = 1", True),
        # a real sample (apigee-samples, mcp-spec-tools) reads differently left to right
        ('((x = null) or (x = "") and (y = null) or (y = ""))', True),
        ("(a = 1 or b = 1) and c = 1", False),
        ("a = 1 or (b = 1 and c = 1)", False),
        ("a = 1 and b = 1 and c = 1", False),
        ("a = 1 or b = 1 or c = 1", False),
        ("!(a = 1 and b = 1) or c = 1", False),
    ],
)
def test_note_when_and_or_mix_without_parentheses(text: str, mixed: bool) -> None:
    cond = parse_condition(text)
    assert cond.problem is None
    assert (cond.note is not None) is mixed
    assert (cond.and_(parse_condition("d = 1")).note is not None) is mixed


def test_renamed_reads_other_names_but_keeps_literals() -> None:
    cond = parse_condition('Request.Verb = "Request.Verb" and !(Request.Header.X = Other) or Flag')
    low = cond.renamed(str.lower)
    assert low.variables == {"request.verb", "request.header.x", "other", "flag"}
    assert low.text == cond.text and low.problem is None
    assert low.evaluate({"request.verb": "Request.Verb", "request.header.x": 1, "other": 2}) is True
    assert low.evaluate({"request.verb": "request.verb", "flag": False}) is False


def test_always_only_for_the_empty_condition() -> None:
    assert parse_condition("").always and parse_condition("  ").always
    assert not parse_condition("true").always
    assert not parse_condition('request.verb = "GET"').always


def test_and_keeps_kleene_logic_across_an_unreadable_part() -> None:
    flow = parse_condition('request.verb = "GET"')
    step = parse_condition('request.header.x ~~ "\\p{L}"')  # unreadable: unknown everywhere
    both = flow.and_(step)
    assert both.problem == step.problem
    assert both.evaluate({"request.verb": "POST"}) is False
    assert both.evaluate({"request.verb": "GET"}) is UNKNOWN
    assert both.variables == {"request.verb"}


def test_and_is_a_conjunction_and_an_empty_side_is_the_other() -> None:
    unconditional = parse_condition("")
    verb = parse_condition('request.verb = "GET"')
    assert unconditional.and_(verb) is verb and verb.and_(unconditional) is verb
    three = verb.and_(parse_condition('proxy.pathsuffix ~/ "/o/**"')).and_(
        parse_condition("x > 1")
    )
    assert three.evaluate({"request.verb": "GET", "proxy.pathsuffix": "/o/1", "x": 2}) is True
    assert three.evaluate({"request.verb": "GET", "proxy.pathsuffix": "/o/1", "x": 1}) is False
    assert (
        parse_condition(three.text).evaluate(
            {"request.verb": "GET", "proxy.pathsuffix": "/p", "x": 2}
        )
        is False
    )


def test_and_of_many_steps_stays_flat() -> None:
    many = parse_condition("")
    for i in range(2000):
        many = many.and_(parse_condition(f"v{i} = {i}"))
    assert many.evaluate({f"v{i}": i for i in range(2000)}) is True
    assert many.evaluate({"v7": 0}) is False


def test_columns_accept_series_arrays_and_missing_values() -> None:
    cond = parse_condition('response.status.code >= 500 and request.verb != "OPTIONS"')
    columns = {
        "response.status.code": pd.Series([503, 200, None, 500], dtype="Int64"),
        "request.verb": np.array(["GET", "GET", "GET", "OPTIONS"], dtype=object),
    }
    true, unknown = cond.evaluate_columns(columns, 4)
    # a null status makes ">=" false (Apigee's null table), so the third row is false, not unknown
    assert true.tolist() == [True, False, False, False]
    assert unknown.tolist() == [False] * 4
    missing = cond.evaluate_columns({"request.verb": columns["request.verb"]}, 4)
    assert missing[0].tolist() == [False] * 4
    assert missing[1].tolist() == [True, True, True, False]  # OPTIONS decides it alone


def test_columns_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(ValueError, match="rows"):
        parse_condition('a = "x"').evaluate_columns({"a": np.array(["x"])}, 2)


def _random_table(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    verbs = np.array(["GET", "POST", "get", "OPTIONS", None, "DELETE"], dtype=object)
    paths = np.array(
        ["/orders/1", "/orders/1/lines", "/v1/orders/42", "/cat", "/c*at", None, ""], dtype=object
    )
    codes = np.array(
        [200, 404, 429, 500, 503, "503", "abc", None, float("nan"), 499.0], dtype=object
    )
    keys = np.array(
        ["k1", "K1", None, "Bearer x", "true", "false", True, 1, 0.0, np.False_], dtype=object
    )
    return {
        "request.verb": rng.choice(verbs, n),
        "proxy.pathsuffix": rng.choice(paths, n),
        "response.status.code": rng.choice(codes, n),
        "request.header.x-api-key": rng.choice(keys, n),
        "other.key": rng.choice(keys, n),
    }


PROPERTY_CONDITIONS = [
    ORDERS,
    '(proxy.pathsuffix ~~ "/v1/orders/[0-9]+" or proxy.pathsuffix ~ "/c%*at") and not (request.verb := "get")',
    "response.status.code >= 500 || response.status.code = 429 && request.header.x-api-key != null",
    'response.status.code < 450 and request.header.x-absent = "1"',
    'request.header.x-absent = "1" or !(request.verb = "POST")',
    "request.header.x-api-key = other.key or request.header.x-api-key > other.key",
    'request.header.x-api-key or other.key =| "B" or proxy.pathsuffix !~ "/orders*"',
    'not (response.status.code <= 499) and request.header.x-api-key NOT StartsWith "k"',
    'other.key = 1 or other.key = true or other.key := "TRUE" or other.key < 0.5',
]


@pytest.mark.parametrize("text", PROPERTY_CONDITIONS)
def test_evaluate_columns_agrees_with_evaluate_row_by_row(text: str) -> None:
    rng = np.random.default_rng(sum(map(ord, text)))
    n = 3000
    columns = _random_table(rng, n)
    cond = parse_condition(text)
    assert cond.problem is None
    true, unknown = cond.evaluate_columns(columns, n)
    outcomes = set()
    for i in range(n):
        row = {name: col[i] for name, col in columns.items()}
        expected = cond.evaluate(row)
        outcomes.add(expected)
        assert (bool(true[i]), bool(unknown[i])) == (expected is True, expected is None), (i, row)
    assert len(outcomes) >= 2  # the table exercises more than one outcome
