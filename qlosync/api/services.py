"""What the API's operations use, built once at startup and disposed of at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.runtime.broker import QlosyncRabbitmqBroker
from qlosync.settings import Settings


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    # Sends messages with these settings (not the global broker of qlosync.actors, built from the environment).
    broker: QlosyncRabbitmqBroker


def services(request: Request) -> ApiServices:
    """FastAPI dependency: the running app's services."""
    found: ApiServices = request.app.state.services  # Starlette's app.state holds anything
    return found
