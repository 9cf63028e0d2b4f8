"""Privacy tasks: the periodic purge of addresses, overdue deliveries, print batches and the file outbox."""
from __future__ import annotations

from celery import shared_task
from flask import current_app

from actionkit.extensions import db
from actionkit.privacy import services
from actionkit.stories import services as stories

@shared_task(name="privacy.purge_expired", ignore_result=True)
def purge_expired() -> int:
    """Purge addresses past retention, batch by batch, and erase stories the retention period no longer covers;
    safe to run at any time and any number of times."""
    from actionkit.staff.services import retention_days  # the admins' setting, else ACTIONKIT_RETENTION_DAYS

    keep = services.retention(retention_days())
    stories.purge_expired(keep)
    db.session.commit()
    total = 0
    while services.expire_overdue(keep) >= 1000:  # first: an expired delivery no longer keeps an address
        db.session.commit()
    db.session.commit()
    while services.purge_street_addresses() >= 1000:
        db.session.commit()
    db.session.commit()
    while True:
        purged = services.purge_addresses(keep)
        db.session.commit()
        total += purged
        if purged < 1000:
            break
    while services.purge_submission_snapshots(keep) >= 1000:
        db.session.commit()
    db.session.commit()
    services.purge_print_batches(keep)
    db.session.commit()
    mail = current_app.config["MAIL"]
    if mail.get("backend") == "file":
        services.purge_outbox(mail["outbox"], keep)
    return total
