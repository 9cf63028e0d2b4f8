"""fetch_sources against a local HTTP server that serves the real public files (never the internet)."""
from __future__ import annotations

import csv
import functools
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from actionkit.officials import importers
from actionkit.officials.download import fetch_sources, find_ice_links

PARTICIPATING = "participatingAgencies11072025am.xlsx"
PENDING = "pendingAgencies11072025am.xlsx"

# Constructed after the layout of ice.gov/identify-and-arrest/287g: current sheets (one absolute, one relative
# link), an older sheet further down, and links that must be ignored.
ICE_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><title>Delegation of Immigration Authority Section 287(g)</title></head>
<body><main>
<h2>Participating Agencies</h2>
<p>ICE has 287(g) agreements with the following agencies:
  <a href="{{base}}/doclib/about/offices/ero/287g/{PARTICIPATING}">Participating Agencies (XLSX, 120 KB)</a></p>
<p><a href="../doclib/about/offices/ero/287g/{PENDING}?v=2&amp;x=1">Pending Agencies</a>
  <a href="/doclib/about/offices/ero/287g/memoOfAgreement.pdf">Template MOA (PDF)</a>
  <a href="#top">Back to top</a><a>no href</a></p>
<h3>Archive</h3>
<ul><li><a href="/doclib/archive/participatingAgencies07182025pm.xlsx">Participating, July 2025</a></li>
<li><a href="/doclib/archive/pendingAgencies07182025pm.xlsx">Pending, July 2025</a></li></ul>
</main></body></html>
"""


@functools.lru_cache(maxsize=None)
def _ms_records_as_json(path: Path) -> bytes:
    """The Mississippi records of a saved congress-legislators .yaml, as the upstream .json serves them.

    Only the MS records are parsed (cut at the top-level list items) to keep the test fast.
    """
    text = path.read_text()
    records = ["- " + chunk for chunk in text.split("\n- ")[1:] if "state: MS\n" in chunk]
    assert records, path
    data = yaml.load("\n".join(records), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return json.dumps(data, default=str, indent=2).encode()


def _openstates_csv(folder: Path) -> bytes:
    """A few real legislators in the columns of the Open States bulk CSV (constructed from their YAML)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "current_party", "current_district", "current_chamber", "given_name",
                     "family_name", "gender", "email", "capitol_address", "capitol_voice"])
    for path in sorted(folder.glob("*.yml"))[:3]:
        p = yaml.safe_load(path.read_text())
        role = next(r for r in p["roles"] if not r.get("end_date"))
        capitol = next((o for o in p.get("offices", []) if o["classification"] == "capitol"), {})
        writer.writerow([p["id"], p["name"], p["party"][0]["name"], role["district"], role["type"],
                         p.get("given_name"), p.get("family_name"), p.get("gender"), p.get("email"),
                         capitol.get("address"), capitol.get("voice")])
    return out.getvalue().encode()


def _census_counties(csv_path: Path) -> bytes:
    """The Census st28_ms_cou2020.txt layout, built from our county CSV (COUNTYNS not known here)."""
    lines = ["STATE|STATEFP|COUNTYFP|COUNTYNS|COUNTYNAME|CLASSFP|FUNCSTAT"]
    with csv_path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            lines.append(f"MS|{row['state_fips']}|{row['county_fips']}|00000000|{row['county_full_name']}|H1|A")
    return ("\r\n".join(lines) + "\r\n").encode()


