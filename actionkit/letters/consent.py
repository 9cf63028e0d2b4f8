"""The consented list: supporters who ticked "organizers may contact me", in the words they agreed to, and the
one-click withdrawal every e-mail to them carries. Withdrawal is immediate and audited; the phone given with the
consent goes with it. Plain functions: they flush, the caller commits."""
from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import Select, update
from sqlalchemy.orm import selectinload

from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.letters.models import Action, Consent, Supporter
from actionkit.privacy.crypto import crypto
from actionkit.staff.models import StaffUser
from actionkit.staff.services import audit

_PURPOSE = "consent-withdraw"


def withdraw_token(supporter_id: int) -> str:
    """A permanent, unguessable token for the withdrawal link (the id and its keyed hash; nothing stored)."""
    return f"{supporter_id}.{crypto().lookup_hash(str(supporter_id), _PURPOSE)[:32]}"


def supporter_for(token: str) -> Supporter | None:
    """The supporter a withdrawal token names, or None when it is malformed or forged."""
    head, _, mac = (token or "").partition(".")
    if not head.isdigit() or len(head) > 12 or not mac:
        return None
    if not hmac.compare_digest(withdraw_token(int(head)), token):
        return None
    return db.session.get(Supporter, int(head))


def withdraw(supporter: Supporter, *, via: str, actor: StaffUser | None = None,
             now: dt.datetime | None = None) -> bool:
    """Withdraw the supporter's consent at once: off the list, phone erased, consents marked, audited.
    False when there was no consent to withdraw (a second click changes nothing)."""
    if not supporter.opt_in:
        return False
    now = now or utcnow()
    supporter.opt_in, supporter.phone = False, None
    db.session.execute(update(Consent).where(Consent.supporter_id == supporter.id, Consent.withdrawn_at.is_(None))
                       .values(withdrawn_at=now, updated_at=now).execution_options(synchronize_session=False))
    audit(actor, "supporter.consent_withdrawn", "supporter", supporter.id, via=via)
    db.session.flush()
    return True


@dataclass(frozen=True)
class ListedSupporter:
    """One row of the consented list."""

    supporter_id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    county: str
    language: str
    consented_at: dt.datetime
    wording_version: int
    wording: str

    HEADER = ("supporter_id", "first_name", "last_name", "email", "phone", "county", "language", "consented_at",
              "wording_version", "wording")

    def row(self) -> list[str]:
        return [str(self.supporter_id), self.first_name, self.last_name, self.email, self.phone, self.county,
                self.language, self.consented_at.isoformat(), str(self.wording_version), self.wording]


def _consented(campaign_id: int | None) -> Select[tuple[Supporter, Consent]]:
    """(supporter, latest standing consent) of everyone on the list."""
    latest = (db.select(Consent.supporter_id, db.func.max(Consent.id).label("consent_id"))
              .where(Consent.withdrawn_at.is_(None)).group_by(Consent.supporter_id))
    if campaign_id is not None:
        latest = latest.where(Consent.campaign_id == campaign_id)
    latest_sq = latest.subquery()
    return (db.select(Supporter, Consent)
            .join(latest_sq, latest_sq.c.supporter_id == Supporter.id)
            .join(Consent, Consent.id == latest_sq.c.consent_id)
            .where(Supporter.opt_in.is_(True), Supporter.deleted_at.is_(None), Supporter.email.is_not(None)))


def consented(campaign_id: int | None = None, batch: int = 500) -> Iterator[ListedSupporter]:
    """Every supporter who consents now (opt_in, not deleted), with their latest consent's date and words and the
    county of their latest action; only those who consented on `campaign_id` when given. Streams in batches."""
    stmt = _consented(campaign_id).options(selectinload(Consent.wording)).order_by(Supporter.id)
    last_id = 0
    while True:
        rows = db.session.execute(stmt.where(Supporter.id > last_id).limit(batch)).all()
        if not rows:
            return
        counties = _latest_counties([s.id for s, _c in rows])
        for supporter, consent in rows:
            yield ListedSupporter(supporter.id, supporter.first_name or "", supporter.last_name or "",
                                  supporter.email or "", supporter.phone or "", counties.get(supporter.id, ""),
                                  supporter.language, consent.created_at, consent.wording_id, consent.wording.text)
        last_id = rows[-1][0].id


def _latest_counties(supporter_ids: list[int]) -> dict[int, str]:
    actions = db.session.scalars(db.select(Action).where(Action.supporter_id.in_(supporter_ids))
                                 .options(selectinload(Action.county)).order_by(Action.id))
    return {a.supporter_id: a.county.name for a in actions if a.county is not None}


def count_consented(campaign_id: int | None = None) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(_consented(campaign_id).subquery())) or 0
