"""Push PMS nightly rates to QloApps as the feature price rules qlosync owns, and read them back.

QloApps' channel-manager call ``updRoomRateAvail`` stores rules that never apply, duplicates them, and
breaks rooms (B42): qlosync uses ``/api/feature_prices`` with customer groups instead (B43), one
fixed-price rule per run of consecutive nights at one price. It owns the rules it created
(``qloapps_rate_rules``; their QloApps name starts with ``qlosync``) and never touches any other.

A push for a room type and a range of nights:
1. lists QloApps' rules of the room type (one request): rules qlosync owns are taken as they are NOW in
   QloApps, so a rule changed or deleted by hand is put back; a rule named ``qlosync …`` that is not in
   the table (a create whose worker died) is adopted, never duplicated;
2. widens the range to whole owned rules, plans the fewest creates, updates and deletes
   (:mod:`qlosync.sync.ari.rate_plan`) and sends them, recording each one as it succeeds;
3. lists the rules again and checks that every night with a PMS rate has exactly one qlosync rule at
   that price, and nights without one have none; a mismatch is logged with both values and retried.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsRateRule, QloAppsRoomTypeMapping
from qlosync.db.session import transaction
from qlosync.errors import PermanentError, TransientError
from qlosync.pms import open_pms, shop_hotel
from qlosync.pms.port import PmsId
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import FeaturePrice, FeaturePriceRequest
from qlosync.states import LogLevel
from qlosync.sync.sync_log import sync_log
from qlosync.sync.locks import held_lock
from qlosync.sync.push_token import new_token
from qlosync.sync.ari.rate_plan import Owned, Run, effective, plan, runs

logger = logging.getLogger(__name__)

RULE_NAME = "qlosync"
FIXED_PRICE = 3  # impact_type 3 (and impact_way 3): the night costs exactly impact_value (B43, capture 298)
NOT_A_FIXED_PRICE = Decimal(-1)  # an owned rule someone turned into a +/- rule never equals a wanted run


class RoomTypeNotMapped(PermanentError):
    """The PMS room type has no QloApps room type to carry its rates."""


class RatesMismatch(TransientError):
    """After a push, QloApps' rules do not give the PMS prices (retried; logged with both values)."""


@dataclass(frozen=True)
class NightDiff:
    """One night where QloApps' qlosync rules do not say what the PMS says."""

    night: date
    pms: Decimal | None  # None: the PMS has no rate for the night (QloApps' own price applies)
    qloapps: tuple[Decimal, ...]  # prices of the qlosync rules covering the night (one is right)
    other_rules: tuple[int, ...] = ()  # rules qlosync does not own that also cover the night


@dataclass
class RatesResult:
    qloapps_room_type_id: int
    date_from: date
    date_to: date
    created: int = 0
    updated: int = 0
    deleted: int = 0
    kept: int = 0
    adopted: int = 0
    requests: int = 0
    mismatches: list[NightDiff] = field(default_factory=list)


def qloapps_room_type(session: Session, shop: ShopConfig, pms_room_type_id: PmsId) -> int:
    found = session.scalar(select(QloAppsRoomTypeMapping.qloapps_room_type_id).where(
        QloAppsRoomTypeMapping.config_id == shop.id, QloAppsRoomTypeMapping.pms_room_type_id == pms_room_type_id))
    if found is None:
        raise RoomTypeNotMapped(f"PMS room type {pms_room_type_id} is not mapped to a QloApps room type of shop "
                                f"{shop.name!r}")
    return found


def pms_prices(session: Session, shop: ShopConfig, pms_room_type_id: PmsId, start: date,
               end: date) -> dict[date, Decimal]:
    """The PMS's price of each night start..end that has one, from the shop's PMS hotel."""
    hotel = shop_hotel(open_pms(session), shop.pms_hotel_id)
    return {night: price.quantize(Decimal("0.01")) for night, price in
            hotel.rates(pms_room_type_id, start, end).items()}


