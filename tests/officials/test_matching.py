"""Matching: Mississippi addresses through the fake Census geocoder onto the directory loaded by run_sync, the
ZIP fallback, every failure path, the cache (no address stored), points, and the CLI."""
from __future__ import annotations

import hashlib
import json
import logging
import time

import pytest
import sqlalchemy as sa

from actionkit.extensions import db
from actionkit.officials import matching
from actionkit.officials.geocoders import parse_coordinates_response, parse_response
from actionkit.officials.matching import Accuracy, AddressError, choose, match, match_point, resolve_pending
from actionkit.officials.models import STATEWIDE_EXECUTIVES, DivisionType, GeocodeCacheEntry, OfficeType
from tests.officials.conftest import CENSUS_FIXTURES

JACKSON = "400 High St, Jackson, MS 39201"
GULFPORT = "2309 15th St, Gulfport, MS 39501"
TUPELO = "71 E Troy St, Tupelo, MS 38804"
HATTIESBURG = "200 Forrest St, Hattiesburg, MS 39401"
CAPITOL_POINT = (32.303820, -90.182186)
HATTIESBURG_POINT = (31.326190, -89.290330)


def holder_names(m: matching.Match, level: OfficeType) -> list[str]:
    return [o.holder.name for o in m.offices.get(level, []) if o.holder is not None]


def numbers(divisions: list) -> list[int]:
    return sorted(int(d.geoid[2:]) for d in divisions)


class StubGeocoder:
    """A geocoder answering one fixed (possibly edited) recorded body, to test matching on odd answers."""

    name = "census"
    vintage_key = "stub"

    def __init__(self, body: dict) -> None:
        self.body = body

    def geocode(self, query):  # type: ignore[no-untyped-def]
        return parse_response(self.body)

    def geographies_at(self, lat, lon):  # type: ignore[no-untyped-def]
        return parse_coordinates_response({"result": {"geographies":
                                                      self.body["result"]["addressMatches"][0]["geographies"]}})


def fixture(name: str) -> dict:
    return json.loads((CENSUS_FIXTURES / name).read_text())


@pytest.mark.parametrize("address, county, cd, sldu, sldl, rep, senator, representative", [
    (JACKSON, "Hinds County", 2, 29, 66, "Thompson", "Blount", "Nelson"),
    (GULFPORT, "Harrison County", 4, 49, 121, "Ezell", "Carter", "Crawford"),
    (TUPELO, "Lee County", 1, 6, 17, "Kelly", "McMahan", "Aguirre"),
    (HATTIESBURG, "Forrest County", 4, 34, 102, "Ezell", "Barnett", "McGee"),
])
def test_mississippi_addresses_get_their_districts_and_officials(ms_app, address, county, cd, sldu, sldl, rep,
                                                                 senator, representative):
    m = match(address)
    assert (m.accuracy, m.source, m.complete, m.needs_confirmation) == (Accuracy.STREET, "census", True, False)
    assert m.divisions[DivisionType.COUNTY].name == county
    assert m.divisions[DivisionType.CD].ocd_id == f"ocd-division/country:us/state:ms/cd:{cd}"
    assert m.divisions[DivisionType.SLDU].geoid == f"28{sldu:03d}"
    assert m.divisions[DivisionType.SLDL].geoid == f"28{sldl:03d}"
    assert m.divisions[DivisionType.STATE].ocd_id == "ocd-division/country:us/state:ms"
    assert [o.title for o in m.offices[OfficeType.SHERIFF]] == [f"Sheriff of {county}"]
    assert rep in " ".join(holder_names(m, OfficeType.US_REPRESENTATIVE))
    assert sorted(n.split()[-1] for n in holder_names(m, OfficeType.US_SENATOR)) == ["Hyde-Smith", "Wicker"]
    assert senator in " ".join(holder_names(m, OfficeType.STATE_SENATOR))
    assert representative in " ".join(holder_names(m, OfficeType.STATE_REPRESENTATIVE))
    assert not m.pending and "boundary_disagreement" not in m.warnings


