"""Property tests of small-cell suppression over random small datasets: on every page, filter and export, a
figure of 0-4 supporters is "<5", no table line lets a concealed figure be worked out (by subtraction from a
shown total or by adding up to a concealed one), nothing is listed because someone is behind a "<5", and the
export says what the page says."""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actionkit.delivery.models import Delivery, DeliveryStatus
from actionkit.extensions import db
from actionkit.letters.models import Action, Letter, Supporter
from actionkit.officials.models import OfficeType
from actionkit.staff.models import Role
from actionkit.stats import services
from actionkit.stats.models import ActionRollup, DeliveryRollup, OfficeRollup, RollupState
from tests.factories import make_campaign, make_office
from tests.stats.conftest import World, add_action, read_page, table_dict
from tests.stats.test_pages import assert_page_matches

COUNTIES = ("Adams", "Bolivar", "Carroll")
DAYS = [f"2026-02-{d:02d}" for d in range(1, 15)]
STATUSES = list(DeliveryStatus)

an_action = st.tuples(
    st.sampled_from(["alpha", "beta"]),
    st.sampled_from([*COUNTIES, None]),
    st.sampled_from(DAYS),
    st.sampled_from(["en", "es"]),
    st.lists(st.sampled_from(STATUSES), max_size=3).map(tuple),
    st.booleans(),  # the same person as the previous action (a returning supporter)
)


def small_world() -> World:
    sheriffs = {name: make_office(OfficeType.SHERIFF, county=name, holder=f"Sheriff {name}",
                                  email=f"sheriff@{name.lower()}.example.org") for name in COUNTIES}
    senator = make_office(OfficeType.STATE_SENATOR, number=1, holder="Pat Senator", email="sd1@example.org")
    us_senator = make_office(OfficeType.US_SENATOR, seat="1", holder="Roger Wicker", email=None,
                             web_form_url="https://example.org/contact")
    alpha = make_campaign(slug="alpha", goal=40, title="Alpha campaign",
                          target_types=[OfficeType.SHERIFF, OfficeType.US_SENATOR, OfficeType.STATE_SENATOR])
    beta = make_campaign(slug="beta", goal=None, title="Beta campaign", target_types=[OfficeType.SHERIFF])
    db.session.commit()
    return World(alpha, beta, sheriffs, senator, us_senator, {n: o.division_id for n, o in sheriffs.items()})


def _clear() -> None:
    db.session.rollback()
    for model in (Delivery, Letter, Action, Supporter, ActionRollup, DeliveryRollup, OfficeRollup, RollupState):
        db.session.execute(sa.delete(model))
    db.session.commit()


def _export(client, slug: str, params: dict) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    text = client.get(f"/staff/stats/{slug}/export.csv", query_string=params).get_data(as_text=True)
    return {(r["section"], r["label"]): r["value"] for r in csv.DictReader(io.StringIO(text))}


def test_suppression_holds_on_random_small_datasets(app, client, login) -> None:  # type: ignore[no-untyped-def]
    login(Role.EDITOR)
    world = small_world()

    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.lists(an_action, max_size=16))
    def check(actions: list[tuple]) -> None:
        _clear()
        world.supporters, world.actions = [], []
        last = None
        acted: dict[int, set[int]] = {}  # supporter id -> campaigns they acted on (one action per campaign)
        for slug, county, day, language, statuses, same_person in actions:
            campaign = world.alpha if slug == "alpha" else world.beta
            person = last.supporter if same_person and last is not None else None
            if person is not None and campaign.id in acted.get(person.id, set()):
                person = None
            last = add_action(world, campaign, county, day, language=language, statuses=statuses,
                              supporter=person)
            acted.setdefault(last.supporter_id, set()).add(campaign.id)
        db.session.commit()
        services.refresh(full=True)
        db.session.commit()
        for params in ({}, {"county": world.counties["Adams"]}, {"office_type": "sheriff"},
                       {"from": "2026-02-03", "to": "2026-02-09"}):
            for slug, ids, single in (("alpha", [world.alpha.id], True),
                                      (None, [world.alpha.id, world.beta.id], False)):
                resp = client.get(f"/staff/stats/{slug}" if slug else "/staff/stats", query_string=params)
                html = resp.get_data(as_text=True)
                assert resp.status_code == 200
                try:
                    assert_page_matches(html, world, ids, params, single=single)
                except AssertionError as exc:
                    raise AssertionError(f"{slug or 'overview'} {params}: {exc}") from None
                page = read_page(html)
                if "table-top-officials" in page.tables:  # nobody is named for a "<5"
                    assert all(r[2] != "<5" for r in page.tables["table-top-officials"][1:])
                if slug:  # the export shows exactly what the page shows
                    exported = _export(client, slug, params)
                    for label, text in page.totals.items():
                        key = {"Delivered": "Deliveries sent"}.get(label, label.split(" (")[0])
                        if key != "Progress to goal":
                            assert exported[("total", key)] == text, (label, params)
                    for name, text in table_dict(page.tables["table-counties"]).items():
                        assert exported[("county", name)] == text, (name, params)

    check()
