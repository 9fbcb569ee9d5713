"""Structural comparison of webservice responses: same keys, value types and element trees, not values."""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

ANY = ("any",)


def content_family(content_type: str | None, body: bytes) -> tuple[str, bool]:
    """("json"|"xml"|"html"|"none"|"other", body is empty)."""
    ct = (content_type or "").lower()
    if not ct:
        family = "none"
    elif "json" in ct:
        family = "json"
    elif "xml" in ct:
        family = "xml"
    elif "html" in ct:
        family = "html"
    else:
        family = "other"
    return family, not body.strip()


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def json_shape(value: Any) -> tuple[Any, ...]:
    """Shape of a JSON value; id-keyed objects ({"2": {...}}) are treated like lists."""
    if isinstance(value, dict):
        if value and all(k.isdigit() for k in value):
            return _list_shape(list(value.values()))
        return ("obj", {k: json_shape(v) for k, v in value.items()})
    if isinstance(value, list):
        return _list_shape(value)
    return ("scalar", frozenset({_scalar(value)}))


def _list_shape(items: list[Any]) -> tuple[Any, ...]:
    shape: tuple[Any, ...] | None = None
    for item in items:
        s = json_shape(item)
        shape = s if shape is None else merge(shape, s)
    return ("list", shape)


def merge(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    """Union of two shapes (used for the elements of one list)."""
    if a == ANY or b == ANY or a[0] != b[0]:
        return ANY
    if a[0] == "scalar":
        return ("scalar", a[1] | b[1])
    if a[0] == "list":
        if a[1] is None or b[1] is None:
            return ("list", a[1] if b[1] is None else b[1])
        return ("list", merge(a[1], b[1]))
    keys = dict(a[1])
    for k, v in b[1].items():
        keys[k] = merge(keys[k], v) if k in keys else v
    return ("obj", keys)


def compare_shapes(expected: tuple[Any, ...], actual: tuple[Any, ...], path: str = "$") -> list[str]:
    """Differences between a captured shape and ours (empty list = structurally equal)."""
    if expected == ANY or actual == ANY:
        return []
    if expected[0] != actual[0]:
        return [f"{path}: expected {expected[0]}, got {actual[0]}"]
    if expected[0] == "scalar":
        extra = actual[1] - expected[1]
        return [f"{path}: value type {sorted(extra)} not in captured {sorted(expected[1])}"] if extra else []
    if expected[0] == "list":
        if expected[1] is None or actual[1] is None:
            return []
        return compare_shapes(expected[1], actual[1], path + "[]")
    diffs = []
    exp_keys, act_keys = set(expected[1]), set(actual[1])
    if exp_keys - act_keys:
        diffs.append(f"{path}: missing keys {sorted(exp_keys - act_keys)}")
    if act_keys - exp_keys:
        diffs.append(f"{path}: unexpected keys {sorted(act_keys - exp_keys)}")
    for key in sorted(exp_keys & act_keys):
        diffs.extend(compare_shapes(expected[1][key], actual[1][key], f"{path}.{key}"))
    return diffs


def compare_json(expected_text: str, actual_text: str) -> list[str]:
    """Structural differences between two JSON documents."""
    try:
        actual = json.loads(actual_text)
    except ValueError as exc:
        return [f"our body is not JSON: {exc}"]
    return compare_shapes(json_shape(json.loads(expected_text)), json_shape(actual))


def xml_shape(el: Element) -> tuple[str, dict[str, Any]]:
    """(tag, {child tag: merged child shape}); repeated siblings collapse into one."""
    children: dict[str, Any] = {}
    for child in el:
        shape = xml_shape(child)
        children[child.tag] = _merge_xml(children[child.tag], shape) if child.tag in children else shape
    return el.tag, children


def _merge_xml(a: tuple[str, dict[str, Any]], b: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    kids = dict(a[1])
    for tag, shape in b[1].items():
        kids[tag] = _merge_xml(kids[tag], shape) if tag in kids else shape
    return a[0], kids


def compare_xml_shapes(expected: tuple[str, dict[str, Any]], actual: tuple[str, dict[str, Any]],
                       path: str = "") -> list[str]:
    """Differences between element trees; an element without children matches any content."""
    here = f"{path}/{expected[0]}"
    if expected[0] != actual[0]:
        return [f"{path}: expected <{expected[0]}>, got <{actual[0]}>"]
    if not expected[1] or not actual[1]:
        return []
    diffs = []
    exp, act = set(expected[1]), set(actual[1])
    if exp - act:
        diffs.append(f"{here}: missing elements {sorted(exp - act)}")
    if act - exp:
        diffs.append(f"{here}: unexpected elements {sorted(act - exp)}")
    for tag in sorted(exp & act):
        diffs.extend(compare_xml_shapes(expected[1][tag], actual[1][tag], here))
    return diffs


def compare_xml(expected_text: str, actual_text: str) -> list[str]:
    """Structural differences between two XML documents."""
    try:
        actual = SafeET.fromstring(actual_text.encode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a difference
        return [f"our body is not XML: {exc}"]
    return compare_xml_shapes(xml_shape(SafeET.fromstring(expected_text.encode("utf-8"))), xml_shape(actual))
