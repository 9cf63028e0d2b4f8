"""The SVG module on its own, and the county map on the real Mississippi boundaries: one shape per county,
shaded by the right class."""
from __future__ import annotations

import json
import re
from xml.etree import ElementTree

from actionkit.extensions import db
from actionkit.officials.models import Division, DivisionType
from actionkit.staff.models import Role
from actionkit.stats import services, svg
from tests.factories import make_campaign
from tests.stats.conftest import bulk_actions, load_county_boundaries, read_page, table_dict

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))


def _assert_accessible(root: ElementTree.Element) -> None:
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"svg:title[@id='{title_id}']", NS) is not None
    assert root.find(f"svg:desc[@id='{desc_id}']", NS) is not None
    for element in root.iter():
        assert "style" not in element.attrib  # the CSP forbids style attributes; classes only


def test_nice_axis_maximum():
    assert [svg.nice_max(v) for v in (0, 3, 7, 12, 180, 1001)] == [5, 5, 10, 20, 200, 2000]


def test_column_chart_is_accessible_and_never_draws_a_suppressed_value():
    points = [svg.Point("2026-01-01", 12, "12", "Jan 1"), svg.Point("2026-01-02", None, "<5"),
              svg.Point("2026-01-03", 0, "0"), svg.Point("<script>", 7, "7")]
    root = _parse(svg.column_chart("c", "Actions per day", "A chart", points, x_label="Day", y_label="Actions",
                                   unit="actions"))
    _assert_accessible(root)
    marks = root.findall(".//svg:rect[@class='mark']", NS)
    assert [m.find("svg:title", NS).text for m in marks] == ["2026-01-01: 12 actions", "<script>: 7 actions"]
    suppressed = root.findall(".//svg:rect[@class='mark-suppressed']", NS)
    assert len(suppressed) == 1 and suppressed[0].find("svg:title", NS).text == "2026-01-02: <5 actions"
    assert float(suppressed[0].get("height")) == 3
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Day" in texts and "Actions" in texts and "Jan 1" in texts and "20" in texts  # axis labels, ticks


def test_bar_chart_labels_each_bar_with_its_figure():
    root = _parse(svg.bar_chart("b", "Letters", "desc", [svg.Point("Sheriffs", 40, "40"),
                                                         svg.Point("U.S. senators", None, "<5")],
                                x_label="Letters", unit="letters"))
    _assert_accessible(root)
    values = [t.text for t in root.findall(".//svg:text[@class='value']", NS)]
    assert values == ["40", "<5"]


def test_quantile_classes():
    classes, legend = svg.quantile_classes({"a": 0, "b": None, "c": 5, "d": 6, "e": 10, "f": 12, "g": 20,
                                            "h": 30, "i": 50, "j": 90, "k": 7}, hidden={"k"})
    assert classes == {"a": "q0", "b": "qs", "c": "q1", "d": "q1", "e": "q2", "f": "q2", "g": "q3", "h": "q3",
                       "i": "q4", "j": "q4", "k": "qh"}
    assert legend == [("q0", "No actions"), ("qs", "Fewer than 5 supporters"),
                      ("qh", "Hidden (would reveal a small county)"), ("q1", "5–6"), ("q2", "10–12"),
                      ("q3", "20–30"), ("q4", "50–90")]
    same, legend = svg.quantile_classes({"a": 8, "b": 8, "c": 8})
    assert set(same.values()) == {"q1"} and legend[-1] == ("q1", "8")
    assert svg.quantile_classes({"a": 0})[0] == {"a": "q0"}


def test_projection_keeps_the_shape(shared_data):
    """Mississippi is about 1.8 times as tall as it is wide once longitude is scaled by cos(latitude)."""
    data = json.loads((shared_data / "boundaries" / "ms_state_us-atlas-2023_10m.geojson").read_text())
    geometry = json.dumps(data["features"][0]["geometry"])
    paths, height = svg.project((geometry,), 400)
    assert 1.6 < height / 400 < 2.0
    xs = [float(x) for x in re.findall(r"(-?\d+\.\d),", paths[0])]
    assert min(xs) >= 0 and max(xs) <= 400.1


def test_the_map_has_one_shaded_shape_per_real_county(app, client, login, shared_data):
    loaded = load_county_boundaries(shared_data)
    counties = db.session.scalars(db.select(Division).where(Division.type == DivisionType.COUNTY,
                                                            Division.state == "ms").order_by(Division.name)).all()
    assert loaded == len(counties) == 82
    campaign = make_campaign(slug="mapped")
    wanted = {"Hinds County": 90, "Harrison County": 50, "Rankin County": 30, "Madison County": 20,
              "Lee County": 12, "Jackson County": 10, "Forrest County": 6, "Lamar County": 5,
              "Issaquena County": 1, "Sharkey County": 2, "Tunica County": 4}
    by_name = {d.name: d.id for d in counties}
    for i, (name, n) in enumerate(wanted.items()):
        bulk_actions(campaign, [by_name[name]], {}, n=n, seed=100 + i)
    services.refresh()
    db.session.commit()
    login(Role.VIEWER)
    html = client.get("/staff/stats/mapped").get_data(as_text=True)
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-map"')
    root = _parse(html[start:html.index("</svg>", start) + len("</svg>")])
    _assert_accessible(root)
    paths = root.findall(".//svg:g[@class='counties']/svg:path", NS)
    assert len(paths) == 82
    assert {int(p.get("data-county")) for p in paths} == {d.id for d in counties}
    expected = {"Hinds County": "q4", "Harrison County": "q4", "Rankin County": "q3", "Madison County": "q3",
                "Lee County": "q2", "Jackson County": "q2", "Forrest County": "q1", "Lamar County": "q1",
                "Issaquena County": "qs", "Sharkey County": "qs", "Tunica County": "qs"}
    names = {d.id: d.name for d in counties}
    for path in paths:
        name = names[int(path.get("data-county"))]
        assert path.get("class") == f"county {expected.get(name, 'qs')}", name  # none and 1-4 look alike
        assert path.get("d", "").startswith("M")
        title = path.find("svg:title", NS).text
        n = wanted.get(name, 0)
        assert title == f"{name}: {'<5' if n < 5 else n} actions"
    table = table_dict(read_page(html).tables["table-counties"])
    assert len(table) == 83 and table["County not known"] == "<5"  # every county, and the row for none
    assert table["Hinds County"] == "90" and table["Tunica County"] == "<5"
    assert table["Adams County"] == "<5"  # nobody, shown like 1-4 people
