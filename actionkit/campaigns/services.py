"""Campaign look-ups for the public pages, and the sample campaign `make demo` loads."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from actionkit.campaigns.models import Campaign, CampaignMode, CampaignStatus, CampaignText, LetterTemplate, \
    Personalisation
from actionkit.db import utcnow
from actionkit.extensions import db
from actionkit.officials.models import OfficeType


def by_slug(slug: str) -> Campaign | None:
    """A campaign with its texts and templates loaded, whatever its status."""
    return db.session.scalar(
        db.select(Campaign).where(Campaign.slug == slug)
        .options(selectinload(Campaign.texts), selectinload(Campaign.templates)))


def is_open(campaign: Campaign | "Brief") -> bool:
    """Live, and within its start/end dates when it has them."""
    if campaign.status is not CampaignStatus.LIVE:
        return False
    now = utcnow()
    starts, ends = campaign.starts_at, campaign.ends_at
    if starts is not None and _aware(starts) > now:
        return False
    return ends is None or _aware(ends) > now


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def has_ended(campaign: Campaign) -> bool:
    """Closed by staff, or live past its end date: its page says so instead of disappearing."""
    if campaign.status is CampaignStatus.CLOSED:
        return True
    ends = campaign.ends_at
    return campaign.status is CampaignStatus.LIVE and ends is not None and _aware(ends) <= utcnow()


def open_campaigns(limit: int = 10) -> list[Campaign]:
    """Campaigns supporters can act on now, newest first (for the page of a campaign that has ended)."""
    live = db.session.scalars(db.select(Campaign).where(Campaign.status == CampaignStatus.LIVE)
                              .options(selectinload(Campaign.texts)).order_by(Campaign.id.desc()))
    return [c for c in live if is_open(c)][:limit]


def live_or_404(slug: str) -> Campaign:
    """The campaign supporters may act on now; drafts, closed and unknown slugs are all a plain 404."""
    campaign = by_slug(slug)
    if campaign is None or not is_open(campaign):
        raise NotFound()
    return campaign


@dataclass(frozen=True)
class Brief:
    """The few columns the signature request needs, read in one statement (no texts, no templates)."""

    id: int
    slug: str
    state: str
    status: CampaignStatus
    personalisation: Personalisation
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    confirm_email: bool = False
    mode: CampaignMode = CampaignMode.LETTERS


_BRIEF = select(Campaign.id, Campaign.slug, Campaign.state, Campaign.status, Campaign.personalisation,
                Campaign.starts_at, Campaign.ends_at, Campaign.confirm_email, Campaign.mode).where(Campaign.slug == bindparam("slug"))


def live_brief_or_404(slug: str) -> Brief:
    """live_or_404 for the hot path: the same rule, one light query."""
    row = db.session.execute(_BRIEF, {"slug": slug}).one_or_none()
    brief = Brief(*row) if row is not None else None
    if brief is None or not is_open(brief):
        raise NotFound()
    return brief


# --- the sample campaign --------------------------------------------------------------------------------------

DEMO_SLUG = "end-ice-detainers-ms"

DEMO_TEXTS = {
    "en": {
        "title": "End ICE detainer agreements in Mississippi",
        "summary": "Ask your sheriff, your state legislators and your members of Congress to stop turning "
                   "Mississippi's jails and deputies into an arm of Immigration and Customs Enforcement.",
        "body": "Across Mississippi, sheriffs hold people in county jails on ICE detainers (requests from "
                "immigration agents, not warrants signed by a judge) and sign 287(g) agreements that deputize "
                "local deputies to do federal immigration work.\n\n"
                "These agreements separate families, keep people in jail after they should go home, and teach "
                "neighbors that calling 911 can end in deportation. That makes everyone less safe.\n\n"
                "Your letters go to the officials who can end this: your sheriff, who signs and carries out the "
                "agreements; your state senator and representative, who write the state's laws; and your "
                "members of Congress, who fund and oversee ICE.",
    },
    "es": {
        "title": "Pongamos fin a los acuerdos de detención con ICE en Mississippi",
        "summary": "Pida a su sheriff, a sus legisladores estatales y a sus representantes en el Congreso que "
                   "dejen de convertir las cárceles y los agentes de Mississippi en un brazo del Servicio de "
                   "Inmigración y Control de Aduanas (ICE).",
        "body": "En todo Mississippi, los sheriffs retienen a personas en las cárceles del condado por "
                "solicitudes de detención de ICE (peticiones de agentes de inmigración, no órdenes firmadas por "
                "un juez) y firman acuerdos 287(g) que convierten a sus agentes en agentes de inmigración "
                "federales.\n\n"
                "Estos acuerdos separan a las familias, mantienen en la cárcel a personas que ya deberían estar "
                "en casa y enseñan a nuestros vecinos que llamar al 911 puede terminar en una deportación. Eso "
                "nos hace a todos menos seguros.\n\n"
                "Sus cartas llegan a quienes pueden ponerle fin: su sheriff, que firma y aplica los acuerdos; su "
                "senador y su representante estatales, que hacen las leyes del estado; y sus representantes en "
                "el Congreso, que financian y supervisan a ICE.",
    },
}

_CLOSING = """
Sincerely,
{{ supporter.first_name }} {{ supporter.last_name }}
{{ supporter.city }}{% if supporter.county %}, {{ supporter.county }}{% endif %}, {{ supporter.state }}"""

_COUNTY_287G = """{% if agreement_287g.active %}

