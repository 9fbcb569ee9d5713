"""PrestaShop webservice list parameters: display, filter[...], sort, limit and date=1."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from .clock import parse_datetime
from .wire import ApiError, did_you_mean

if TYPE_CHECKING:
    from .store import Row, Table

# Filtering/sorting on these needs date=1 (B28).
DATE1_FIELDS = frozenset({"date_add", "date_upd"})
# Fields compared as datetimes; an unparsable operand matches everything (B29).
DATE_TYPED = frozenset({"date_add", "date_upd", "date_from", "date_to", "invoice_date", "check_in", "check_out",
                        "delivery_date", "last_passwd_gen", "newsletter_date_add", "from", "to"})


@dataclass
class ListQuery:
    """Parsed list parameters of one GET request."""

    display: list[str] | None  # None = ids only; [] never
    full: bool
    filters: list[tuple[str, str]]
    sort: list[tuple[str, bool]]  # (field, descending)
    offset: int
    count: int | None


def parse_query(params: dict[str, str], display_fields: list[str], filter_fields: list[str],
                i18n_fields: list[str], strict: bool = True) -> ListQuery:
    """Validate the parameters against a resource's fields; raises the captured 400 errors.

    The fields come from the resource's schema, not its rows: an empty resource answers the same 400s.
    strict=False (a resource with no known schema and no rows to learn one from) accepts any field.
    """
    date1 = params.get("date", "") == "1"
    allowed = list(filter_fields) + (sorted(DATE1_FIELDS) if date1 else [])
    if not strict:
        display_fields = allowed = [_f for _f in _requested_fields(params)]
    display_raw = params.get("display")
    full, display = False, None
    if display_raw:
        if display_raw == "full":
            full = True
        else:
            display = [f.strip() for f in display_raw.strip("[]").split(",") if f.strip()]
            for field in display:
                if field not in display_fields:
                    raise ApiError(400, (35, f'Unable to display this field "{field}". However, these are '
                                             f'available: {", ".join(display_fields)}'))
    filters = []
    for key, value in params.items():
        m = re.fullmatch(r"filter\[(\w+)\]", key)
        if not m:
            continue
        field = m.group(1)
        if field not in allowed:
            listed = '", "'.join(filter_fields)
            raise ApiError(400, (32, f'This filter does not exist. Did you mean: '
                                     f'"{did_you_mean(field, filter_fields)}"? The full list is: "{listed}"'))
        filters.append((field, value))
    sort = []
    if params.get("sort"):
        for part in params["sort"].strip("[]").split(","):
            field, _, direction = part.strip().rpartition("_")
            if field not in allowed or direction.upper() not in ("ASC", "DESC"):
                i18n = (" " + ", ".join(i18n_fields)) if i18n_fields else ""
                raise ApiError(400, (38, "Unable to filter by this field. However, these are available: "
                                         f"{', '.join(filter_fields)}, for i18n fields:{i18n}"))
            sort.append((field, direction.upper() == "DESC"))
    offset, count = 0, None
    if params.get("limit"):
        parts = params["limit"].split(",")
        try:
            if len(parts) == 2:
                offset, count = int(parts[0]), int(parts[1])
            else:
                count = int(parts[0])
        except ValueError:
            raise ApiError(400, (31, "The \"limit\" value has to be formed as this example: "
                                     "\"5,25\" or \"10\"")) from None
    return ListQuery(display, full, filters, sort, offset, count)


def _requested_fields(params: dict[str, str]) -> list[str]:
    names = [f.strip() for f in params.get("display", "").strip("[]").split(",")]
    names += [m.group(1) for k in params if (m := re.fullmatch(r"filter\[(\w+)\]", k))]
    names += [p.strip().rpartition("_")[0] for p in params.get("sort", "").strip("[]").split(",")]
    return [n for n in names if n]


def _as_date(value: Any) -> datetime | None:
    try:
        return parse_datetime(str(value))
    except ValueError:
        return None


def _as_num(value: Any) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _cmp_key(field: str, value: Any) -> tuple[int, Any]:
    if type(value) is int and field not in DATE_TYPED:  # ids: skip the float(str()) round trip (same order)
        return (0, value)
    if field in DATE_TYPED:
        d = _as_date(value)
        return (0, d) if d else (1, str(value))
    n = _as_num(value) if value is not None else None
    return (0, n) if n is not None else (1, str(value).lower())


def member_key(value: Any) -> Any:
    """What a plain ``[a|b]`` filter on a field that is not a date compares a row's value as: an int as it
    is (it equals its float: 5 in {5.0}, no float(str()) per row over 100,000s of rows), else its number,
    else its lower-case text (None is "")."""
    if type(value) is int:
        return value
    n = _as_num(value) if value is not None else None
    return n if n is not None else str(value if value is not None else "").lower()


def member_options(field: str, raw: str) -> set[Any] | None:
    """The values of a plain ``[a|b]`` (or ``[a]``) filter on a field that is not a date, as member_key
    gives them (numbers as floats, else lower-case text); None for every other form of filter.

    A row matches such a filter exactly when ``member_key(row value) in options``; build_predicate uses
    this, and so may an index keyed by member_key (query.narrow)."""
    if field in DATE_TYPED or re.fullmatch(r"([<>])\[(.*)\]", raw):
        return None
    m = re.fullmatch(r"(%?)\[(.*)\](%?)", raw)
    if not m:
        return None
    pre, inner, post = m.groups()
    if pre or post or ("," in inner and "|" not in inner):
        return None
    options: set[Any] = set()
    for text in inner.split("|"):
        n = _as_num(text)
        options.add(n if n is not None else text.lower())
    return options


def build_predicate(field: str, raw: str) -> Callable[[Any], bool]:
    """Compile one filter value: [a|b], [from,to], >[x], <[x], %[x]%, [x]%, %[x], plain."""
    typed = field in DATE_TYPED
    wanted_values = member_options(field, raw)
    if wanted_values is not None:
        # A set: sync asks for 100 ids at a time over tens of thousands of rows. Floats never equal strings,
        # so membership keeps the same-type rule of comparable().
        return lambda v: member_key(v) in wanted_values

    def conv(text: str) -> Any:
        if typed:
            return _as_date(text)
        n = _as_num(text)
        return n if n is not None else text.lower()

    def val(row_value: Any) -> Any:
        if typed:
            return _as_date(row_value)
        n = _as_num(row_value) if row_value is not None else None
        return n if n is not None else str(row_value if row_value is not None else "").lower()

    def comparable(a: Any, b: Any) -> bool:
        return a is not None and b is not None and type(a) is type(b)

    m = re.fullmatch(r"([<>])\[(.*)\]", raw)
    if m:
        op, bound = m.group(1), conv(m.group(2))
        if typed and bound is None:
            return lambda _v: True  # unparsable date: no error, everything matches (B29)
        if op == ">":
            return lambda v: comparable(val(v), bound) and val(v) > bound
        return lambda v: comparable(val(v), bound) and val(v) < bound
    m = re.fullmatch(r"(%?)\[(.*)\](%?)", raw)
    if not m:
        text = raw.lower()
        return lambda v: str(v).lower() == text
    pre, inner, post = m.groups()
    if pre or post:
        needle = inner.lower()
        if pre and post:
            return lambda v: needle in str(v).lower()
        if post:
            return lambda v: str(v).lower().startswith(needle)
        return lambda v: str(v).lower().endswith(needle)
    if "," in inner and "|" not in inner:
        low, high = (conv(x) for x in inner.split(",", 1))
        if typed and (low is None or high is None):
            return lambda _v: True
        return lambda v: comparable(val(v), low) and comparable(val(v), high) and low <= val(v) <= high
    # Only a date field is left here (member_options took the others): compared as datetimes.
    options = [conv(x) for x in inner.split("|")]
    if any(o is None for o in options):
        return lambda _v: True
    wanted = set(options)
    return lambda v: val(v) in wanted


def _by_int_id(rows: list[dict[str, Any]]) -> bool:
    previous = None
    for r in rows:
        rid = r.get("id")
        if type(rid) is not int or (previous is not None and rid <= previous):
            return False
        previous = rid
    return True


def narrow(table: "Table", filters: list[tuple[str, str]]) -> tuple[list["Row"], list[tuple[str, str]], bool]:
    """The rows of a table, by id, that one plain ``[a|b]`` filter keeps, found without reading every row:
    an ``id`` filter by key, a filter on a field the table indexes (store.INDEXED_FIELDS) by its index.
    Returns (rows by id, the filters still to apply, whether every row's "id" is its int key).

    Exactly the rows a scan with build_predicate keeps, in the same order: a row matches when
    ``member_key(value) in options``, and the index is keyed by member_key (an int key equals the float
    option it matches). Without such a filter: every row by id, and every filter left to apply.
    """
    for position, (field, raw) in enumerate(filters):
        options = member_options(field, raw)
        if options is None:
            continue
        rest = filters[:position] + filters[position + 1:]
        if field == "id" and table.ids_are_keys():
            # Only a number equal to an int can equal an id (an int key); text never equals an int.
            ids = sorted({int(o) for o in options if isinstance(o, float) and o.is_integer() and int(o) in table})
            return [table[rid] for rid in ids], rest, True
        index = table.value_index(field, member_key)
        if index is not None:
            found: set[int] = set()
            for option in options:
                found.update(index.get(option, ()))
            return [table[rid] for rid in sorted(found)], rest, table.ids_are_keys()
    return table.rows_in_order(), filters, table.ids_are_keys()


def apply_query(rows: list[dict[str, Any]], q: ListQuery, filters: list[tuple[str, str]] | None = None,
                by_int_id: bool = False) -> list[dict[str, Any]]:
    """Filter (q.filters, or *filters* when given: those narrow() left), sort (multi-key) and page rows.
    *rows* must be in id order; by_int_id: they are known to have strictly ascending int ids. The list
    answered is always a new one (rows may be a table's shared list)."""
    for field, raw in q.filters if filters is None else filters:
        pred = build_predicate(field, raw)
        rows = [r for r in rows if pred(r.get(field))]  # a subset keeps strictly ascending ids
    if q.sort == [("id", False)] and (by_int_id or _by_int_id(rows)):
        pass  # already in id order (the tables are listed by id): a keyed sort of 100,000s of rows costs ~0.1 s
    else:
        for field, desc in reversed(q.sort):
            rows = sorted(rows, key=lambda r: _cmp_key(field, r.get(field)), reverse=desc)
    end = None if q.count is None else q.offset + q.count
    return rows[q.offset:end]
