"""The PMS side of the sync: the hotel's property management system, as qlosync reads and writes it.

Today there is one PMS, the built-in one (``qlosync.pms.builtin``: the ``pms_*`` tables in ``public``, their
change-capture triggers, a small reservation API for hosts). Sync code still reaches into it directly from the
modules listed in tests/unit/test_pms_boundary.py; issue 20 puts a port (a typed interface) here, so that
another PMS's database can take its place, and that list shrinks to nothing.
"""