def test_levels_limit_the_offices_and_accept_strings(ms_app):
    m = match(JACKSON, ["sheriff", OfficeType.US_REPRESENTATIVE])
    assert set(m.offices) == {OfficeType.SHERIFF, OfficeType.US_REPRESENTATIVE}
    assert m.divisions[DivisionType.SLDU].geoid == "28029"  # divisions are always reported
    with pytest.raises(ValueError):
        match(JACKSON, ["mayor"])


def test_structured_form_fields_match_like_one_line(ms_app, fake_census):
    m = match({"street": "400 High Street", "city": "Jackson", "zip": "39201"})
    assert m.divisions[DivisionType.CD].geoid == "2802"
    path, params = fake_census.requests[-1]
    assert path == "/geocoder/geographies/address"
    assert (params["street"], params["state"], params["zip"]) == ("400 HIGH ST", "MS", "39201")
    assert params["benchmark"] == "Public_AR_Current" and params["vintage"] == "Current_Current"
    assert "119th Congressional Districts" in params["layers"] and params["format"] == "json"


def test_second_match_comes_from_the_cache_without_a_request(ms_app, fake_census):
    first = match(JACKSON)
    db.session.commit()
    second = match("400 HIGH STREET, Jackson, Mississippi 39201-1234")
    assert len(fake_census.requests) == 1
    assert second.source == "cache" and second.accuracy is Accuracy.STREET
    assert {t: d.ocd_id for t, d in second.divisions.items()} == {t: d.ocd_id for t, d in first.divisions.items()}
    assert holder_names(second, OfficeType.US_REPRESENTATIVE) == holder_names(first, OfficeType.US_REPRESENTATIVE)


def test_cache_rows_hold_districts_only_never_the_address(ms_app):
    match(JACKSON)
    match(GULFPORT)
    db.session.commit()
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM geocode_cache_entries")).mappings().all()
    assert len(rows) == 2
    raw = json.dumps([dict(r) for r in rows], default=str).upper()
    for fragment in ("HIGH", "400 ", "15TH", "2309", "39201", "39501", "JACKSON", "GULFPORT", "-90.18", "32.30"):
        assert fragment not in raw
    norm = matching.normalise_address(JACKSON)
    plain = hashlib.sha256(norm.cache_text("ms").encode()).hexdigest()
    keys = {r["key"] for r in rows}
    assert all(len(k) == 64 for k in keys) and plain not in keys
    payload = rows[0]["divisions"]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert set(payload) == {"state", "county", "cd", "sldu", "sldl", "place"}
    assert payload["place"] == {"geoid": "2836000", "name": ""}  # the city's name would say where they live
    assert all(set(v) == {"geoid", "name"} for v in payload.values())


def test_cache_key_depends_on_the_hmac_key(ms_app):
    from actionkit.privacy.crypto import Crypto

    norm = matching.normalise_address(JACKSON)
    geocoder = matching.get_geocoder()
    key = matching.cache_key(norm, "ms", geocoder)
    original = ms_app.extensions["crypto"]
    ms_app.extensions["crypto"] = Crypto(ms_app.config["ENCRYPTION_KEYS"], "another-hmac-key")
    try:
        assert matching.cache_key(norm, "ms", geocoder) != key
    finally:
        ms_app.extensions["crypto"] = original


def test_expired_cache_rows_are_ignored_and_purged(ms_app, fake_census):
    match(JACKSON)
    entry = db.session.scalar(sa.select(GeocodeCacheEntry))
    entry.expires_at = entry.expires_at.replace(year=2000)
    db.session.flush()
    assert match(JACKSON).source == "census"
    assert len(fake_census.requests) == 2
    db.session.refresh(entry)
    assert entry.expires_at.year > 2000  # refreshed by the upsert
    entry.expires_at = entry.expires_at.replace(year=2000)
    db.session.flush()
    assert matching.purge_expired_cache() == 1


