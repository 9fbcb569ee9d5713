"""The admin HTTP API (FastAPI): a thin face over ``qlosync.ops``, like the ``qlosync`` command line."""

from qlosync.api.app import create_app

__all__ = ["create_app"]
