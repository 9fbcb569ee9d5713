"""The Hotel Management System (``hananshaban/hotelmanangement``) as a PMS qlosync drives (issue 21).

``adapter.HmsPms`` serves the port over that PMS's tables in ``public`` (``catalog``, ``guests``, ``writer`` with
its plan ``grouping``, ``reading``, ``ari``, ``statuses``, ``changes``); qlosync's own tables for it are
``tables``. :mod:`.schema` states what the adapter needs of that PMS's database and checks a database against it
(``qlosync pms check --pms hotelmanangement``). See docs/pms.md, "The Hotel Management System".
"""