In my county, the {{ agreement_287g.agency }} has signed 287(g) agreements with ICE ({{ agreement_287g.support_types|join(", ") }}), the first on {{ agreement_287g.signed }}.
{% elif agreement_287g.pending %}

In my county, the {{ agreement_287g.agency }} has asked ICE for a 287(g) agreement ({{ agreement_287g.support_types|join(", ") }}).
{% endif %}
"""

DEMO_TEMPLATES: dict[OfficeType, tuple[str, str]] = {
    OfficeType.SHERIFF: (
        "{% if agreement_287g.active %}Please end {{ county }}'s 287(g) agreement with ICE"
        "{% else %}Please keep {{ county }} out of ICE detainers and 287(g){% endif %}",
        """Dear {{ official.salutation }},

I live in {{ county }}, and I am writing to ask you to stop holding people in our jail on ICE detainers{% if agreement_287g.active %} and to end your office's 287(g) agreement with Immigration and Customs Enforcement{% endif %}.

{% if agreement_287g.active %}
According to ICE's own list, your office signed a 287(g) agreement ({{ agreement_287g.support_types|join(", ") }}) on {{ agreement_287g.signed }}. Under it, deputies paid by our county do the work of federal immigration agents.
{% elif agreement_287g.pending %}
ICE lists a pending 287(g) application from your office ({{ agreement_287g.support_types|join(", ") }}). I ask you to withdraw it.
{% else %}
I am glad that your office has no 287(g) agreement on ICE's list, and I ask you to keep it that way.
{% endif %}

An ICE detainer is a request from an immigration agent, not a warrant signed by a judge. Holding someone on a detainer after they would otherwise go home exposes our county to lawsuits and costs, and it teaches families that calling the sheriff's office for help can end in deportation. When neighbors are afraid to report crimes or to come forward as witnesses, all of us are less safe.

Please adopt a written policy that your office will decline ICE detainer requests that are not accompanied by a judicial warrant{% if agreement_287g.active or agreement_287g.pending %}, and end your office's participation in 287(g){% endif %}.
""" + _CLOSING,
    ),
    OfficeType.STATE_SENATOR: (
        "Please keep Mississippi's sheriffs out of federal immigration enforcement",
        """Dear {{ official.salutation }},

I am your constituent in {{ official.district }}, and I am writing to ask you to support legislation that keeps Mississippi's sheriffs and police out of federal immigration enforcement.
""" + _COUNTY_287G + """
ICE detainers are requests, not warrants signed by a judge, and 287(g) agreements turn deputies paid by our counties into immigration agents. They separate families, expose counties to lawsuits, and make people afraid to call for help or report crimes.

Please vote against any bill that forces local agencies to honor ICE detainers, and support a law that requires a judicial warrant before anyone is held in a Mississippi jail for immigration purposes.
""" + _CLOSING,
    ),
    OfficeType.STATE_REPRESENTATIVE: (
        "Please keep Mississippi's sheriffs out of federal immigration enforcement",
        """Dear {{ official.salutation }},