def _as_run(rule: FeaturePrice) -> Run:
    price = rule.impact_value.quantize(Decimal("0.01")) if rule.impact_type == FIXED_PRICE else NOT_A_FIXED_PRICE
    end = rule.date_from if rule.date_selection_type == 2 else rule.date_to
    return Run(rule.date_from, end, price)


def _request(qloapps_room_type_id: int, run: Run, name: str) -> FeaturePriceRequest:
    return FeaturePriceRequest(id_product=qloapps_room_type_id, date_from=run.date_from, date_to=run.date_to,
                               impact_way=3, impact_type=FIXED_PRICE, impact_value=run.price, name=name)


def _owned_now(session: Session, shop: ShopConfig, qloapps_room_type_id: int, rules: Sequence[FeaturePrice], *,
               record: bool = True) -> tuple[list[Owned], list[FeaturePrice], int]:
    """Owned rules as QloApps has them now, the other rules, and how many were adopted; with *record* the
    table is brought in line with QloApps (a diff only looks)."""
    table = {row.feature_price_id: row for row in session.scalars(select(QloAppsRateRule).where(
        QloAppsRateRule.config_id == shop.id, QloAppsRateRule.qloapps_room_type_id == qloapps_room_type_id))}
    owned, others, adopted = [], [], 0
    for rule in rules:
        row = table.pop(rule.id, None)
        if row is None and not rule.name.startswith(RULE_NAME):
            others.append(rule)
            continue
        run = _as_run(rule)
        owned.append(Owned(rule.id, run))
        if not record:
            continue
        if row is None:  # created by a push that died before recording it
            row = QloAppsRateRule(config_id=shop.id, qloapps_room_type_id=qloapps_room_type_id,
                                  feature_price_id=rule.id)
            session.add(row)
            adopted += 1
        row.date_from, row.date_to, row.price = run.date_from, run.date_to, run.price
    if record:
        for gone in table.values():  # deleted in QloApps by hand: forget it, the plan recreates what is needed
            session.delete(gone)
        session.flush()
    return owned, others, adopted


def _compare(prices: dict[date, Decimal], owned: Sequence[Owned], others: Sequence[FeaturePrice], start: date,
             end: date) -> list[NightDiff]:
    nights = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    covering = effective(owned, nights)
    diffs = []
    for night in nights:
        want = prices.get(night)
        have = tuple(covering[night])
        foreign = tuple(r.id for r in others if r.active and _as_run(r).date_from <= night <= _as_run(r).date_to)
        if (want is None and have) or (want is not None and have != (want,)):
            diffs.append(NightDiff(night, want, have, foreign))
    return diffs


def diff_rates(session: Session, client: QloAppsClient, shop: ShopConfig, pms_room_type_id: PmsId, start: date,
               end: date) -> list[NightDiff]:
    """What differs between the PMS rates and qlosync's rules in QloApps; one request, no writes to QloApps."""
    qlo = qloapps_room_type(session, shop, pms_room_type_id)
    owned, others, _ = _owned_now(session, shop, qlo, client.get_feature_prices(qlo), record=False)
    return _compare(pms_prices(session, shop, pms_room_type_id, start, end), owned, others, start, end)


