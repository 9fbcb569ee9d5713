"""Rows looked up by a list of keys, each through its index, whatever the planner knows of the table.

``WHERE config_id = 1 AND qloapps_order_id = ANY(:ids)`` looks like a lookup in the unique index on both
columns, but a planner without statistics (reltuples -1: a table never ANALYZEd, as after a bulk import on a
server running with autovacuum off, or before autovacuum's first pass) guesses that ``config_id = 1`` keeps a
few rows, so it reads every row of the shop through the index on config_id and filters them: a page of 100
keys cost 62 ms at 76,000 mappings (0.3 ms by key), 100 ms for the guests of a hotel of 63,000, and grew
with every page of a full import. Unnesting the keys and looking each one up in a LATERAL subquery fenced by
OFFSET 0 (the planner can neither flatten it into a join nor push the scan out of it) leaves it nothing but
the index. The hotelmanangement adapter does the same (qlosync/pms/hotelmanangement/reading.py, ``by_key``).
"""

from __future__ import annotations


def rows_by_key(table: str, alias: str, column: str, keys: str, key_type: str, scope: str = "") -> str:
    """A FROM item: the rows of *table* whose *column* is one of the array parameter *keys* (a bind such as
    ``:ids`` or ``%(ids)s``, cast to ``key_type[]``), as *alias*, one index lookup per key (a key given twice gives its
    rows twice; no order: add ORDER BY). *scope* (e.g. ``config_id = :config``) is ANDed to each
    lookup: only for a column that leads the same index as *column* (else the planner may again read the
    scope's rows through the scope's own index)."""
    condition = f"{column} = {alias}_key.value" + (f" AND {scope}" if scope else "")
    return (f"unnest(CAST({keys} AS {key_type}[])) AS {alias}_key(value)"
            f" CROSS JOIN LATERAL (SELECT * FROM {table} WHERE {condition} OFFSET 0) {alias}")