def test_equivalent_spellings_normalise_alike():
    texts = {matching.normalise_address(a).cache_text("ms") for a in (
        "400 High Street, Jackson, Mississippi 39201-1234", "400 HIGH ST., JACKSON MS 39201",
        "400 High St Apt 5, Jackson, MS 39201", "400 high st\nJackson, MS 39201")}
    assert len(texts) == 1
    north = matching.normalise_address("100 North State Street, Jackson, MS 39201")
    assert north.street == "N STATE ST"


def test_geocoder_500_falls_back_to_the_zip_and_the_supporter_picks_in_a_split_zip(ms_app, fake_census):
    fake_census.mode = "500"
    m = match("123 Unknown St, Jackson, MS 39201")
    assert (m.accuracy, m.source, m.needs_confirmation, m.retryable) == (Accuracy.ZIP, "zip", True, True)
    assert m.divisions[DivisionType.COUNTY].name == "Hinds County"
    assert numbers(m.candidates[DivisionType.CD]) == [2, 3]
    # no ZIP or county shape says which city: police chiefs wait for the full match too
    assert m.pending == {OfficeType.STATE_SENATOR, OfficeType.STATE_REPRESENTATIVE, OfficeType.POLICE_CHIEF}
    assert {"geocoder_unavailable", "zip_only", "zip_spans_districts", "levels_pending"} <= set(m.warnings)
    assert OfficeType.US_REPRESENTATIVE not in m.offices and len(m.offices[OfficeType.US_SENATOR]) == 2
    assert len(fake_census.requests) == 2  # one retry
    cd3 = next(d for d in m.candidates[DivisionType.CD] if d.geoid == "2803")
    picked = choose(m, cd3)
    assert "Guest" in " ".join(holder_names(picked, OfficeType.US_REPRESENTATIVE))
    assert not picked.candidates and "zip_spans_districts" not in picked.warnings
    assert picked.pending == m.pending and picked.accuracy is Accuracy.ZIP
    assert db.session.scalar(sa.select(sa.func.count(GeocodeCacheEntry.id))) == 0  # fallbacks are not cached


def test_geocoder_timeout_takes_the_zip_path_without_making_the_supporter_wait(ms_app, fake_census):
    fake_census.mode = "timeout"
    started = time.monotonic()
    m = match(HATTIESBURG)
    assert time.monotonic() - started < 2.0
    assert m.accuracy is Accuracy.ZIP and "geocoder_unavailable" in m.warnings
    assert m.divisions[DivisionType.COUNTY].name == "Forrest County"
    assert numbers(m.candidates[DivisionType.CD]) == [3, 4]  # 39401 is split


def test_malformed_json_takes_the_zip_path(ms_app, fake_census, caplog):
    fake_census.mode = "malformed"
    m = match(GULFPORT)
    assert m.accuracy is Accuracy.ZIP and m.retryable
    assert m.divisions[DivisionType.CD].geoid == "2804"  # 39501 is in one district only
    assert len(fake_census.requests) == 1  # not retried
    assert "malformed JSON" in caplog.text


def test_zero_matches_use_the_zip_and_ask_to_check_the_address(ms_app):
    m = match("1 Nowhere Rd, Jackson, MS 39201")
    assert m.accuracy is Accuracy.ZIP and not m.retryable
    assert "address_not_found_zip_used" in m.warnings
    with pytest.raises(AddressError) as err:
        match("1 Nowhere Rd, Springfield, MS 39999")
    assert err.value.code == "address_not_found"


def test_several_matches_become_candidates(ms_app):
    m = match("1500 Northside Dr, Jackson, MS")
    assert m.accuracy is Accuracy.STREET and m.needs_confirmation and not m.complete
    assert m.address_candidates == ["1500 E NORTHSIDE DR, JACKSON, MS, 39211", "1500 W NORTHSIDE DR, JACKSON, MS, 39209"]
    assert numbers(m.candidates[DivisionType.CD]) == [2, 3]
    assert numbers(m.candidates[DivisionType.SLDU]) == [26, 28]
    assert m.divisions[DivisionType.COUNTY].name == "Hinds County"  # both agree on the county
    assert "several_addresses" in m.warnings
    assert db.session.scalar(sa.select(sa.func.count(GeocodeCacheEntry.id))) == 0