def push_rates(engine: Engine, client: QloAppsClient, shop: ShopConfig, pms_room_type_id: PmsId, start: date,
               end: date, *, lock_timeout_s: float = 15.0) -> RatesResult:
    """Make QloApps charge the PMS rates of one room type for nights start..end (inclusive)."""
    before = client.request_count
    with held_lock(engine, "rates", shop.id, pms_room_type_id, timeout_s=lock_timeout_s) as connection:
        factory = sessionmaker(bind=connection, expire_on_commit=False)
        with transaction(factory) as session:
            qlo = qloapps_room_type(session, shop, pms_room_type_id)
            owned, _others, adopted = _owned_now(session, shop, qlo, client.get_feature_prices(qlo))
        # Rules touching the range or right beside it: a night set back to its neighbours' price merges again.
        relevant = [o for o in owned
                    if o.run.date_from <= end + timedelta(days=1) and o.run.date_to >= start - timedelta(days=1)]
        # Whole rules only: a rule reaching past the range is re-planned with the nights it covers.
        window_from = min([start, *(o.run.date_from for o in relevant)])
        window_to = max([end, *(o.run.date_to for o in relevant)])
        with transaction(factory) as session:
            prices = pms_prices(session, shop, pms_room_type_id, window_from, window_to)
        wanted = plan(runs(prices), relevant)
        result = RatesResult(qlo, window_from, window_to, kept=len(wanted.keep), adopted=adopted)
        _send(factory, client, shop, qlo, wanted.create, wanted.update, wanted.delete, result)
        with transaction(factory) as session:
            owned, others, _ = _owned_now(session, shop, qlo, client.get_feature_prices(qlo))
            result.mismatches = _compare(prices, owned, others, window_from, window_to)
            details: dict[str, Any] = {"pms_room_type_id": pms_room_type_id, "from": window_from.isoformat(),
                       "to": window_to.isoformat(), "created": result.created, "updated": result.updated,
                       "deleted": result.deleted, "kept": result.kept}
            if result.mismatches:
                first = result.mismatches[0]
                sync_log(session, shop, LogLevel.ERROR, qlo, "rate_mismatch",
                         f"{len(result.mismatches)} nights differ after the push, e.g. {first.night}: PMS "
                         f"{first.pms if first.pms is not None else 'no rate'}, QloApps {list(map(str, first.qloapps))}",
                         entity_type="room_type", **details)
            else:
                sync_log(session, shop, LogLevel.INFO, qlo, "rates_pushed", None, entity_type="room_type", **details)
    result.requests = client.request_count - before
    if result.mismatches:
        raise RatesMismatch(f"QloApps room type {qlo}: {len(result.mismatches)} nights do not have the PMS rate "
                            f"after the push (first {result.mismatches[0].night})")
    logger.info("Rates of QloApps room type %s, %s..%s: %s created, %s updated, %s deleted, %s kept, %s requests.",
                qlo, window_from, window_to, result.created, result.updated, result.deleted, result.kept,
                result.requests, extra={"action": "push_rates"})
    return result


def _send(factory: sessionmaker[Session], client: QloAppsClient, shop: ShopConfig, qlo: int, create: Sequence[Run],
          update: Sequence[tuple[int, Run]], remove: Sequence[int], result: RatesResult) -> None:
    """Each write is recorded as soon as QloApps confirmed it (a crash in between is healed by adoption)."""
    for rule_id, run in update:
        client.update_feature_price(rule_id, _request(qlo, run, f"{RULE_NAME} {new_token()}"))
        with transaction(factory) as session:
            row = session.scalars(select(QloAppsRateRule).where(
                QloAppsRateRule.config_id == shop.id, QloAppsRateRule.feature_price_id == rule_id)).one()
            row.date_from, row.date_to, row.price = run.date_from, run.date_to, run.price
        result.updated += 1
    for run in create:
        rule = client.create_feature_price(_request(qlo, run, f"{RULE_NAME} {new_token()}"))
        with transaction(factory) as session:
            session.add(QloAppsRateRule(config_id=shop.id, qloapps_room_type_id=qlo, feature_price_id=rule.id,
                                        date_from=run.date_from, date_to=run.date_to, price=run.price))
        result.created += 1
    for rule_id in remove:
        client.delete_feature_price(rule_id)
        with transaction(factory) as session:
            session.execute(delete(QloAppsRateRule).where(QloAppsRateRule.config_id == shop.id,
                                                          QloAppsRateRule.feature_price_id == rule_id))
        result.deleted += 1
