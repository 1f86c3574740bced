"""Chinese first, English complete, and the choice sticks to the user."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "app/translations/zh_Hans/LC_MESSAGES/messages.po"


def _source_messages() -> set[str]:
    method_map = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "_m": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=keywords):
        found.update(message if isinstance(message, tuple) else (message,))
    return {m for m in found if m}


def test_every_interface_string_has_a_chinese_translation():
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    translated = set()
    for m in catalog:
        if m.id and m.string and all(m.string if isinstance(m.string, tuple) else [m.string]) and not m.fuzzy:
            translated.update(m.id if isinstance(m.id, tuple) else (m.id,))
    missing = sorted(_source_messages() - translated)
    assert not missing, f"untranslated (run `make translations-update`, then translate): {missing}"


def test_chinese_is_the_default(client):
    page = client.get("/login").text
    assert '<html lang="zh-Hans">' in page and "登录" in page


def test_form_errors_are_translated_too(client):
    response = client.post_form("/login", {"login": "", "password": ""})
    assert "该字段是必填字段" in response.text or "此字段为必填项" in response.text


def test_language_choice_persists_for_the_user(app, world, login_as):
    client = login_as("owner_a")
    client.post_form("/language", {"lang": "en", "next": "/stores"})
    assert "Stores" in client.get("/stores").text
    client.logout()
    # A new browser, a new session: still English for this user.
    fresh = app.test_client()
    fresh.login("t-owner-a")
    page = fresh.get("/")
    assert '<html lang="en">' in page.text and "Your scope" in page.text


def test_anonymous_visitors_can_switch_before_signing_in(client):
    client.post_form("/language", {"lang": "en", "next": "/login"})
    assert "Username or e-mail" in client.get("/login").text


def test_an_unknown_language_is_refused(client):
    client.post_form("/language", {"lang": "xx", "next": "/login"})
    assert '<html lang="zh-Hans">' in client.get("/login").text


def test_template_translations_escape_their_values_in_and_out_of_loops(app):
    """``_()`` in templates: translated, values escaped, ``%%`` written as ``%`` (Jinja's newstyle
    semantics, kept by the context-free callables in app/i18n.py)."""
    from flask import render_template_string

    from app.i18n import force_locale

    source = ("{{ _('%(n)s in total', n=first) }}|{% for x in xs %}{{ _('%(n)s in total', n=x) }}{% endfor %}"
              "|{{ _('50%% off') }}|{{ ngettext('%(num)d file', '%(num)d files', 3) }}")
    with app.test_request_context():
        with force_locale("zh_Hans"):
            page = render_template_string(source + "{# .html #}", first="<b>", xs=["<i>", 7])
        assert page.startswith("共 &lt;b&gt; 位|共 &lt;i&gt; 位共 7 位|50% off|3 files"), page
        with force_locale("en"):
            assert render_template_string(source, first=1, xs=[]).startswith("1 in total||50% off|3 files")


def test_english_counts_agree_in_number(app, world, login_as, tmp_path, monkeypatch):
    """Issue 8 trial: "All 1 rows passed the checks.", "Import 1 customers"."""
    import io

    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    owner = login_as("owner_a")
    owner.post_form("/language", {"lang": "en"})
    response = owner.post_form("/customers/imports", {"store_id": str(world.a_stores[0]),
                                                      "file": (io.BytesIO("姓名\n单独一人\n".encode()), "one.csv")},
                               content_type="multipart/form-data", follow_redirects=True)
    assert "The 1 row passed the checks." in response.text and "Import 1 customer<" in response.text
