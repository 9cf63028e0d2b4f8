"""Delivery channels, one module each (email, cwc, print), and each office's ordered channel chain.

An office's chain is decided from its data and the organisation's configuration, e.g. Congress: CWC -> postal
-> print, sheriffs: email -> fax -> postal -> print, state legislators: email -> postal -> print. A delivery starts on the first channel that can
reach the office; a permanent failure moves it to the next one (delivery.services.record); print, hand delivery
by the organisers, is always the last resort. The reasons a channel was skipped are kept for staff.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from actionkit.delivery.channels.base import (
    Constituent, Outcome, Outgoing, Result, SendingChannel, Undeliverable, write_atomically,
)
from actionkit.delivery.channels.cwc import CwcChannel, chamber_of, cwc_code
from actionkit.delivery.channels.email import (
    EmailChannel, SmtpTransport, build_message, classify_smtp_error, from_domain, header_text, html_body,
    message_id,
)
from actionkit.delivery.channels.fax import FaxChannel, e164
from actionkit.delivery.channels.postal import PostalChannel, parse_address
from actionkit.delivery.channels.print import SEALED_SUFFIX, PrintChannel, PrintedLetter
from actionkit.delivery.models import Channel
from actionkit.officials.models import OfficeType

if TYPE_CHECKING:
    from actionkit.delivery.models import Delivery
    from actionkit.officials.models import Office

# Channels that need the supporter's street address until their deliveries are final (CWC's <Constituent>);
# the address purge keeps it while such a delivery is pending.
STREET_ADDRESS_CHANNELS: tuple[Channel, ...] = (Channel.CWC,)

# Channels whose deliveries the send task handles one at a time. PRINT waits for a batch; WEBHOOK has no
# implementation yet, so nothing can select it (the sweeper holds any such row for review).
QUEUED_CHANNELS: tuple[Channel, ...] = (Channel.EMAIL, Channel.CWC, Channel.POSTAL, Channel.FAX)
BATCHED_CHANNELS: tuple[Channel, ...] = (Channel.PRINT, Channel.DIGEST)  # DIGEST: delivery/digests.py
AVAILABLE_CHANNELS = QUEUED_CHANNELS + BATCHED_CHANNELS

# The order channels are tried in, per office type; PRINT ends every chain.
CHAIN_ORDER: dict[OfficeType, tuple[Channel, ...]] = {
    OfficeType.US_REPRESENTATIVE: (Channel.CWC, Channel.EMAIL, Channel.POSTAL, Channel.PRINT),
    OfficeType.US_SENATOR: (Channel.CWC, Channel.EMAIL, Channel.POSTAL, Channel.PRINT),
    OfficeType.SHERIFF: (Channel.EMAIL, Channel.FAX, Channel.POSTAL, Channel.PRINT),
    OfficeType.STATE_SENATOR: (Channel.EMAIL, Channel.POSTAL, Channel.PRINT),
    OfficeType.STATE_REPRESENTATIVE: (Channel.EMAIL, Channel.POSTAL, Channel.PRINT),
}
DEFAULT_ORDER: tuple[Channel, ...] = (Channel.EMAIL, Channel.FAX, Channel.POSTAL, Channel.PRINT)


@dataclass(frozen=True)
class Hop:
    """One channel of a chain and where it sends (an email address, a CWC office code; None for print)."""

    channel: Channel
    destination: Optional[str]


@dataclass(frozen=True)
class Chain:
    """An office's usable channels in order, and why the others were skipped (staff read these)."""

    hops: tuple[Hop, ...]
    skipped: tuple[tuple[Channel, str], ...]
    order: tuple[Channel, ...] = ()

    @property
    def first(self) -> Hop:
        return self.hops[0]

    def after(self, channel: Channel) -> Optional[Hop]:
        """The hop that follows `channel` in this chain (the fallback after a permanent failure)."""
        position = {c: i for i, c in enumerate(self.order)}
        failed = position.get(channel, -1)
        return next((h for h in self.hops if position.get(h.channel, -1) > failed), None)

    def skipped_before(self, channel: Channel, since: Optional[Channel] = None) -> list[str]:
        """Why the channels ordered before `channel` (and after `since`) were skipped."""
        position = {c: i for i, c in enumerate(self.order)}
        low = position.get(since, -1) if since is not None else -1
        high = position.get(channel, len(self.order))
        return [reason for c, reason in self.skipped if low < position.get(c, -1) < high]

    @property
    def reasons(self) -> list[str]:
        return [reason for _, reason in self.skipped]

    @property
    def reachable(self) -> bool:
        """Whether any channel other than hand delivery reaches the office."""
        return any(h.channel is not Channel.PRINT for h in self.hops)


