"""A shop's QloApps settings: read, change, and test against QloApps. The API key is write-only."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Depends, Query

from qlosync.api.models import (
    SHOP_PATTERN,
    ConnectionTestRequest,
    ConnectionTestResult,
    ShopConfigUpdate,
    ShopConfigView,
    given_pms_hotel,
)
from qlosync.api.routes.common import errors, operations_router
from qlosync.api.services import ApiServices, services
from qlosync.db.config_store import DEFAULT_SHOP
from qlosync.db.session import transaction
from qlosync.ops import config as config_ops
from qlosync.secrets import Secret

router = operations_router("config")


@router.get("/config", response_model=ShopConfigView, responses=errors(404), summary="A shop's settings")
def get_config(api: Annotated[ApiServices, Depends(services)],
               shop: Annotated[str, Query(pattern=SHOP_PATTERN)] = DEFAULT_SHOP) -> ShopConfigView:
    with transaction(api.sessions) as session:
        return ShopConfigView.model_validate(asdict(config_ops.read_settings(session, shop)))


@router.put("/config", response_model=ShopConfigView, responses=errors(400), summary="Create or change a shop")
def put_config(body: ShopConfigUpdate, api: Annotated[ApiServices, Depends(services)]) -> ShopConfigView:
    """Only the fields given change. The API key is stored encrypted with QLOSYNC_SECRET_KEY and never
    returned; `api_key_set` says whether one is stored. `pms_hotel_id` must be a hotel of the PMS (422
    otherwise, naming those it has); null clears it."""
    with transaction(api.sessions) as session:
        saved = config_ops.save_settings(
            api.settings, session, name=body.shop, base_url=body.base_url,
            api_key=Secret(body.api_key.get_secret_value()) if body.api_key is not None else None,
            sync_enabled=body.sync_enabled, hotel_id=body.id_hotel, conflict_strategy=body.conflict_strategy,
            pms_hotel_id=given_pms_hotel(body),
        )
    return ShopConfigView.model_validate(asdict(saved))


@router.post("/config/test", response_model=ConnectionTestResult, responses=errors(400, 404),
             summary="Check a URL and key against QloApps")
def test_config(body: ConnectionTestRequest, api: Annotated[ApiServices, Depends(services)]) -> ConnectionTestResult:
    """Uses the stored URL and key, or those given (which are not stored). Answers 200 either way: `ok`
    says whether it worked, `problem` what is wrong (cannot connect, not a QloApps webservice, key
    refused, key lacks a permission, QloApps failing, unknown hotel) and `message` says it in words."""
    check = config_ops.check_connection(
        api.settings, api.sessions, body.shop, base_url=body.base_url,
        api_key=Secret(body.api_key.get_secret_value()) if body.api_key is not None else None,
    )
    return ConnectionTestResult.model_validate(asdict(check))
