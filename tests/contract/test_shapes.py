"""The structural comparator must accept equal shapes and reject different ones."""

from __future__ import annotations

from tests.contract.shapes import compare_json, compare_xml, content_family


def test_same_structure_different_values_matches() -> None:
    a = '{"orders":[{"id":1,"date_upd":"2026-11-27 04:55:26","total":"2080.000000"}]}'
    b = '{"orders":[{"id":7,"date_upd":"2027-01-01 00:00:00","total":"1.000000"},{"id":8,"date_upd":"x","total":"2"}]}'
    assert compare_json(a, b) == []


def test_rejects_different_key_set() -> None:
    a = '{"orders":[{"id":1,"date_upd":"2026-11-27 04:55:26"}]}'
    b = '{"orders":[{"id":1,"date_add":"2026-11-27 04:55:26"}]}'
    diffs = compare_json(a, b)
    assert any("missing keys ['date_upd']" in d for d in diffs)
    assert any("unexpected keys ['date_add']" in d for d in diffs)


def test_rejects_different_value_type() -> None:
    assert compare_json('{"booking":{"id":1}}', '{"booking":{"id":"1"}}')
    assert compare_json('{"a":[1]}', '{"a":{"b":1}}')


def test_bare_empty_list_differs_from_wrapped_list() -> None:
    assert compare_json("[]", '{"orders":[]}')
    assert compare_json('{"orders":[{"id":1}]}', "[]")
    assert compare_json("[]", "[]") == []


def test_int_and_float_are_both_numbers_and_id_keyed_objects_are_lists() -> None:
    assert compare_json('{"p":2000}', '{"p":3846.15}') == []
    assert compare_json('{"available":{"2":{"id_room":2}}}', '{"available":[]}') == []
    assert compare_json('{"available":{"2":{"id_room":2}}}', '{"available":{"5":{"room":2}}}')


def test_xml_tree_shapes() -> None:
    a = "<qloapps><booking><id>1</id><rooms><room><id_room>1</id_room></room></rooms></booking></qloapps>"
    b = "<qloapps><booking><id>9</id><rooms><room><id_room>3</id_room></room><room><id_room>4</id_room></room></rooms></booking></qloapps>"
    assert compare_xml(a, b) == []
    c = "<qloapps><booking><id>9</id><rooms><room><room_id>3</room_id></room></rooms></booking></qloapps>"
    assert compare_xml(a, c)
    assert compare_xml(a, "<qloapps><order/></qloapps>")
    assert compare_xml(a, "not xml")


def test_content_family() -> None:
    assert content_family("application/json", b"[]") == ("json", False)
    assert content_family("text/xml;charset=utf-8", b"<a/>") == ("xml", False)
    assert content_family("text/html; charset=utf-8", b"") == ("html", True)
    assert content_family(None, b"") == ("none", True)
    assert content_family("", b"") != content_family("text/html", b"")
