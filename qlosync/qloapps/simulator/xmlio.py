"""XML in and out: defusedxml parsing of request bodies and PrestaShop-style rendering."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from .wire import cdata

IRREGULAR_SINGULAR = {
    "categories": "category", "addresses": "address", "taxes": "tax", "currencies": "currency",
    "order_histories": "order_history", "room_bookings": "booking",
    "bookings": "booking", "services": "service", "child_ages": "child_age",
}


def singular(plural: str) -> str:
    """Element name for one item of a list element (room_types -> room_type)."""
    if plural in IRREGULAR_SINGULAR:
        return IRREGULAR_SINGULAR[plural]
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural


def looks_like_xml(body: bytes) -> bool:
    """True when the body starts like an XML document."""
    return body.lstrip().startswith(b"<")


def parse_xml(body: bytes) -> Element:
    """Parse an untrusted XML body safely (raises ValueError on any problem)."""
    try:
        return SafeET.fromstring(body)
    except Exception as exc:  # defusedxml raises several exception types
        raise ValueError(str(exc)) from exc


def element_to_value(el: Element) -> Any:
    """Element -> str (leaf), dict (children; repeated tags become lists); <language> is unwrapped."""
    children = list(el)
    if not children:
        return (el.text or "").strip()
    if all(c.tag == "language" for c in children):
        return (children[0].text or "").strip()
    grouped: dict[str, list[Any]] = {}
    for child in children:
        grouped.setdefault(child.tag, []).append(element_to_value(child))
    return {k: (v[0] if len(v) == 1 else v) for k, v in grouped.items()}


def document_body(root: Element) -> tuple[str, Any]:
    """(<first child tag>, its value) of a <qloapps> document, or of the root itself."""
    if root.tag == "qloapps":
        kids = list(root)
        if not kids:
            return "", {}
        return kids[0].tag, element_to_value(kids[0])
    return root.tag, element_to_value(root)


def as_list(value: Any, item_tag: str | None = None) -> list[Any]:
    """Normalise a JSON list, an XML wrapper {"item":[..]} / {"item":{..}} or a scalar into a list."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and item_tag and item_tag in value and len(value) == 1:
        inner = value[item_tag]
        return inner if isinstance(inner, list) else [inner]
    return [value]


def array_to_xml(tag: str, value: Any) -> str:
    """PHP array -> XML as the bookings module does it (empty list -> CDATA 0)."""
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(array_to_xml(k, v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, list):
        if not value:
            return f"<{tag}><![CDATA[0]]></{tag}>\n"
        item = singular(tag)
        return f"<{tag}>" + "".join(array_to_xml(item, v) for v in value) + f"</{tag}>"
    return f"<{tag}>{cdata(value)}</{tag}>\n"


def record_to_xml(singular_tag: str, record: dict[str, Any], base_url: str,
                  multilang: frozenset[str] = frozenset()) -> str:
    """One resource record, tab-indented like PrestaShop's generic output."""
    lines = [f"<{singular_tag}>"]
    for key, value in record.items():
        if key == "associations":
            continue
        if key in multilang:
            href = f'{base_url}/api/languages/1'
            lines.append(f'\t<{key}><language id="1" xlink:href="{href}">{cdata(value)}</language></{key}>')
        else:
            lines.append(f"\t<{key}>{cdata(value)}</{key}>")
    assoc = record.get("associations")
    if isinstance(assoc, dict):
        lines.append("<associations>")
        for name, items in assoc.items():
            item = singular(name)
            if not items:
                lines.append(f'<{name} nodeType="{item}" api="{name}"/>')
                continue
            lines.append(f'<{name} nodeType="{item}" api="{name}">')
            for entry in items:
                href = f"{base_url}/api/{name}/{entry.get('id')}"
                lines.append(f'\t<{item} xlink:href="{href}">')
                lines.extend(f"\t<{k}>{cdata(v)}</{k}>" for k, v in entry.items())
                lines.append(f"\t</{item}>")
            lines.append(f"</{name}>")
        lines.append("</associations>")
    lines.append(f"</{singular_tag}>")
    return "\n".join(lines) + "\n"


def id_list_to_xml(plural_tag: str, singular_tag: str, ids: list[int], base_url: str, resource: str) -> str:
    """List of ids (no display parameter) in XML."""
    lines = [f"<{plural_tag}>"]
    for rid in ids:
        lines.append(f'\t<{singular_tag} id="{rid}" xlink:href="{base_url}/api/{resource}/{rid}"/>')
    lines.append(f"</{plural_tag}>")
    return "\n".join(lines) + "\n"
