"""servicekit.strictjson: the scan before parsing, and the strict parser, on their edges."""

from __future__ import annotations

import json

import pytest

from servicekit.strictjson import JsonRejected, Limits, is_json_media_type, json_nesting_exceeds, loads_strict

SMALL = Limits(max_body_bytes=1000, max_depth=3, max_string_bytes=8)


@pytest.mark.parametrize(
    "body, value",
    [
        (b'{"a":[1,{"b":2}]}', {"a": [1, {"b": 2}]}),  # depth 3: at the limit
        (b'{"k":"[[[[[[[["}', {"k": "[[[[[[[["}),  # brackets inside a string do not nest
        (b'{"k":"\\"[[[[[["}', {"k": '"[[[[[['}),  # an escaped quote does not end the string
        (b'{"k":"\\\\"}', {"k": "\\"}),  # an escaped backslash, then the closing quote
        (b'{"k":"12345678"}', {"k": "12345678"}),  # 8 bytes: at the string limit
        (b'{"k":"\\u00e9"}', {"k": "\u00e9"}),
        (b"[1.5, -0, 1e308]", [1.5, 0, 1e308]),
        (b'"\xc3\xa9"', "\u00e9"),
    ],
)
def test_accepted(body, value):
    assert loads_strict(body, SMALL) == value


@pytest.mark.parametrize(
    "body, why",
    [
        (b'{"a":[1,{"b":[2]}]}', "nested deeper than 3"),
        (b'{"k":"123456789"}', "longer than 8"),
        (b'{"123456789":1}', "longer than 8"),
        (b'{"k":"\\\\\\"[[[[["}', "longer than 8"),  # escapes count as their bytes
        (b'"unterminated' + b"x" * 20, "longer than 8"),
        (b'{"a":1,"a":1}', "duplicate key"),
        (b"[NaN]", "NaN"),
        (b"[-Infinity]", "-Infinity"),
        (b"[1e400]", "overflows"),
        (b'["\\udc00"]', "lone surrogate"),
        (b'["\xed\xa0\x80"]', "not UTF-8"),  # a surrogate encoded in UTF-8 is not UTF-8
        (b"\xef\xbb\xbf[]", "byte-order mark"),
        (b"[1,]", "not JSON"),
        (b"", "not JSON"),
        (b"x" * 1001, "at most 1000 bytes"),
    ],
)
def test_refused(body, why):
    with pytest.raises(JsonRejected, match=why.replace("(", r"\(")):
        loads_strict(body, SMALL)


def test_a_surrogate_pair_is_one_character_not_a_lone_surrogate():
    assert loads_strict(b'{"k":"\\ud83d\\ude00"}') == {"k": "\U0001f600"}


def test_the_scan_is_linear_and_safe_on_100k_brackets():
    assert json_nesting_exceeds(b"[" * 100_000, 32)
    assert not json_nesting_exceeds(json.dumps([[[]]]).encode(), 3)
    with pytest.raises(JsonRejected, match="nested"):
        loads_strict(b"[" * 100_000)


@pytest.mark.parametrize(
    "ctype, ok",
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ('application/json;charset="UTF8"', True),
        ("application/problem+json", True),
        ("application/json; charset=iso-8859-1", False),
        ("text/json", False),
        ("text/plain", False),
        ("", False),
        ("application/jsonx", False),
        ("multipart/form-data; boundary=x", False),
    ],
)
def test_media_types(ctype, ok):
    assert is_json_media_type(ctype) is ok


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Limits(max_depth=0)