I am your constituent in {{ official.district }}, and I am writing to ask you to support legislation that keeps Mississippi's sheriffs and police out of federal immigration enforcement.
""" + _COUNTY_287G + """
ICE detainers are requests, not warrants signed by a judge, and 287(g) agreements turn deputies paid by our counties into immigration agents. They separate families, expose counties to lawsuits, and make people afraid to call for help or report crimes.

Please vote against any bill that forces local agencies to honor ICE detainers, and support a law that requires a judicial warrant before anyone is held in a Mississippi jail for immigration purposes.
""" + _CLOSING,
    ),
    OfficeType.US_REPRESENTATIVE: (
        "Please end the 287(g) program and ICE detainers without a warrant",
        """Dear {{ official.salutation }},

As your constituent in {{ official.district }}, I am asking you to work to end the 287(g) program and ICE's use of detainers that are not backed by a judicial warrant.
""" + _COUNTY_287G + """
287(g) agreements deputize local sheriffs to do federal immigration work with little oversight, and detainers keep people in county jails without a judge's order. Both break up families and make immigrant communities afraid to seek help from the police.

Please support legislation to end the 287(g) program, and use your oversight role to stop ICE from asking local jails to hold people without a warrant.
""" + _CLOSING,
    ),
    OfficeType.US_SENATOR: (
        "Please end the 287(g) program and ICE detainers without a warrant",
        """Dear {{ official.salutation }},

As a Mississippian, I am asking you to work to end the 287(g) program and ICE's use of detainers that are not backed by a judicial warrant.
""" + _COUNTY_287G + """
287(g) agreements deputize local sheriffs to do federal immigration work with little oversight, and detainers keep people in county jails without a judge's order. Both break up families and make immigrant communities afraid to seek help from the police.

Please support legislation to end the 287(g) program, and use your oversight role to stop ICE from asking local jails to hold people without a warrant.
""" + _CLOSING,
    ),
}

_CLOSING_ES = """
Atentamente,
{{ supporter.first_name }} {{ supporter.last_name }}
{{ supporter.city }}{% if supporter.county %}, {{ supporter.county }}{% endif %}, {{ supporter.state }}"""

_COUNTY_287G_ES = """{% if agreement_287g.active %}

En mi condado, {{ agreement_287g.agency }} ha firmado acuerdos 287(g) con ICE ({{ agreement_287g.support_types|join(", ") }}), el primero el {{ agreement_287g.signed }}.
{% elif agreement_287g.pending %}

En mi condado, {{ agreement_287g.agency }} ha pedido a ICE un acuerdo 287(g) ({{ agreement_287g.support_types|join(", ") }}).
{% endif %}
"""

_LEGISLATURE_ES = (
    "Por favor, mantenga a los sheriffs de Mississippi fuera de la aplicación de las leyes federales de inmigración",
    """{{ official.salutation }}:

Soy su electora o elector en {{ official.district }} y le escribo para pedirle que apoye leyes que mantengan a los sheriffs y a la policía de Mississippi fuera de la aplicación de las leyes federales de inmigración.
""" + _COUNTY_287G_ES + """
Las solicitudes de detención de ICE son peticiones, no órdenes firmadas por un juez, y los acuerdos 287(g) convierten a agentes pagados por nuestros condados en agentes de inmigración. Separan a las familias, exponen a los condados a demandas y hacen que la gente tenga miedo de pedir ayuda o de denunciar delitos.

Por favor, vote en contra de cualquier proyecto de ley que obligue a las agencias locales a cumplir las solicitudes de detención de ICE, y apoye una ley que exija una orden judicial antes de retener a alguien en una cárcel de Mississippi por motivos de inmigración.
""" + _CLOSING_ES)

_CONGRESS_ES = """
Los acuerdos 287(g) delegan en los sheriffs locales tareas federales de inmigración con muy poca supervisión, y las solicitudes de detención mantienen a personas en las cárceles del condado sin una orden judicial. Ambos separan a las familias y hacen que las comunidades inmigrantes tengan miedo de pedir ayuda a la policía.