def test_geocoder_down_and_unknown_zip_still_accepts_with_everything_pending(ms_app, fake_census):
    fake_census.mode = "500"
    m = match("12 Elm St, Nowhere, MS 39999")
    assert (m.accuracy, m.source, m.retryable) == (Accuracy.NONE, "none", True)
    assert set(m.divisions) == {DivisionType.STATE} and len(m.offices[OfficeType.US_SENATOR]) == 2
    assert m.pending == set(OfficeType) - {OfficeType.US_SENATOR, OfficeType.FIXED_TARGET} - set(STATEWIDE_EXECUTIVES)
    # The statewide officials hang off the state, so they are matched even with the geocoder down.
    assert [o.holder.name for o in m.offices[OfficeType.GOVERNOR]] == ["Tate Reeves"]
    assert [o.holder.name for o in m.offices[OfficeType.ATTORNEY_GENERAL]] == ["Lynn Fitch"]


def test_circuit_breaker_stops_calling_a_dead_geocoder(ms_app, fake_census):
    fake_census.mode = "500"
    for street in ("1 A St", "2 B St", "3 C St"):
        assert match(f"{street}, Jackson, MS 39201").accuracy is Accuracy.ZIP
    assert len(fake_census.requests) == 6  # 3 lookups x (1 try + 1 retry); the breaker opens at 3
    started = time.monotonic()
    assert match("4 D St, Jackson, MS 39201").accuracy is Accuracy.ZIP
    assert len(fake_census.requests) == 6 and time.monotonic() - started < 0.5


def test_disabled_geocoder_uses_the_offline_fallback(ms_app, fake_census):
    ms_app.config["GEOCODER"]["backend"] = "none"
    ms_app.extensions.pop("actionkit.geocoder", None)
    m = match(JACKSON)
    assert m.accuracy is Accuracy.ZIP and not fake_census.requests


@pytest.mark.parametrize("address, code", [
    ("", "address_empty"),
    ("  , \n ", "address_empty"),
    (None, "address_empty"),
    ("400 High St, Jackson, MS 39201 " * 400, "address_too_long"),
    ("400 High St\x00, Jackson, MS 39201", "address_invalid_characters"),
    ("400 High St\x1b[2J, Jackson, MS 39201", "address_invalid_characters"),
    ("400 High\u200b St, Jackson, MS 39201", "address_invalid_characters"),
    ("400 High St 🏠, Jackson, MS 39201", "address_invalid_characters"),
    ("400 High St <script>, Jackson, MS 39201", "address_invalid_characters"),
    ("北京市朝阳区建国路 400号", "address_not_latin"),
    ("ул. Ленина 5, Jackson, MS 39201", "address_not_latin"),
    ("٤٠٠ High St, Jackson, MS 39201", "address_not_latin"),
    ("PO Box 123, Jackson, MS 39201", "address_po_box"),
    ("P.O. Box 5, Tupelo, MS 38802", "address_po_box"),
    ("Jackson, MS", "address_incomplete"),
    ("39201", "address_incomplete"),
    ("High Street, Jackson, MS 39201", "address_incomplete"),
    ("400 High St", "address_incomplete"),
    ("100 Main St, Memphis, TN 38103", "address_outside_state"),
])
def test_unusable_input_gets_a_specific_translatable_message(ms_app, fake_census, address, code):
    with pytest.raises(AddressError) as err:
        match(address)
    assert err.value.code == code and str(err.value) == matching.message(code, **err.value.params)
    assert code in matching.MESSAGES and str(err.value)
    assert not fake_census.requests


def test_accented_latin_addresses_are_accepted():
    norm = matching.normalise_address("400 Calle Peñón, Jackson, MS 39201")
    assert norm.number == "400" and "PEÑÓN" in norm.street


