"""Rates: PMS nightly prices become the fewest qlosync-owned feature price rules in QloApps (simulator)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from qlosync.db.session import transaction
from qlosync.qloapps.models import FeaturePriceRequest
from qlosync.sync.ari.rates import RatesMismatch, diff_rates, push_rates
from tests.integration.ari_support import night_rates, set_rates
from tests.outbound_fixtures import TODAY, pms_room_type
from tests.pms_desk import desk_for

START = TODAY + timedelta(days=30)


def _rules(simulator, qloapps_room_type: int) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for _, r in sorted(simulator.store.table("feature_prices").items())
            if int(r["id_product"]) == qloapps_room_type]


@pytest.fixture
def room_type(shop, mapped_catalog, session_factory) -> str:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return pms_room_type(session, shop.id, 1)


def test_a_calendar_becomes_one_rule_per_price_run_and_qloapps_charges_it(engine, client, shop, simulator, room_type):
    # Given 10 nights at 900, then 3 at 1200, then 5 at 900 in the PMS
    set_rates(engine, room_type, START, ["900"] * 10 + ["1200"] * 3 + ["900"] * 5)
    # When they are pushed
    result = push_rates(engine, client, shop, room_type, START, START + timedelta(days=17))
    # Then QloApps has three rules (one per run) and charges exactly the PMS price each night, nowhere else
    assert (result.created, result.updated, result.deleted, result.mismatches) == (3, 0, 0, [])
    assert [(r["date_from"][:10], r["date_to"][:10], Decimal(str(r["impact_value"]))) for r in _rules(simulator, 1)] == [
        (START.isoformat(), (START + timedelta(days=9)).isoformat(), Decimal("900")),
        ((START + timedelta(days=10)).isoformat(), (START + timedelta(days=12)).isoformat(), Decimal("1200")),
        ((START + timedelta(days=13)).isoformat(), (START + timedelta(days=17)).isoformat(), Decimal("900")),
    ]
    charged = night_rates(client, 1, START, 19)
    assert [charged[START + timedelta(days=i)] for i in range(18)] == [Decimal("900")] * 10 + [Decimal("1200")] * 3 + [
        Decimal("900")] * 5
    assert charged[START + timedelta(days=18)] == Decimal("1000")  # the night after: QloApps' own price
    # And pushing the same calendar again changes nothing and creates no rule
    again = push_rates(engine, client, shop, room_type, START, START + timedelta(days=17))
    assert (again.created, again.updated, again.deleted, again.kept, again.requests) == (0, 0, 0, 3, 2)
    assert len(_rules(simulator, 1)) == 3


def test_a_change_of_three_nights_touches_only_those_rules(engine, client, shop, simulator, room_type):
    set_rates(engine, room_type, START, ["900"] * 20)
    push_rates(engine, client, shop, room_type, START, START + timedelta(days=19))
    # When three nights in the middle get a new price
    set_rates(engine, room_type, START + timedelta(days=5), ["750"] * 3)
    result = push_rates(engine, client, shop, room_type, START + timedelta(days=5), START + timedelta(days=7))
    # Then the one rule was split into three, with three writes, and QloApps charges it
    assert result.created + result.updated == 3 and result.deleted == 0 and result.mismatches == []
    charged = night_rates(client, 1, START, 20)
    assert [charged[START + timedelta(days=i)] for i in range(20)] == (
        [Decimal("900")] * 5 + [Decimal("750")] * 3 + [Decimal("900")] * 12)


def test_rules_qlosync_does_not_own_are_left_alone_and_a_hand_edit_is_found_and_put_back(
        engine, client, shop, simulator, session_factory, room_type):
    # Given a hand-made rule on other nights, and qlosync's rules
    foreign = client.create_feature_price(FeaturePriceRequest(
        id_product=1, date_from=START + timedelta(days=40), date_to=START + timedelta(days=41), impact_way=2,
        impact_type=2, impact_value=Decimal("50"), name="Summer promo"))
    set_rates(engine, room_type, START, ["900"] * 5)
    push_rates(engine, client, shop, room_type, START, START + timedelta(days=4))
    ours = _rules(simulator, 1)[-1]
    # When someone changes qlosync's rule by hand in QloApps
    simulator.store.table("feature_prices")[ours["id"]]["impact_value"] = "999.000000"
    # Then diff finds it, night by night, without writing
    requests = client.request_count
    with transaction(session_factory) as session:
        diffs = diff_rates(session, client, shop, room_type, START, START + timedelta(days=4))
    assert [(d.night, d.pms, d.qloapps) for d in diffs] == [
        (START + timedelta(days=i), Decimal("900.00"), (Decimal("999.00"),)) for i in range(5)]
    assert client.request_count - requests == 1
    # And the next push (reconciliation) puts it back, leaving the hand-made rule as it was
    result = push_rates(engine, client, shop, room_type, START, START + timedelta(days=4))
    assert (result.updated, result.created, result.deleted) == (1, 0, 0)
    assert Decimal(str(simulator.store.table("feature_prices")[ours["id"]]["impact_value"])) == Decimal("900")
    assert simulator.store.table("feature_prices")[foreign.id]["impact_value"] in ("50", "50.000000", 50)
    with transaction(session_factory) as session:
        assert diff_rates(session, client, shop, room_type, START, START + timedelta(days=4)) == []


def test_removed_pms_rates_remove_the_rules_and_a_lost_create_is_adopted_not_duplicated(
        engine, client, shop, simulator, room_type):
    set_rates(engine, room_type, START, ["900"] * 3 + ["1100"] * 3)
    push_rates(engine, client, shop, room_type, START, START + timedelta(days=5))
    # Given a rule QloApps made for a push whose worker died before recording it
    with engine.begin() as c:
        c.execute(text("DELETE FROM qloapps_rate_rules WHERE date_from = :d"), {"d": START + timedelta(days=3)})
    # When the PMS drops the 1100 nights and the rates are pushed again
    desk_for(engine).remove_rates("1100")
    result = push_rates(engine, client, shop, room_type, START, START + timedelta(days=5))
    # Then the unrecorded rule was adopted and deleted, not left to double the price, and QloApps' own price is back
    assert (result.adopted, result.deleted, result.mismatches) == (1, 1, [])
    assert len(_rules(simulator, 1)) == 1
    assert night_rates(client, 1, START, 6)[START + timedelta(days=4)] == Decimal("1000")


def test_a_mismatch_after_the_push_is_raised_with_both_values(engine, client, shop, simulator, room_type, monkeypatch,
                                                              session_factory):
    set_rates(engine, room_type, START, ["900"] * 2)
    # Given QloApps stores the rule with another price than it was sent (a misbehaving server)
    original = client.create_feature_price

    def wrong_price(req):  # type: ignore[no-untyped-def]
        rule = original(req)
        simulator.store.table("feature_prices")[rule.id]["impact_value"] = "901.000000"
        return rule

    monkeypatch.setattr(client, "create_feature_price", wrong_price)
    with pytest.raises(RatesMismatch, match="2 nights do not have the PMS rate"):
        push_rates(engine, client, shop, room_type, START, START + timedelta(days=1))
    with engine.connect() as c:
        reason = c.execute(text("SELECT reason FROM qloapps_sync_logs WHERE action = 'rate_mismatch'")).scalar_one()
    assert "PMS 900.00, QloApps ['901.00']" in reason
    # And status shows the room type until a push succeeds
    from qlosync.ops.status import collect_status

    with transaction(session_factory) as session:
        mismatches = collect_status(session)["shops"][0]["rate_mismatches"]
    assert [m["qloapps_room_type_id"] for m in mismatches] == ["1"]
    monkeypatch.undo()
    simulator.store.table("feature_prices").clear()
    push_rates(engine, client, shop, room_type, START, START + timedelta(days=1))
    with transaction(session_factory) as session:
        assert collect_status(session)["shops"][0]["rate_mismatches"] == []


def test_ari_diff_and_push_through_the_cli(engine, shop, simulator, room_type, database_url, secret_key):
    from click.testing import CliRunner

    from qlosync.cli import cli

    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal()}
    window = ["--from", START.isoformat(), "--to", (START + timedelta(days=3)).isoformat()]
    set_rates(engine, room_type, START, ["900", "900", "950", "950"])
    runner = CliRunner()
    # Before a push, diff lists every night with a PMS rate and exits 1
    before = runner.invoke(cli, ["ari", "diff", *window, "--room-type", str(room_type)], env=env)
    assert before.exit_code == 1 and before.output.count("PMS 9") == 4 and "no qlosync rule" in before.output
    pushed = runner.invoke(cli, ["ari", "push", *window], env=env)
    assert pushed.exit_code == 0, pushed.output
    assert "2 created, 0 updated, 0 deleted, 0 kept" in pushed.output
    after = runner.invoke(cli, ["ari", "diff", *window], env=env)
    assert after.exit_code == 0 and "no differences" in after.output
    assert runner.invoke(cli, ["ari", "diff", "--room-type", "NOPE"], env=env).exit_code == 2


def test_the_daily_reconciliation_covers_every_room_type_an_enabled_shop_sells(engine, shop, mapped_catalog,
                                                                                 session_factory):
    from qlosync.sync.outbound.jobs import rate_reconciliations

    with transaction(session_factory) as session:
        todo = rate_reconciliations(session, TODAY, 365)
        expected = sorted(pms_room_type(session, shop.id, qlo) for qlo in (1, 2, 3, 4))
    assert todo == [(rt, TODAY, TODAY + timedelta(days=364)) for rt in expected]
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_config SET sync_enabled = false"))
    with transaction(session_factory) as session:
        assert rate_reconciliations(session, TODAY, 365) == []


def test_a_night_set_back_to_its_neighbours_price_merges_the_rules_again(engine, client, shop, simulator, room_type):
    set_rates(engine, room_type, START, ["900"] * 9)
    push_rates(engine, client, shop, room_type, START, START + timedelta(days=8))
    middle = START + timedelta(days=4)
    set_rates(engine, room_type, middle, ["700"])
    push_rates(engine, client, shop, room_type, middle, middle)
    assert len(_rules(simulator, 1)) == 3
    # When the night gets its neighbours' price back and only that night is pushed
    set_rates(engine, room_type, middle, ["900"])
    result = push_rates(engine, client, shop, room_type, middle, middle)
    # Then one rule covers the nine nights again
    assert result.mismatches == [] and len(_rules(simulator, 1)) == 1
    assert [(r["date_from"][:10], r["date_to"][:10]) for r in _rules(simulator, 1)] == [
        (START.isoformat(), (START + timedelta(days=8)).isoformat())]
