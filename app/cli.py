"""Command-line tasks: ``flask --app wsgi seed demo`` and ``flask --app wsgi users create-admin``."""
import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.security.tenancy import unscoped

seed = AppGroup("seed", help="Load data into the database.")
users = AppGroup("users", help="Manage portal users.")


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


def register(app) -> None:
    app.cli.add_command(seed)
    app.cli.add_command(users)