def test_geocoder_answer_in_another_state_is_refused(ms_app):
    with pytest.raises(AddressError) as err:
        match("125 N Main St, Memphis 38103")
    assert err.value.code == "address_outside_state" and "Mississippi" in str(err.value)


def test_rural_route_goes_straight_to_the_zip(ms_app, fake_census):
    m = match("RR 2 Box 10, Tupelo, MS 38804")
    assert m.accuracy is Accuracy.ZIP and "rural_route" in m.warnings and not fake_census.requests
    assert m.divisions[DivisionType.COUNTY].name == "Lee County"


def test_layer_errors_leave_those_levels_pending_and_uncached(ms_app):
    body = fixture("ms_400_high_st_jackson.json")
    geos = body["result"]["addressMatches"][0]["geographies"]
    for layer in ("2024 State Legislative Districts - Upper", "2024 State Legislative Districts - Lower"):
        geos[layer] = [{"status": "Layer query encountered an error: java.lang.RuntimeException: Failed to return"}]
    m = match(JACKSON, geocoder=StubGeocoder(body))
    assert m.accuracy is Accuracy.STREET and m.divisions[DivisionType.CD].geoid == "2802"
    assert m.pending == {OfficeType.STATE_SENATOR, OfficeType.STATE_REPRESENTATIVE} and m.retryable
    assert "geocoder_partial" in m.warnings
    assert db.session.scalar(sa.select(sa.func.count(GeocodeCacheEntry.id))) == 0


def test_a_failed_cd_layer_is_filled_from_the_zip_at_zip_accuracy(ms_app):
    body = fixture("ms_400_high_st_jackson.json")
    body["result"]["addressMatches"][0]["geographies"]["119th Congressional Districts"] = [
        {"status": "Layer query encountered an error: java.lang.RuntimeException: Failed to return"}]
    m = match(JACKSON, geocoder=StubGeocoder(body))
    assert m.accuracy is Accuracy.ZIP and m.needs_confirmation
    assert numbers(m.candidates[DivisionType.CD]) == [2, 3] and m.divisions[DivisionType.SLDU].geoid == "28029"
    assert {"geocoder_partial", "zip_spans_districts"} <= set(m.warnings)


def test_recently_redrawn_legislative_districts_are_flagged(ms_app):
    body = fixture("ms_400_high_st_jackson.json")
    upper = body["result"]["addressMatches"][0]["geographies"]["2024 State Legislative Districts - Upper"][0]
    upper.update({"GEOID": "28026", "SLDU": "026", "BASENAME": "26"})
    m = match(JACKSON, geocoder=StubGeocoder(body))
    assert m.divisions[DivisionType.SLDU].geoid == "28026" and "district_recently_redrawn" in m.warnings


def test_disagreement_with_the_boundary_files_is_logged_without_personal_data(ms_app, caplog):
    body = fixture("ms_400_high_st_jackson.json")
    cd = body["result"]["addressMatches"][0]["geographies"]["119th Congressional Districts"][0]
    cd.update({"GEOID": "2803", "CD119": "03", "BASENAME": "3"})
    with caplog.at_level(logging.INFO):
        m = match(JACKSON, geocoder=StubGeocoder(body))
    assert m.divisions[DivisionType.CD].geoid == "2803"  # the geocoder's finer data wins …
    assert "boundary_disagreement" in m.warnings  # … but the match is flagged for a check
    assert "disagree on cd: geocoder 2803, boundaries 2802" in caplog.text
    for fragment in ("HIGH", "High", "39201", "32.30", "-90.18"):
        assert fragment not in caplog.text


def test_resolve_pending(ms_app, fake_census):
    fake_census.mode = "500"
    assert resolve_pending(JACKSON) is None
    fake_census.mode = "ok"
    assert resolve_pending("1500 Northside Dr, Jackson, MS") is None  # still needs the supporter
    assert resolve_pending("1 Nowhere Rd, Jackson, MS 39201") is None
    m = resolve_pending(JACKSON, ["state_senator"])
    assert m is not None and m.complete and m.accuracy is Accuracy.STREET
    assert "Blount" in " ".join(holder_names(m, OfficeType.STATE_SENATOR))
    fake_census.mode = "500"
    assert resolve_pending(JACKSON).source == "cache"
    with pytest.raises(AddressError):
        resolve_pending("PO Box 1, Jackson, MS 39201")


