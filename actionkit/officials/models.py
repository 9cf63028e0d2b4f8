"""The officials directory: divisions (Open Civic Data ids), offices (seats) and the people who hold them."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from sqlalchemy import JSON, Date, DateTime, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actionkit.db import TimestampMixin, utcnow
from actionkit.extensions import db


def _enum(cls: type[enum.Enum]) -> Enum:
    """Store enums as their string values (portable, readable in SQL, no native DB enum to migrate)."""
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class DivisionType(str, enum.Enum):
    STATE = "state"
    COUNTY = "county"
    CD = "cd"
    SLDU = "sldu"
    SLDL = "sldl"
    PLACE = "place"  # a Census incorporated place (city, town, village)
    COUNTRY = "country"  # the United States: fixed targets every supporter writes to hang off it


class OfficeType(str, enum.Enum):
    SHERIFF = "sheriff"
    STATE_SENATOR = "state_senator"
    STATE_REPRESENTATIVE = "state_representative"
    US_REPRESENTATIVE = "us_representative"
    US_SENATOR = "us_senator"
    # Statewide executives (Open States executive files).
    GOVERNOR = "governor"
    LIEUTENANT_GOVERNOR = "lieutenant_governor"
    ATTORNEY_GENERAL = "attorney_general"
    SECRETARY_OF_STATE = "secretary_of_state"
    # Municipal police (staff-maintained police chiefs CSV).
    POLICE_CHIEF = "police_chief"
    # Staff-created targets every supporter writes to, whatever the address (a federal agency head, an ICE office).
    FIXED_TARGET = "fixed_target"


# Which kind of division each office type hangs off.
OFFICE_DIVISION = {
    OfficeType.SHERIFF: DivisionType.COUNTY,
    OfficeType.STATE_SENATOR: DivisionType.SLDU,
    OfficeType.STATE_REPRESENTATIVE: DivisionType.SLDL,
    OfficeType.US_REPRESENTATIVE: DivisionType.CD,
    OfficeType.US_SENATOR: DivisionType.STATE,
    OfficeType.GOVERNOR: DivisionType.STATE,
    OfficeType.LIEUTENANT_GOVERNOR: DivisionType.STATE,
    OfficeType.ATTORNEY_GENERAL: DivisionType.STATE,
    OfficeType.SECRETARY_OF_STATE: DivisionType.STATE,
    OfficeType.POLICE_CHIEF: DivisionType.PLACE,
    OfficeType.FIXED_TARGET: DivisionType.COUNTRY,
}
STATEWIDE_EXECUTIVES = (OfficeType.GOVERNOR, OfficeType.LIEUTENANT_GOVERNOR, OfficeType.ATTORNEY_GENERAL,
                        OfficeType.SECRETARY_OF_STATE)


class AgreementStatus(str, enum.Enum):
    PARTICIPATING = "participating"
    PENDING = "pending"


class Division(TimestampMixin, db.Model):
    """A political geography keyed by its OCD id, e.g. ocd-division/country:us/state:ms/county:hinds."""

    __tablename__ = "divisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ocd_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[DivisionType] = mapped_column(_enum(DivisionType), index=True)
    state: Mapped[str] = mapped_column(String(2), index=True)  # lower-case postal code, e.g. "ms"
    geoid: Mapped[Optional[str]] = mapped_column(String(16), index=True)  # Census GEOID: 28, 28049, 2802, 28037,
    # 2836000 (place)
    source: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[Optional[dt.date]] = mapped_column(Date)

    offices: Mapped[list["Office"]] = relationship(back_populates="division")

    def __repr__(self) -> str:
        return f"<Division {self.ocd_id}>"


class Office(TimestampMixin, db.Model):
    """A seat (e.g. Sheriff of Hinds County) that exists whether or not its holder is known."""

    __tablename__ = "offices"
    __table_args__ = (UniqueConstraint("division_id", "type", "seat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), index=True)
    type: Mapped[OfficeType] = mapped_column(_enum(OfficeType), index=True)
    seat: Mapped[str] = mapped_column(String(16), default="")  # US Senate class ("1"/"2"); "" elsewhere
    title: Mapped[str] = mapped_column(String(255))
    # Contact channels of the seat (the current holder's, kept up to date by sync and staff edits).
    email: Mapped[Optional[str]] = mapped_column(String(255))
    phone: Mapped[Optional[str]] = mapped_column(String(64))
    fax: Mapped[Optional[str]] = mapped_column(String(64))
    postal_address: Mapped[Optional[str]] = mapped_column(Text)
    web_form_url: Mapped[Optional[str]] = mapped_column(String(512))
    website: Mapped[Optional[str]] = mapped_column(String(512))
    cwc_office_code: Mapped[Optional[str]] = mapped_column(String(16))
    # How sure the source is of the holder and contacts (e.g. the sheriffs CSV's high/medium/low) and its notes.
    data_confidence: Mapped[Optional[str]] = mapped_column(String(16))
    data_notes: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[Optional[str]] = mapped_column(String(512))
    as_of: Mapped[Optional[dt.date]] = mapped_column(Date)

    division: Mapped[Division] = relationship(back_populates="offices")
    officials: Mapped[list["Official"]] = relationship(back_populates="office", order_by="Official.id")
    agreements: Mapped[list["Agreement287g"]] = relationship(back_populates="office")

    @property
    def holder(self) -> Optional["Official"]:
        """The current holder, or None for a vacancy / unknown holder."""
        current = [o for o in self.officials if o.left_on is None]
        return current[-1] if current else None

    def __repr__(self) -> str:
        return f"<Office {self.title}>"


class Official(TimestampMixin, db.Model):
    """A person's tenure in one office; when the holder changes a new row is added and the old one ended."""

    __tablename__ = "officials"
    __table_args__ = (Index("ix_officials_office_current", "office_id", "left_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    person_key: Mapped[str] = mapped_column(String(128), index=True)  # bioguide:W000437, ocd-person/…, name:…
    name: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[Optional[str]] = mapped_column(String(128))
    last_name: Mapped[Optional[str]] = mapped_column(String(128))
    party: Mapped[Optional[str]] = mapped_column(String(64))
    email: Mapped[Optional[str]] = mapped_column(String(255))
    phone: Mapped[Optional[str]] = mapped_column(String(64))
    bioguide_id: Mapped[Optional[str]] = mapped_column(String(16), index=True)
    ocd_person_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    start_date: Mapped[Optional[dt.date]] = mapped_column(Date)  # start of the current term, per the source
    term_end: Mapped[Optional[dt.date]] = mapped_column(Date)  # scheduled end of term, per the source
    left_on: Mapped[Optional[dt.date]] = mapped_column(Date)  # set by sync when no longer the holder
    source: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[Optional[str]] = mapped_column(String(512))
    as_of: Mapped[Optional[dt.date]] = mapped_column(Date)

    office: Mapped[Office] = relationship(back_populates="officials")

    @property
    def is_current(self) -> bool:
        return self.left_on is None

    def __repr__(self) -> str:
        return f"<Official {self.name} ({self.office_id})>"


class Agreement287g(TimestampMixin, db.Model):
    """One row of ICE's 287(g) participating/pending spreadsheets (agency x support model)."""

    __tablename__ = "agreements_287g"
    __table_args__ = (UniqueConstraint("state", "agency", "support_type", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[Optional[int]] = mapped_column(ForeignKey("offices.id"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    agency: Mapped[str] = mapped_column(String(255))
    agency_type: Mapped[Optional[str]] = mapped_column(String(64))
    county: Mapped[Optional[str]] = mapped_column(String(128))
    support_type: Mapped[str] = mapped_column(String(128))
    status: Mapped[AgreementStatus] = mapped_column(_enum(AgreementStatus))
    signed_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    moa_url: Mapped[Optional[str]] = mapped_column(String(512))
    addendum_url: Mapped[Optional[str]] = mapped_column(String(512))
    ended_on: Mapped[Optional[dt.date]] = mapped_column(Date)  # no longer on ICE's list as of this date
    source: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[Optional[dt.date]] = mapped_column(Date)

    office: Mapped[Optional[Office]] = relationship(back_populates="agreements")


class Boundary(TimestampMixin, db.Model):
    """A division's polygon as GeoJSON geometry text, for point-in-polygon checks and the stats map."""

    __tablename__ = "boundaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"), unique=True)
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry object, serialised
    source: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[Optional[dt.date]] = mapped_column(Date)

    division: Mapped[Division] = relationship()


class ZipDivision(db.Model):
    """ZIP/ZCTA -> candidate county or congressional district, for the low-accuracy fallback."""

    __tablename__ = "zip_divisions"
    __table_args__ = (UniqueConstraint("zip", "division_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zip: Mapped[str] = mapped_column(String(5), index=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id"))
    source: Mapped[str] = mapped_column(String(64))

    division: Mapped[Division] = relationship()


class SyncRun(db.Model):
    """One source loaded by `flask officials sync`: where from, its date, and what changed."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    location: Mapped[str] = mapped_column(String(1024))  # URL or file path (public data, no personal data)
    sha256: Mapped[Optional[str]] = mapped_column(String(64))
    as_of: Mapped[Optional[dt.date]] = mapped_column(Date)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    changes: Mapped[list] = mapped_column(JSON, default=list)


class GeocodeCacheEntry(db.Model):
    """Districts found for one normalised address. Keyed by an HMAC of the address (SECRET_KEY), so the
    table holds no street address and no coordinates, only public district ids; rows expire."""

    __tablename__ = "geocode_cache_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # hex HMAC-SHA256
    divisions: Mapped[dict] = mapped_column(JSON)  # {"county": {"geoid": "28049", "name": "Hinds County"}, ...}
    accuracy: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class ChannelChangeStatus(str, enum.Enum):
    PENDING = "pending"  # proposed by an editor, waiting for an admin
    APPLIED = "applied"
    REJECTED = "rejected"


class ChannelChange(TimestampMixin, db.Model):
    """A change to an office's delivery channels (where its letters go) proposed by an editor; it takes effect
    only when an admin approves it, since a wrong address would send supporters' letters elsewhere."""

    __tablename__ = "office_channel_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [value when proposed, proposed value]}
    status: Mapped[ChannelChangeStatus] = mapped_column(_enum(ChannelChangeStatus), index=True,
                                                        default=ChannelChangeStatus.PENDING)
    proposed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime(timezone=True))

    office: Mapped[Office] = relationship()
class Position(str, enum.Enum):
    """An official's recorded position on ending the ICE detainer / 287(g) agreements."""

    SUPPORTS = "supports"  # supports ending the agreements
    OPPOSES = "opposes"
    UNDECIDED = "undecided"
    NO_RESPONSE = "no_response"


class OfficialResponse(db.Model):
    """A response of an office's holder as staff recorded it; a change adds a row, so the public record can say
    "as of" and the history stays. Public: the note and source are shown on the progress page."""

    __tablename__ = "official_responses"
    __table_args__ = (Index("ix_official_responses_office_recorded", "office_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    official_id: Mapped[Optional[int]] = mapped_column(ForeignKey("officials.id"))  # the holder who answered
    position: Mapped[Position] = mapped_column(_enum(Position))
    responded_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(280), default="")
    source_url: Mapped[Optional[str]] = mapped_column(String(512))
    source_label: Mapped[str] = mapped_column(String(120), default="")  # "Letter of 3 March", "WLBT news story"
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff_users.id"))

    office: Mapped[Office] = relationship()
    official: Mapped[Optional[Official]] = relationship()