Por favor, apoye leyes que pongan fin al programa 287(g) y use su función de supervisión para que ICE deje de pedir a las cárceles locales que retengan a personas sin una orden judicial.
""" + _CLOSING_ES

# The campaign's own Spanish text of each letter: what a Spanish-speaking supporter reads next to the English
# letter the official receives.
DEMO_TEMPLATES_ES: dict[OfficeType, tuple[str, str]] = {
    OfficeType.SHERIFF: (
        "{% if agreement_287g.active %}Por favor, ponga fin al acuerdo 287(g) de {{ county }} con ICE"
        "{% else %}Por favor, mantenga a {{ county }} fuera de las solicitudes de detención de ICE y del 287(g)"
        "{% endif %}",
        """{{ official.salutation }}:

Vivo en {{ county }} y le escribo para pedirle que deje de retener a personas en nuestra cárcel por solicitudes de detención de ICE{% if agreement_287g.active %} y que ponga fin al acuerdo 287(g) de su oficina con el Servicio de Inmigración y Control de Aduanas{% endif %}.

{% if agreement_287g.active %}
Según la propia lista de ICE, su oficina firmó un acuerdo 287(g) ({{ agreement_287g.support_types|join(", ") }}) el {{ agreement_287g.signed }}. Con él, agentes pagados por nuestro condado hacen el trabajo de agentes federales de inmigración.
{% elif agreement_287g.pending %}
ICE tiene en su lista una solicitud de acuerdo 287(g) pendiente de su oficina ({{ agreement_287g.support_types|join(", ") }}). Le pido que la retire.
{% else %}
Me alegra que su oficina no tenga ningún acuerdo 287(g) en la lista de ICE, y le pido que siga así.
{% endif %}

Una solicitud de detención de ICE es una petición de un agente de inmigración, no una orden firmada por un juez. Retener a alguien por una solicitud de detención cuando ya debería volver a casa expone a nuestro condado a demandas y gastos, y enseña a las familias que llamar a la oficina del sheriff para pedir ayuda puede terminar en una deportación. Cuando los vecinos tienen miedo de denunciar delitos o de servir de testigos, todos estamos menos seguros.

Por favor, adopte una política escrita según la cual su oficina rechace las solicitudes de detención de ICE que no vengan acompañadas de una orden judicial{% if agreement_287g.active or agreement_287g.pending %}, y ponga fin a la participación de su oficina en el 287(g){% endif %}.
""" + _CLOSING_ES,
    ),
    OfficeType.STATE_SENATOR: _LEGISLATURE_ES,
    OfficeType.STATE_REPRESENTATIVE: _LEGISLATURE_ES,
    OfficeType.US_REPRESENTATIVE: (
        "Por favor, ponga fin al programa 287(g) y a las solicitudes de detención de ICE sin orden judicial",
        """{{ official.salutation }}:

Como su electora o elector en {{ official.district }}, le pido que trabaje para poner fin al programa 287(g) y al uso que hace ICE de solicitudes de detención que no están respaldadas por una orden judicial.
""" + _COUNTY_287G_ES + _CONGRESS_ES,
    ),
    OfficeType.US_SENATOR: (
        "Por favor, ponga fin al programa 287(g) y a las solicitudes de detención de ICE sin orden judicial",
        """{{ official.salutation }}:

Como habitante de Mississippi, le pido que trabaje para poner fin al programa 287(g) y al uso que hace ICE de solicitudes de detención que no están respaldadas por una orden judicial.
""" + _COUNTY_287G_ES + _CONGRESS_ES,
    ),
}


def create_demo_campaign() -> tuple[Campaign, bool]:
    """The sample Mississippi campaign, live with all five office types; (campaign, created). Safe to re-run:
    an existing campaign with the demo slug is returned untouched so staff edits survive."""
    existing = by_slug(DEMO_SLUG)
    if existing is not None:
        return existing, False
    campaign = Campaign(slug=DEMO_SLUG, state="ms", status=CampaignStatus.LIVE,
                        personalisation=Personalisation.PARAGRAPH,
                        target_types=[t.value for t in DEMO_TEMPLATES], letter_language="en", goal=5000)
    campaign.texts = [CampaignText(lang=lang, **text) for lang, text in DEMO_TEXTS.items()]
    campaign.templates = [LetterTemplate(office_type=kind.value, lang=lang, subject=subject, body=body)
                          for lang, templates in (("en", DEMO_TEMPLATES), ("es", DEMO_TEMPLATES_ES))
                          for kind, (subject, body) in templates.items()]
    db.session.add(campaign)
    db.session.flush()
    return campaign, True