def test_match_point_asks_the_census_coordinates_search(ms_app, fake_census):
    m = match_point(34.257620, -88.703410)
    assert (m.accuracy, m.source, m.complete) == (Accuracy.ROOFTOP, "census", True)
    assert m.divisions[DivisionType.COUNTY].name == "Lee County" and m.divisions[DivisionType.SLDL].geoid == "28017"
    assert fake_census.requests[-1][0] == "/geocoder/geographies/coordinates"


def test_match_point_uses_the_boundary_files_when_the_geocoder_is_down(ms_app, fake_census):
    fake_census.mode = "500"
    m = match_point(*HATTIESBURG_POINT)
    assert (m.accuracy, m.source, m.retryable) == (Accuracy.ROOFTOP, "boundaries", True)
    assert m.divisions[DivisionType.COUNTY].name == "Forrest County" and m.divisions[DivisionType.CD].geoid == "2804"
    # no ZIP or county shape says which city: police chiefs wait for the full match too
    assert m.pending == {OfficeType.STATE_SENATOR, OfficeType.STATE_REPRESENTATIVE, OfficeType.POLICE_CHIEF}
    near_line = match_point(32.3500, -90.1760)  # ~70 m from the CD 2/3 line in the 1:20m file
    assert numbers(near_line.candidates[DivisionType.CD]) == [2, 3] and "near_district_line" in near_line.warnings
    with pytest.raises(AddressError) as err:
        match_point(35.1466, -90.0519)  # Memphis
    assert err.value.code == "location_outside_state"


def test_match_point_fills_failed_layers_from_the_boundary_files(ms_app):
    body = fixture("ms_200_forrest_st_hattiesburg.json")
    geos = body["result"]["addressMatches"][0]["geographies"]
    geos["119th Congressional Districts"] = [{"status": "Layer query encountered an error"}]
    m = match_point(*HATTIESBURG_POINT, geocoder=StubGeocoder(body))
    assert m.divisions[DivisionType.CD].geoid == "2804" and m.divisions[DivisionType.SLDU].geoid == "28034"
    assert m.complete and "geocoder_partial" in m.warnings and m.source == "census"


def test_match_point_outside_the_state_with_the_geocoder_up(ms_app):
    with pytest.raises(AddressError) as err:
        match_point(40.0, -100.0)
    assert err.value.code == "location_outside_state"


@pytest.mark.parametrize("lat, lon", [(float("nan"), 0), (91, 0), (0, 181), ("x", 1), (None, 1)])
def test_match_point_rejects_impossible_locations(ms_app, lat, lon):
    with pytest.raises(AddressError) as err:
        match_point(lat, lon)
    assert err.value.code == "location_invalid"


def test_match_point_without_boundaries_or_geocoder_only_knows_the_state(app, fake_census):
    from tests.officials.conftest import geocoder_settings

    app.config["GEOCODER"].update(geocoder_settings(fake_census.url))
    fake_census.mode = "500"
    m = match_point(*CAPITOL_POINT)
    assert m.accuracy is Accuracy.NONE and not m.offices  # empty directory: only the state is known
    assert m.pending == set(OfficeType) - {OfficeType.US_SENATOR, OfficeType.FIXED_TARGET} - set(STATEWIDE_EXECUTIVES)


