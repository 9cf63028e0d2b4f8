"""The Census geocoder client: every response quirk on the real recorded responses in shared/data, and every
failure path (500, timeout, malformed JSON, 4xx, connection refused, circuit breaker) against the fake server."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import requests

from actionkit.officials.fake_geocoder import FakeCensusGeocoder, address_key
from actionkit.officials.geocoders import (
    AddressQuery, Area, CensusGeocoder, CircuitBreaker, DisabledGeocoder, GeocoderBadResponse, GeocoderUnavailable,
    breaker_for, from_config, layer_type, parse_coordinates_response, parse_geographies, parse_record,
    parse_response, reset_breakers,
)
from actionkit.officials.models import DivisionType
from tests.officials.conftest import CENSUS_FIXTURES

CD, SLDU, SLDL, COUNTY, STATE = (DivisionType.CD, DivisionType.SLDU, DivisionType.SLDL, DivisionType.COUNTY,
                                 DivisionType.STATE)


def recorded(shared_data: Path, name: str) -> dict:
    return json.loads((shared_data / "census-geocoder" / name).read_text())


def client(url: str, **kw: object) -> CensusGeocoder:
    settings = {"connect_timeout": 1.0, "read_timeout": 0.3, "retries": 1, "backoff": 0.0, "total_timeout": 3.0,
                "breaker": CircuitBreaker(3, 30), "layers": "all"}
    settings.update(kw)
    return CensusGeocoder(url, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("name, kind", [
    ("111th Congressional Districts", CD), ("115th Congressional Districts", CD),
    ("116th Congressional Districts", CD), ("119th Congressional Districts", CD),
    ("120th Congressional Districts", CD),
    ("State Legislative Districts - Upper", SLDU), ("2016 State Legislative Districts - Upper", SLDU),
    ("2024 State Legislative Districts - Upper", SLDU), ("2026 State Legislative Districts - Lower", SLDL),
    ("State Legislative Districts - Lower", SLDL), ("Counties", COUNTY), ("States", STATE),
    ("County Subdivisions", None), ("Census Tracts", None), ("2020 Census ZIP Code Tabulation Areas", None),
    ("Unified School Districts", None),
])
def test_layers_are_recognised_by_suffix(name, kind):
    assert layer_type(name) is kind


def test_2025_layer_list_and_string_values(shared_data):
    data = recorded(shared_data, "ualib_2025-03-07_current_layers_excerpt.json")
    kinds = {layer_type(n) for n in data["geographies_layer_keys_returned_with_layers_all"]} - {None}
    assert kinds == {CD, SLDU, SLDL, COUNTY, STATE, DivisionType.PLACE}  # "Incorporated Places" among layers=all
    county = parse_record(COUNTY, data["Counties"][0])  # AREALAND/OID are strings in this run
    assert county == Area(COUNTY, "01125", "Tuscaloosa County")


def test_census2020_response_cd116_and_unprefixed_sld_layers(shared_data):
    result = parse_response(recorded(shared_data, "pablotron_data_2525-buckelew-geographies-2020-2020.json"))
    assert len(result.matches) == 1
    m = result.matches[0]
    assert (m.lon, m.lat, m.state) == (pytest.approx(-77.199027, abs=1e-5), pytest.approx(38.887016, abs=1e-5),
                                       "VA")
    assert m.geographies.one(CD) == Area(CD, "5108", "Congressional District 8")  # CD116 "08"
    assert m.geographies.one(CD).number == 8
    assert m.geographies.one(SLDU).geoid == "51035" and m.geographies.one(SLDL).geoid == "51053"
    assert m.geographies.one(COUNTY) == Area(COUNTY, "51059", "Fairfax County")  # AREALAND is a number here
    assert m.geographies.state_fips == "51" and not m.geographies.layer_errors
    assert result.benchmark == "Public_AR_Census2020" and result.vintage == "Census2020_Census2020"


def test_cd111_field_named_after_its_congress(shared_data):
    m = parse_response(recorded(shared_data, "pablotron_responses_geographies.json")).matches[0]
    assert m.geographies.one(CD).geoid == "2404"
    assert m.geographies.one(SLDU).geoid == "24024" and m.geographies.one(SLDL).geoid == "24024"
    assert m.geographies.one(COUNTY).name == "Prince George's County"


def test_layer_error_status_objects_are_skipped_and_reported(shared_data):
    m = parse_response(recorded(shared_data, "fitnr_onelineaddress_0.json")).matches[0]
    assert CD not in m.geographies.areas and SLDU not in m.geographies.areas and SLDL not in m.geographies.areas
    assert {"115th Congressional Districts", "2016 State Legislative Districts - Upper",
            "2016 State Legislative Districts - Lower"} <= set(m.geographies.layer_errors)
    assert m.geographies.one(COUNTY).geoid == "11001" and m.geographies.one(STATE).geoid == "11"


def test_several_address_matches_are_all_kept(shared_data):
    result = parse_response(recorded(shared_data, "fitnr_test_benchmark_vintage_0.json"))
    assert [m.matched_address for m in result.matches] == ["1600 Pennsylvania Ave NW, WASHINGTON, DC, 20037",
                                                           "1600 Pennsylvania Ave NW, WASHINGTON, DC, 20502"]
    assert {m.geographies.one(COUNTY).geoid for m in result.matches} == {"11001"}


def test_default_layers_only_give_states_and_counties(shared_data):
    m = parse_response(recorded(shared_data, "fitnr_address-geographies_0.json")).matches[0]
    assert set(m.geographies.areas) == {STATE, COUNTY}


def test_locations_response_has_no_geographies(shared_data):
    m = parse_response(recorded(shared_data, "pablotron_responses_locations.json")).matches[0]
    assert m.geographies.areas == {} and m.lat == pytest.approx(38.845987, abs=1e-5)


def test_coordinates_response(shared_data):
    geos = parse_coordinates_response(recorded(shared_data, "fitnr_coordinates_0.json"))
    assert geos.one(COUNTY) == Area(COUNTY, "36091", "Saratoga County")


def test_zero_matches_is_a_result_not_an_error():
    body = json.loads((CENSUS_FIXTURES / "ms_zero_matches.json").read_text())
    assert parse_response(body).matches == []


@pytest.mark.parametrize("record, expected", [
    ({"GEOID": "2801", "CD119": "01"}, "2801"),
    ({"GEOID": 2802, "CD119": 2, "STATE": 28}, "2802"),  # numbers instead of strings
    ({"GEOID": "5000", "CD119": "00", "STATE": "50"}, "5000"),  # at-large
    ({"GEOID": "2803", "BASENAME": "3", "STATE": "28"}, "2803"),  # no CDnnn field
    ({"GEOID": "28ZZ", "CD119": "ZZ", "BASENAME": "ZZ"}, None),  # undefined water area
    ({"status": "Layer query encountered an error"}, None),
])
def test_cd_records(record, expected):
    area = parse_record(CD, record)
    assert (area.geoid if area else None) == expected


def test_sld_and_county_records_with_numeric_values():
    assert parse_record(SLDU, {"GEOID": 28037, "SLDU": 37, "STATE": 28}).geoid == "28037"
    assert parse_record(SLDL, {"GEOID": "28076", "SLDL": "076"}).number == 76
    assert parse_record(COUNTY, {"GEOID": 1125, "STATE": 1, "COUNTY": 125, "NAME": "X"}).geoid == "01125"
    geos = parse_geographies({"Counties": "not a list", "Census Tracts": [{"GEOID": "1"}]})
    assert geos.areas == {} and geos.layer_errors == ["Counties"]


@pytest.mark.parametrize("body", [[], "x", {"foo": 1}, {"result": []}, {"result": {"addressMatches": "x"}},
                                  {"result": {"addressMatches": ["x"]}}])
def test_unexpected_shapes_are_bad_responses(body):
    with pytest.raises(GeocoderBadResponse):
        parse_response(body)


# --- HTTP against the fake server ---------------------------------------------------------------------------

def test_address_request_parameters_and_ms_fixture(fake_census):
    geo = client(fake_census.url, layers="Counties,119th Congressional Districts")
    result = geo.geocode(AddressQuery(street="400 HIGH ST", city="JACKSON", state="MS", zip="39201"))
    assert result.matches[0].geographies.one(CD).geoid == "2802"
    path, params = fake_census.requests[0]
    assert path == "/geocoder/geographies/address"
    assert params == {"street": "400 HIGH ST", "city": "JACKSON", "state": "MS", "zip": "39201",
                      "benchmark": "Public_AR_Current", "vintage": "Current_Current",
                      "layers": "Counties,119th Congressional Districts", "format": "json"}
    geo.geocode(AddressQuery(oneline="71 E TROY ST, MS"))
    assert fake_census.requests[1][0] == "/geocoder/geographies/onelineaddress"
    geo.geographies_at(34.25762, -88.70341)
    assert fake_census.requests[2][1]["x"] == "-88.703410" and fake_census.requests[2][1]["y"] == "34.257620"


def test_real_recorded_response_through_the_fake(shared_data):
    with FakeCensusGeocoder([shared_data / "census-geocoder" / "fitnr_onelineaddress_0.json"]) as fake:
        m = client(fake.url).geocode(AddressQuery(oneline="1600 Pennsylvania Avenue NW, Washington, DC, 20500"))
    assert len(m.matches) == 1 and CD not in m.matches[0].geographies.areas
    assert "115th Congressional Districts" in m.matches[0].geographies.layer_errors


def test_500_is_retried_then_succeeds(fake_census):
    fake_census.fail_next("500")
    sleeps: list[float] = []
    geo = client(fake_census.url, backoff=0.25, sleep=sleeps.append)
    result = geo.geocode(AddressQuery(oneline="400 High St, Jackson, MS 39201"))
    assert len(result.matches) == 1 and len(fake_census.requests) == 2 and sleeps == [0.25]
    assert geo.breaker.state == "closed"


def test_500_twice_is_unavailable(fake_census):
    fake_census.mode = "500"
    with pytest.raises(GeocoderUnavailable, match="HTTP 500"):
        client(fake_census.url).geocode(AddressQuery(oneline="400 High St, Jackson, MS 39201"))
    assert len(fake_census.requests) == 2


def test_timeout_is_unavailable_and_bounded(fake_census):
    fake_census.mode = "timeout"
    started = time.monotonic()
    with pytest.raises(GeocoderUnavailable, match="timeout"):
        client(fake_census.url).geocode(AddressQuery(oneline="400 High St, Jackson, MS 39201"))
    assert time.monotonic() - started < 1.5  # 2 attempts x 0.3 s read timeout


def test_total_timeout_caps_the_retries(fake_census):
    fake_census.mode = "timeout"
    started = time.monotonic()
    with pytest.raises(GeocoderUnavailable):
        client(fake_census.url, retries=10, total_timeout=0.5).geocode(AddressQuery(oneline="400 High St 39201"))
    assert time.monotonic() - started < 1.2 and len(fake_census.requests) <= 3


def test_malformed_json_is_a_bad_response_not_retried(fake_census):
    fake_census.mode = "malformed"
    geo = client(fake_census.url)
    with pytest.raises(GeocoderBadResponse, match="malformed JSON"):
        geo.geocode(AddressQuery(oneline="400 High St, Jackson, MS 39201"))
    assert len(fake_census.requests) == 1


def test_http_4xx_is_a_bad_response_and_does_not_open_the_breaker(fake_census):
    geo = client(fake_census.url.replace("/geocoder", "/nowhere"), breaker=CircuitBreaker(1, 30))
    with pytest.raises(GeocoderBadResponse, match="HTTP 404"):
        geo.geocode(AddressQuery(oneline="400 High St, Jackson, MS 39201"))
    assert geo.breaker.state == "closed"


def test_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GeocoderUnavailable, match="connection error"):
        client(f"http://127.0.0.1:{port}/geocoder", retries=0).geocode(AddressQuery(oneline="1 A St 39201"))


def test_circuit_breaker_fails_fast_then_lets_one_trial_through(fake_census):
    now = [0.0]
    breaker = CircuitBreaker(2, 30, clock=lambda: now[0])
    geo = client(fake_census.url, retries=0, breaker=breaker)
    query = AddressQuery(oneline="400 High St, Jackson, MS 39201")
    fake_census.mode = "500"
    for _ in range(2):
        with pytest.raises(GeocoderUnavailable, match="HTTP 500"):
            geo.geocode(query)
    assert breaker.state == "open"
    with pytest.raises(GeocoderUnavailable, match="circuit open"):
        geo.geocode(query)
    assert len(fake_census.requests) == 2
    now[0] = 31.0
    assert breaker.state == "half-open"
    with pytest.raises(GeocoderUnavailable, match="HTTP 500"):  # the trial fails: open again at once
        geo.geocode(query)
    assert breaker.state == "open" and len(fake_census.requests) == 3
    now[0] = 62.0
    fake_census.mode = "ok"
    assert len(geo.geocode(query).matches) == 1
    assert breaker.state == "closed"


def test_half_open_breaker_allows_a_single_trial():
    now = [0.0]
    breaker = CircuitBreaker(1, 10, clock=lambda: now[0])
    breaker.failure()
    assert not breaker.allow()
    now[0] = 11
    assert breaker.allow() and not breaker.allow()
    breaker.success()
    assert breaker.allow() and breaker.state == "closed"


def test_breakers_are_shared_per_url_and_config():
    reset_breakers()
    a = breaker_for("http://x/geocoder", 5, 60)
    assert breaker_for("http://x/geocoder", 5, 60) is a
    assert breaker_for("http://y/geocoder", 5, 60) is not a
    reset_breakers()
    assert breaker_for("http://x/geocoder", 5, 60) is not a
    reset_breakers()


def test_from_config_builds_the_census_client_or_the_disabled_one(app):
    geo = from_config(app.config["GEOCODER"])
    assert isinstance(geo, CensusGeocoder)
    assert geo.base_url == "https://geocoding.geo.census.gov/geocoder" and geo.timeout == (3.0, 10.0)
    assert geo.layers.startswith("Counties,119th Congressional Districts")
    assert isinstance(from_config({"backend": "none"}), DisabledGeocoder)
    with pytest.raises(GeocoderUnavailable):
        DisabledGeocoder().geocode(AddressQuery(oneline="x"))
    reset_breakers()


def test_census_url_comes_from_the_environment(monkeypatch, tmp_path):
    from flask import Flask

    from actionkit import config

    monkeypatch.setenv("ACTIONKIT_GEOCODER__CENSUS_URL", "http://127.0.0.1:9/geocoder")
    monkeypatch.setenv("ACTIONKIT_GEOCODER__read_timeout", "4")
    app = Flask("envtest", instance_path=str(tmp_path))
    config.load(app)
    assert app.config["GEOCODER"]["census_url"] == "http://127.0.0.1:9/geocoder"
    assert app.config["GEOCODER"]["read_timeout"] == 4 and app.config["GEOCODER"]["connect_timeout"] == 3.0


# --- the fake itself ------------------------------------------------------------------------------------------

def test_fake_serves_fixtures_without_private_keys_and_zero_matches_otherwise(fake_census):
    url = f"{fake_census.url}/geographies/onelineaddress"
    body = requests.get(url, params={"address": "400 High Street, Jackson MS 39201"}, timeout=5).json()
    assert "_note" not in body and body["result"]["addressMatches"][0]["matchedAddress"].startswith("400 HIGH ST")
    assert body["result"]["input"]["address"] == {"address": "400 High Street, Jackson MS 39201"}
    body = requests.get(url, params={"address": "401 High St, Jackson MS 39201"}, timeout=5).json()
    assert body["result"]["addressMatches"] == []
    body = requests.get(f"{fake_census.url}/locations/address", params={"street": "2309 15th St", "zip": "39501"},
                        timeout=5).json()
    assert "geographies" not in body["result"]["addressMatches"][0]
    two = requests.get(url, params={"address": "1500 Northside Dr, Jackson, MS"}, timeout=5).json()
    assert len(two["result"]["addressMatches"]) == 2
    far = requests.get(f"{fake_census.url}/geographies/coordinates", params={"x": "-100", "y": "40"},
                       timeout=5).json()
    assert all(v == [] for v in far["result"]["geographies"].values())
    fake_census.mode = "zero"
    body = requests.get(url, params={"address": "400 High St, Jackson MS 39201"}, timeout=5).json()
    assert body["result"]["addressMatches"] == []


def test_address_key():
    assert address_key("400 High St, Jackson, MS 39201") == ("400", "HIGH", "39201")
    assert address_key("71 E Troy St") == ("71", "TROY", None)
    assert address_key("39201") is None and address_key("High St") is None


def test_fake_geocoder_help_is_whole() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "actionkit.officials.fake_geocoder", "--help"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert "malformed JSON, no match)." in " ".join(out.split())  # the description's last sentence, in full
    assert "python -m actionkit.officials.fake_geocoder --port 8089" in out and "port to listen on" in out
