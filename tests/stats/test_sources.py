"""Actions by source on the stats pages: counted from the actions' source codes, small cells suppressed."""
from __future__ import annotations

from actionkit.extensions import db
from actionkit.letters.models import Action
from actionkit.staff.models import Role
from actionkit.stats.queries import NO_SOURCE_LABEL
from tests.stats.conftest import read_page, table_dict


def test_stats_show_actions_by_source_with_small_cells_suppressed(client, login, own_world):
    alpha_actions = list(db.session.scalars(db.select(Action).where(Action.campaign_id == own_world.alpha.id)
                                            .order_by(Action.id)))
    for action in alpha_actions[:8]:
        action.source = "whatsapp"
    for action in alpha_actions[8:11]:
        action.source = "newsletter"
    db.session.commit()
    login(Role.VIEWER)
    page = read_page(client.get("/staff/stats/alpha").get_data(as_text=True))
    by_source = table_dict(page.tables["table-sources"])
    assert by_source["newsletter"] == "<5"  # 3 supporters
    assert by_source[NO_SOURCE_LABEL] == str(len(alpha_actions) - 11)
    # With one small cell in a line whose total is shown, the next smallest is withheld too (no subtraction).
    assert by_source["whatsapp"] == "hidden"
    overview = read_page(client.get("/staff/stats").get_data(as_text=True))
    assert "table-sources" in overview.tables


def test_the_aggregates_csv_has_the_sources_suppressed_like_the_page(client, login, own_world):
    for action in db.session.scalars(db.select(Action).where(Action.campaign_id == own_world.alpha.id)
                                     .order_by(Action.id).limit(3)):
        action.source = "flyer"
    db.session.commit()
    login(Role.EDITOR)
    lines = client.get("/staff/stats/alpha/export.csv").get_data(as_text=True).splitlines()
    assert "source,flyer,flyer,<5" in lines