def test_cli_match_prints_the_match(ms_app):
    runner = ms_app.test_cli_runner()
    result = runner.invoke(args=["officials", "match", JACKSON])
    assert result.exit_code == 0, result.output
    assert "accuracy: street" in result.output and "Hinds County" in result.output
    assert "Thompson" in result.output and "Wicker" in result.output
    result = runner.invoke(args=["officials", "match", JACKSON, "--levels", "sheriff,us_representative", "--json"])
    data = json.loads(result.output)
    assert data["source"] == "cache" and set(data["offices"]) == {"sheriff", "us_representative"}
    assert data["divisions"]["cd"]["geoid"] == "2802"
    result = runner.invoke(args=["officials", "match", "PO Box 9, Jackson, MS 39201"])
    assert result.exit_code == 1 and "P.O. box" in result.output and "address_po_box" in result.output
    result = runner.invoke(args=["officials", "match", JACKSON, "--levels", "mayor"])
    assert result.exit_code == 2


def test_outside_any_incorporated_place_the_sheriff_is_local_law_enforcement(ms_app):
    body = fixture("ms_400_high_st_jackson.json")
    body["result"]["addressMatches"][0]["geographies"]["Incorporated Places"] = []  # Census: in no place
    levels = [OfficeType.SHERIFF, OfficeType.POLICE_CHIEF]
    m = match(JACKSON, levels, geocoder=StubGeocoder(body))
    assert m.complete and not m.pending and DivisionType.PLACE not in m.divisions
    assert m.absent == {DivisionType.PLACE} and "no_city_police" in m.warnings
    assert [o.title for o in m.offices[OfficeType.SHERIFF]] == ["Sheriff of Hinds County"]
    assert "sheriff is your local law enforcement" in matching.message("no_city_police")
    db.session.commit()
    again = match(JACKSON, levels, geocoder=StubGeocoder(body))
    assert again.source == "cache" and again.absent == {DivisionType.PLACE} and "no_city_police" in again.warnings
    # A campaign without police chiefs is not told about city police at all.
    assert "no_city_police" not in match(JACKSON, [OfficeType.SHERIFF], geocoder=StubGeocoder(body)).warnings


@pytest.mark.parametrize("layer", [None, [{"status": "Layer query encountered an error: java.lang.RuntimeException"}]])
def test_answer_without_the_places_layer_leaves_police_chiefs_pending_for_a_retry(ms_app, layer):
    body = fixture("ms_400_high_st_jackson.json")
    geos = body["result"]["addressMatches"][0]["geographies"]
    if layer is None:
        del geos["Incorporated Places"]
    else:
        geos["Incorporated Places"] = layer
    levels = [OfficeType.SHERIFF, OfficeType.POLICE_CHIEF]
    m = match(JACKSON, levels, geocoder=StubGeocoder(body))
    assert m.pending == {OfficeType.POLICE_CHIEF} and m.retryable and "levels_pending" in m.warnings
    assert [o.title for o in m.offices[OfficeType.SHERIFF]] == ["Sheriff of Hinds County"]
    assert "no_city_police" not in m.warnings
    db.session.commit()
    # The cached answer lacks the place: a police-chief campaign asks the geocoder again (which now answers).
    full = fixture("ms_400_high_st_jackson.json")
    retried = matching.resolve_pending(JACKSON, levels, geocoder=StubGeocoder(full))
    assert retried is not None and retried.source == "census"
    # Jackson has no police chief in this directory: said so, nothing left pending
    assert retried.absent == {DivisionType.PLACE} and "place_not_in_directory" in retried.warnings


def test_a_city_not_in_the_directory_stays_that_after_a_choice(ms_app):
    """Two addresses (Northside Dr E/W), both in Jackson, which has no police chief here: after the supporter picks
    a district the page still says the city is not in the directory, never that they have no city police."""
    levels = [OfficeType.US_REPRESENTATIVE, OfficeType.POLICE_CHIEF]
    m = match("1500 Northside Dr, Jackson, MS", levels,
              geocoder=StubGeocoder(fixture("ms_1500_northside_dr_jackson_multiple.json")))
    assert "place_not_in_directory" in m.warnings and "no_city_police" not in m.warnings
    picked = choose(m, m.candidates[DivisionType.CD][0])
    assert "place_not_in_directory" in picked.warnings and "no_city_police" not in picked.warnings
    assert OfficeType.POLICE_CHIEF not in picked.pending