def _hop(channel: Channel, office: "Office", config: dict[str, Any],
         listed_code: Optional[str] = None) -> tuple[Optional[Hop], Optional[str]]:
    """The hop for one channel, or the reason it cannot reach this office."""
    if channel is Channel.EMAIL:
        email = (office.email or "").strip().lower()
        return (Hop(channel, email), None) if email else (None, "email: the office has no email address")
    if channel is Channel.CWC:
        chamber = chamber_of(office.type)
        if chamber is None:
            return None, "cwc: not a congressional office"
        if not config["CWC"].get(f"{chamber}_url"):
            return None, f"cwc: {chamber.title()} CWC is not configured (ACTIONKIT_CWC__{chamber}_url)"
        code = cwc_code(office, listed_code)
        if code is None:
            return None, f"cwc: the office has no {chamber.title()} CWC office code" + (
                " (none on the cached active-office list)" if chamber == "senate" else "")
        return Hop(channel, code), None
    if channel is Channel.POSTAL:
        if not config.get("LOB", {}).get("api_key"):
            return None, "postal: Lob is not configured (ACTIONKIT_LOB__api_key)"
        address = " ".join((office.postal_address or "").split())
        if not address:
            return None, "postal: the office has no postal address"
        if parse_address(address) is None or len(address) > 255:
            return None, "postal: the office's address is not one line with city, state and ZIP code"
        return Hop(channel, address), None
    if channel is Channel.FAX:
        if not config.get("FAX", {}).get("url"):
            return None, "fax: no fax provider is configured (ACTIONKIT_FAX__url)"
        if not office.fax:
            return None, "fax: the office has no fax number"
        number = e164(office.fax)
        if number is None:
            return None, "fax: the office's fax number is not a US number"
        return Hop(channel, number), None
    if channel is Channel.PRINT:
        return Hop(channel, None), None
    return None, f"{channel.value}: not available"


def chain_for(office: "Office", config: dict[str, Any], listed_code: Optional[str] = None) -> Chain:
    """The office's ordered channel chain under this configuration (listed_code: its code on the cached
    active-office list of CWC, for Senate seats)."""
    hops: list[Hop] = []
    skipped: list[tuple[Channel, str]] = []
    order = CHAIN_ORDER.get(office.type, DEFAULT_ORDER)
    for channel in order:
        hop, reason = _hop(channel, office, config, listed_code)
        if hop is not None:
            hops.append(hop)
        elif reason:
            skipped.append((channel, reason))
    return Chain(tuple(hops), tuple(skipped), order)


def channel_for(office: "Office", config: Optional[dict[str, Any]] = None) -> Channel:
    """The first channel of the office's chain (email when it has an address, else print, without CWC config)."""
    return chain_for(office, config or {"CWC": {}}).first.channel


def for_delivery(delivery: "Outgoing | Delivery", config: dict[str, Any]) -> SendingChannel:
    """The channel object that sends this delivery (queued channels only)."""
    if delivery.channel is Channel.EMAIL:
        return EmailChannel(config["MAIL"])
    if delivery.channel is Channel.CWC:
        return CwcChannel(config["CWC"])
    if delivery.channel is Channel.POSTAL:
        return PostalChannel(config["LOB"])
    if delivery.channel is Channel.FAX:
        return FaxChannel(config["FAX"])
    raise LookupError(f"channel {delivery.channel.value} is not sent one delivery at a time")


__all__ = [
    "AVAILABLE_CHANNELS", "BATCHED_CHANNELS", "CHAIN_ORDER", "Chain", "Constituent", "chamber_of",
    "FaxChannel", "PostalChannel", "STREET_ADDRESS_CHANNELS", "CwcChannel", "EmailChannel", "Hop",
    "Outcome", "Outgoing", "PrintChannel", "PrintedLetter", "SEALED_SUFFIX", "QUEUED_CHANNELS", "Result", "SendingChannel",
    "SmtpTransport", "Undeliverable", "build_message", "chain_for", "channel_for", "classify_smtp_error",
    "for_delivery", "from_domain", "header_text", "html_body", "message_id", "write_atomically",
]
