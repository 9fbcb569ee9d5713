"""Many shops over HTTP: list them attention first, add, change, remove, import a CSV, reset a breaker.

The API key is write-only: answers say `api_key_set`, never the key. A name already taken is 409, settings
that break a rule are 422 (like any malformed request), an unknown shop is 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any, overload

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from sqlalchemy.orm import Session

from qlosync.api.auth import require_token
from qlosync.api.models import (
    SHOP_PATTERN,
    BreakerReset,
    ShopCreate,
    ShopImportErrors,
    ShopImportResult,
    ShopList,
    ShopRemoved,
    ShopUpdate,
    ShopView,
    given_pms_hotel,
)
from qlosync.api.routes.common import errors
from qlosync.api.services import ApiServices, services
from qlosync.db.config_store import KeyNeededForNewUrlError, get_config_row
from qlosync.db.session import transaction
from qlosync.ops import shops as shop_ops
from qlosync.ops.shops import DuplicateShopError, InvalidShopError, ShopImportError
from qlosync.ops.shops.hotels import UnknownPmsHotelError
from qlosync.secrets import Secret

router = APIRouter(prefix="/api/v1/shops", tags=["shops"], dependencies=[Depends(require_token)])

Api = Annotated[ApiServices, Depends(services)]
Name = Annotated[str, Path(pattern=SHOP_PATTERN, description="The shop's name.")]


@contextmanager
def _refusals() -> Iterator[None]:
    """The shop errors these routes answer with their own status (the app-wide table makes them 400)."""
    try:
        yield
    except DuplicateShopError as exc:
        raise HTTPException(409, str(exc)) from None
    except (InvalidShopError, KeyNeededForNewUrlError, UnknownPmsHotelError) as exc:
        raise HTTPException(422, str(exc)) from None


@overload
def _secret(value: SecretStr) -> Secret: ...
@overload
def _secret(value: SecretStr | None) -> Secret | None: ...
def _secret(value: SecretStr | None) -> Secret | None:
    return Secret(value.get_secret_value()) if value is not None else None


def _view(api: ApiServices, session: Session, name: str) -> ShopView:
    get_config_row(session, name)  # 404 for an unknown shop
    return shop_ops.shop_status(session, sync_interval_ms=api.settings.sync_interval_ms, names=[name])[0]


@router.get("", response_model=ShopList, responses=errors(), summary="Every shop, attention first")
def list_shops(api: Api, attention: Annotated[bool, Query(description="Only shops needing a person.")] = False
               ) -> ShopList:
    """Attention order: circuit breaker open, failing (last run failed or failed requests), overdue (enabled,
    no successful sync within three sync intervals and a minute, qlosync.ops.overdue), ok, disabled; then by name."""
    with transaction(api.sessions) as session:
        rows = shop_ops.shop_status(session, sync_interval_ms=api.settings.sync_interval_ms)
    shown = [r for r in rows if r.needs_attention] if attention else rows
    return ShopList(summary=shop_ops.summarise(rows), shops=shown)


@router.post("", status_code=201, response_model=ShopView, responses=errors(409), summary="Add a shop")
def add_shop(body: ShopCreate, api: Api) -> ShopView:
    with _refusals(), transaction(api.sessions) as session:
        shop_ops.add_shop(session, api.settings, body.name, base_url=body.base_url, api_key=_secret(body.api_key),
                          enabled=body.enabled, id_hotel=body.id_hotel, conflict_strategy=body.conflict_strategy,
                          max_concurrent_requests=body.max_concurrent_requests,
                          max_requests_per_second=body.max_requests_per_second, pms_hotel_id=body.pms_hotel_id)
        return _view(api, session, body.name)


def _import_refused(problems: list[str]) -> JSONResponse:
    return JSONResponse(status_code=422, content=ShopImportErrors(
        detail=f"{len(problems)} error(s) in the CSV; nothing was imported", errors=problems).model_dump())


_IMPORT_REFUSED: dict[int | str, dict[str, Any]] = {422: {"model": ShopImportErrors, "description": "Every bad line; nothing was written."}}


@router.post("/import", response_model=ShopImportResult, summary="Create or update shops from a CSV file",
             responses={**errors(), **_IMPORT_REFUSED})
def import_shops(api: Api, csv_text: Annotated[bytes, Body(media_type="text/csv", description=(
        "Header row, then one shop a line: name,base_url,api_key[,enabled,id_hotel,pms_hotel_id,"
        "max_concurrent_requests,max_requests_per_second,conflict_strategy]."))],
                 dry_run: Annotated[bool, Query(description="Check only; write nothing.")] = False,
                 ) -> ShopImportResult | JSONResponse:
    """All or nothing: any bad line and nothing is written; the 422 lists every problem with its line."""
    try:
        text = csv_text.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        # Said like any other bad line of the file: the documented 422 with `errors`.
        line = csv_text[:bad.start].count(b"\n") + 1
        return _import_refused([f"line {line}: the CSV must be UTF-8 text"])
    try:
        with transaction(api.sessions) as session:
            report = shop_ops.import_csv(session, api.settings, text, dry_run=dry_run)
    except ShopImportError as exc:
        return _import_refused(exc.errors)
    return ShopImportResult.model_validate(asdict(report))


@router.get("/{name}", response_model=ShopView, responses=errors(404), summary="One shop")
def get_shop(name: Name, api: Api) -> ShopView:
    with transaction(api.sessions) as session:
        return _view(api, session, name)


@router.patch("/{name}", response_model=ShopView, responses=errors(404), summary="Change a shop")
def patch_shop(name: Name, body: ShopUpdate, api: Api) -> ShopView:
    """Only the fields given change; `api_key` is write-only; `pms_hotel_id` null clears the PMS hotel."""
    with _refusals(), transaction(api.sessions) as session:
        shop_ops.update_shop(session, api.settings, name, enabled=body.enabled, base_url=body.base_url,
                             api_key=_secret(body.api_key), id_hotel=body.id_hotel,
                             conflict_strategy=body.conflict_strategy,
                             max_concurrent_requests=body.max_concurrent_requests,
                             max_requests_per_second=body.max_requests_per_second,
                             pms_hotel_id=given_pms_hotel(body))
        return _view(api, session, name)


@router.delete("/{name}", response_model=ShopRemoved, responses=errors(404), summary="Remove a shop")
def delete_shop(name: Name, api: Api) -> ShopRemoved:
    """Deletes the shop with its mappings, runs and sync log; answers what went with it."""
    with transaction(api.sessions) as session:
        return ShopRemoved.model_validate(asdict(shop_ops.remove_shop(session, name)))


@router.post("/{name}/breaker/reset", response_model=BreakerReset, responses=errors(404),
             summary="Close a shop's circuit breaker")
def reset_breaker(name: Name, api: Api) -> BreakerReset:
    """For when the website works again before the breaker's time is up."""
    with transaction(api.sessions) as session:
        was_open = shop_ops.reset_shop_breaker(api.engine, session, name)
    return BreakerReset(name=name, was_open=was_open)
