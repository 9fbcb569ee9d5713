"""RABBITMQ_URLs a RabbitMQ refuses (a vhost that does not exist, a wrong password) and what a process that
gets one must say."""

from __future__ import annotations

import uuid

import pika

from tests.conftest import AMQP_URL, RUN_ID

WRONG_PASSWORD = "not-the-password-7Qx"


def refused_amqp_url(case: str) -> tuple[str, str, str]:
    """(RABBITMQ_URL, the host:port/vhost its error must name, the reason it must give)."""
    params = pika.URLParameters(AMQP_URL)
    server = f"{params.host}:{params.port}"
    if case == "missing vhost":
        vhost = f"qlosync_test_{RUN_ID}_missing_{uuid.uuid4().hex[:6]}"
        return f"amqp://{params.credentials.username}:{params.credentials.password}@{server}/{vhost}", \
            f"{server}/{vhost}", f"vhost {vhost} not found"
    return f"amqp://{params.credentials.username}:{WRONG_PASSWORD}@{server}/%2F", f"{server}/%2F", "ACCESS_REFUSED"
