"""The built-in PMS, qlosync's reference PMS and the first adapter of the port (``adapter.BuiltinPms``).

Its schema is ``tables`` (the ``pms_*`` tables in ``public``, hotels included). The port is served by
``catalog``, ``guests``, ``writer``, ``reading``, ``ari`` and ``changes``. ``reservations`` is a small API for
hosts: create, modify and cancel a reservation.
"""