class Server:
    """A local web server: routes map a path to (status, body); every request's User-Agent is kept."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.user_agents: list[str] = []
        routes, agents = self.routes, self.user_agents

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                agents.append(self.headers.get("User-Agent", ""))
                status, body = routes.get(self.path.split("?", 1)[0], (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def sources(self) -> dict[str, str]:
        return {
            "congress_legislators": f"{self.base}/congress-legislators/legislators-current.json",
            "congress_district_offices": f"{self.base}/congress-legislators/legislators-district-offices.json",
            "openstates_csv": f"{self.base}/people/current/{{state}}.csv",
            "census_counties": f"{self.base}/geo/codes2020/cou/st{{state_fips}}_{{state}}_cou2020.txt",
            "ice_287g_page": f"{self.base}/identify-and-arrest/287g",
        }


@pytest.fixture
def server(shared_data: Path) -> Iterator[Server]:
    srv = Server()
    cl = shared_data / "congress-legislators"
    xlsx = shared_data / "ice-287g"
    srv.routes.update({
        "/congress-legislators/legislators-current.json": (200, _ms_records_as_json(cl / "legislators-current.yaml")),
        "/congress-legislators/legislators-district-offices.json":
            (200, _ms_records_as_json(cl / "legislators-district-offices.yaml")),
        "/people/current/ms.csv": (200, _openstates_csv(shared_data / "openstates-ms" / "legislature")),
        "/geo/codes2020/cou/st28_ms_cou2020.txt":
            (200, _census_counties(shared_data / "counties" / "ms_counties_fips_seats.csv")),
        "/identify-and-arrest/287g": (200, ICE_PAGE.replace("{base}", srv.base).encode()),
        f"/doclib/about/offices/ero/287g/{PARTICIPATING}":
            (200, (xlsx / "participatingAgencies07182025pm.xlsx").read_bytes()),
        f"/doclib/about/offices/ero/287g/{PENDING}": (200, (xlsx / "pendingAgencies07182025pm.xlsx").read_bytes()),
    })
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


EXPECTED = {
    "congress-legislators/legislators-current.json": "/congress-legislators/legislators-current.json",
    "congress-legislators/legislators-district-offices.json": "/congress-legislators/legislators-district-offices.json",
    "openstates-ms/ms.csv": "/people/current/ms.csv",
    "counties/st28_ms_cou2020.txt": "/geo/codes2020/cou/st28_ms_cou2020.txt",
    f"ice-287g/{PARTICIPATING}": f"/doclib/about/offices/ero/287g/{PARTICIPATING}",
    f"ice-287g/{PENDING}": f"/doclib/about/offices/ero/287g/{PENDING}",
}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_every_source_lands_where_discover_looks(server: Server, tmp_path: Path) -> None:
    messages: list[str] = []
    root, failures = fetch_sources(server.sources(), "ms", tmp_path / "dl", echo=messages.append)
    assert root == tmp_path / "dl" and failures == []
    assert _files(root) == {rel: server.routes[route][1] for rel, route in EXPECTED.items()}
    assert len(server.user_agents) == 7 and all(ua.startswith("actionkit/") for ua in server.user_agents)
    assert sum(m.startswith("downloaded ") for m in messages) == 6
    found = {(mod.__name__.rsplit(".", 1)[-1], path.relative_to(root).as_posix())
             for mod, path in importers.discover(root)}
    assert found == {  # the district offices are read beside legislators-current.json by the congress importer
        ("congress", "congress-legislators/legislators-current.json"),
        ("openstates", "openstates-ms/ms.csv"),
        ("counties", "counties/st28_ms_cou2020.txt"),
        ("ice287g", f"ice-287g/{PARTICIPATING}"),
        ("ice287g", f"ice-287g/{PENDING}"),
    }


def test_a_failing_source_is_reported_and_the_others_still_land(server: Server, tmp_path: Path) -> None:
    del server.routes["/people/current/ms.csv"]
    messages: list[str] = []
    root, failures = fetch_sources(server.sources(), "ms", tmp_path, echo=messages.append)
    url = f"{server.base}/people/current/ms.csv"
    assert failures == [f"openstates_csv: download of {url} failed: HTTP 404 Not Found"]
    assert f"ERROR download {failures[0]}" in messages
    assert set(_files(root)) == set(EXPECTED) - {"openstates-ms/ms.csv"}


def test_unreachable_host_html_instead_of_data_and_empty_urls(server: Server, tmp_path: Path) -> None:
    sources = server.sources()
    sources["congress_legislators"] = "http://127.0.0.1:9/legislators-current.json"  # discard port: refused
    sources["census_counties"] = ""
    server.routes["/congress-legislators/legislators-district-offices.json"] = (
        200, b"<!DOCTYPE html><html><body>Access denied</body></html>")
    root, failures = fetch_sources(sources, "ms", tmp_path)
    assert len(failures) == 2
    assert failures[0].startswith("congress_legislators: download of http://127.0.0.1:9/legislators-current.json "
                                  "failed: ConnectionError")
    assert "got an HTML page instead of the data file" in failures[1]
    assert set(_files(root)) == {"openstates-ms/ms.csv", f"ice-287g/{PARTICIPATING}", f"ice-287g/{PENDING}"}


def test_ice_page_problems_are_reported(server: Server, tmp_path: Path) -> None:
    server.routes["/identify-and-arrest/287g"] = (200, b"<html><a href='/x/participatingAgencies.xlsx'>P</a></html>")
    root, failures = fetch_sources(server.sources(), "ms", tmp_path)
    page = f"{server.base}/identify-and-arrest/287g"
    assert failures == [
        f"ice_287g_page: no pending .xlsx link found on {page}",
        f"ice_287g_page (participating): download of {server.base}/x/participatingAgencies.xlsx failed: "
        "HTTP 404 Not Found",
    ]
    assert not (root / "ice-287g").exists() or not any((root / "ice-287g").iterdir())
    assert (root / "counties" / "st28_ms_cou2020.txt").is_file()

    server.routes["/identify-and-arrest/287g"] = (503, b"busy")
    _, failures = fetch_sources(server.sources(), "ms", tmp_path / "again")
    assert failures == [f"ice_287g_page: download of {page} failed: HTTP 503 Service Unavailable"]


def test_find_ice_links_picks_the_current_sheets() -> None:
    page = "https://www.ice.gov/identify-and-arrest/287g"
    links = find_ice_links(ICE_PAGE.replace("{base}", "https://www.ice.gov"), page)
    assert links == {
        "participating": f"https://www.ice.gov/doclib/about/offices/ero/287g/{PARTICIPATING}",
        "pending": f"https://www.ice.gov/doclib/about/offices/ero/287g/{PENDING}?v=2&x=1",
    }
    # Newest stamp wins whatever the order; <base href> and upper-case extensions are honoured.
    html = """<base href="https://www.ice.gov/doclib/">
      <a href="participatingAgencies07182025pm.XLSX">old</a>
      <a href="participatingAgencies07182025am.xlsx">older</a>
      <a href="sheets/participatingAgencies01052026am.xlsx">new</a>
      <a href="agencies.xlsx">Pending agencies (Excel)</a>"""
    assert find_ice_links(html, page) == {
        "participating": "https://www.ice.gov/doclib/sheets/participatingAgencies01052026am.xlsx",
        "pending": "https://www.ice.gov/doclib/agencies.xlsx",
    }
    assert find_ice_links("<html><body>maintenance</body></html>", page) == {}
