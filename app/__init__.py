"""Application factory for the franchise customer-experience portal."""
from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from config import get_config


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    from app import inputs

    inputs.install(app)
    app.config.from_object(get_config(config_name))
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set (see README, 'Settings')")
    if app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"])

    # The scope hook must run before CSRFProtect's, so even a rejected request has a scope.
    register_request_hooks(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_jinja(app)
    register_cli(app)

    from app.security.access import check_endpoints_declared

    check_endpoints_declared(app)
    from app.jobs import start_scheduler

    start_scheduler(app)  # only where PORTAL_SCHEDULER_SECONDS is set (make run)
    from app.services.pdf import subsetting_problem

    problem = subsetting_problem()  # PERFORMANCE.md: without it a Chinese report is 17 times slower
    if problem:
        app.logger.warning(problem)
    return app


def select_locale() -> str:
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # command-line jobs choose with force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    if request.blueprint in ("feedback", "survey_public") and request.args.get("lang") in languages:
        return request.args["lang"]  # a customer's progress link opens in the language they wrote in
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (registers every model on the metadata)
    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.security import passwords, sessions  # noqa: F401  (sessions registers the user loader)
    from app.services import customer_search  # noqa: F401  (creates the search index with the schema)
    from app.services.complaints import stats  # noqa: F401  (keeps the complaint roll-up on commit)
    from app.services.audits import alerts as _audit_alerts  # noqa: F401  (registers the audit notices' wording)
    from app.services.auth import LoginLimiter, public_limiter

    db.init_app(app)
    from app.database import include_object

    migrate.init_app(app, db, render_as_batch=True, compare_type=True, include_object=include_object)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the server-side session record does this job
    app.after_request(sessions.touch_session)
    passwords.init_app(app)
    app.extensions["login_limiter"] = LoginLimiter(
        app.config["RATELIMIT_STORAGE_URI"],
        app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        app.config["LOGIN_LIMIT_PER_ADDRESS"],
    )
    app.extensions["public_limiter"] = public_limiter(app.config["RATELIMIT_STORAGE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from app.database import configure_sqlite

        with app.app_context():
            configure_sqlite(db.engine, app.config["SQLITE_CACHE_MB"])
    if app.config.get("COUNT_STATEMENTS"):
        from app import instrumentation

        with app.app_context():
            instrumentation.init_app(app, db.engine)

    @login_manager.unauthorized_handler
    def unauthorized():
        if g.get("session_ended"):
            flash(_("Your session has ended or expired. Please sign in again."), "warning")
        else:
            flash(_("Please sign in to continue."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def register_blueprints(app: Flask) -> None:
    from app.blueprints.audit import bp as audit_bp
    from app.blueprints.audits import bp as audits_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.complaints import bp as complaints_bp
    from app.blueprints.customers import bp as customers_bp
    from app.blueprints.feedback import bp as feedback_bp
    from app.blueprints.notifications import bp as notifications_bp
    from app.blueprints.dashboard import bp as dashboard_bp
    from app.blueprints.org import bp as org_bp
    from app.blueprints.reports import bp as reports_bp
    from app.blueprints.kpis import bp as kpis_bp
    from app.blueprints.logistics import bp as logistics_bp
    from app.blueprints.governance import bp as governance_bp
    from app.blueprints.governance import public_bp as privacy_bp
    from app.blueprints.loyalty import bp as loyalty_bp
    from app.blueprints.surveys import bp as surveys_bp
    from app.blueprints.surveys import public_bp as survey_public_bp
    from app.blueprints.training import bp as training_bp
    from app.blueprints.users import bp as users_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(audits_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(kpis_bp)
    app.register_blueprint(logistics_bp)
    app.register_blueprint(loyalty_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(governance_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(survey_public_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(audit_bp)


def register_request_hooks(app: Flask) -> None:
    from app import refcache
    from app.database import writes_first
    from app.security import headers
    from app.security.scope import build_scope
    from app.security.tenancy import activate, unscoped

    @app.before_request
    def declare_writes():
        # Registered first: the user's session is loaded (the first statement) in the next hook.
        writes_first(request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.before_request
    def put_scope_in_force():
        if request.endpoint == "static":
            return None
        with unscoped():
            user = current_user._get_current_object()
            if user.is_authenticated:
                key = ("scope", user.id, user.role, user.franchisee_id)
                scope = refcache.cached(key, lambda: build_scope(user))
            else:
                scope = build_scope(user)
        activate(scope)
        # After an administrator reset, the user must choose a new password first.
        if (
            user.is_authenticated
            and user.must_change_password
            and request.endpoint not in ("auth.change_password", "auth.logout", "auth.set_language")
        ):
            flash(_("Please choose a new password before you continue."), "warning")
            return redirect(url_for("auth.change_password"))
        return None

    app.after_request(headers.apply)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register

    register(app)


def register_jinja(app: Flask) -> None:
    from app import i18n
    from app.templating import register

    register(app)
    i18n.init_app(app)


def register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)
