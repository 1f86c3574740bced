"""Command-line tasks: ``flask --app wsgi seed demo`` and ``flask --app wsgi users create-admin``."""
import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.security.tenancy import unscoped

seed = AppGroup("seed", help="Load data into the database.")
users = AppGroup("users", help="Manage portal users.")
customers = AppGroup("customers", help="Customer-file jobs that run outside web requests.")


@seed.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has users.")
def seed_demo(if_empty: bool) -> None:
    """Create the demo network and accounts (safe to run again: nothing is duplicated)."""
    from app.seed import seed_demo as run

    with unscoped():
        summary = run(current_app.config["DEMO_PASSWORD"], only_if_empty=if_empty)
        db.session.commit()
    click.echo(summary)


@users.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The administrator's full name.")
@click.option("--email", default=None)
@click.password_option()
def create_admin(username: str, display_name: str, email: str | None, password: str) -> None:
    """Create a headquarters administrator (first set-up of a production database)."""
    from sqlalchemy import select

    from app.models import User
    from app.security.passwords import hash_password

    with unscoped():
        if db.session.scalar(select(User).where(User.username == username.lower())):
            raise click.ClickException(f"user {username!r} already exists")
        db.session.add(
            User(
                username=username.lower(),
                display_name=display_name,
                email=email,
                role="hq_admin",
                password_hash=hash_password(password),
            )
        )
        db.session.commit()
    click.echo(f"created hq_admin {username}")


@customers.command("run-import")
@click.argument("job_id", type=int)
def run_import(job_id: int) -> None:
    """Check or import an uploaded customer file (started by the portal after an upload)."""
    from app.services import customer_import

    job = customer_import.run(job_id)
    click.echo(f"import {job_id}: {job.state}, {job.total_rows} rows, {job.seconds}s, {job.peak_memory_mb} MB peak")


@customers.command("anonymise-inactive")
def anonymise_inactive() -> None:
    """Anonymise customers with no activity for the retention period (run daily from cron)."""
    from app.models.base import utcnow
    from app.services.customers import anonymise_inactive as run

    with unscoped():
        count = run(utcnow().date(), None)
        db.session.commit()
    click.echo(f"anonymised {count} inactive customers")


@customers.command("recompute")
def recompute() -> None:
    """Recompute every customer's figures from their purchases (after a bulk data repair)."""
    from sqlalchemy import select

    from app.models import Customer
    from app.services import customer_analytics

    with unscoped():
        ids = db.session.scalars(select(Customer.id)).all()
        for start in range(0, len(ids), 2000):
            customer_analytics.refresh(ids[start:start + 2000])
        db.session.commit()
    click.echo(f"recomputed {len(ids)} customers")


def register(app) -> None:
    app.cli.add_command(customers)
    app.cli.add_command(seed)
    app.cli.add_command(users)
