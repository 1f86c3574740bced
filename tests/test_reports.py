"""Printed reports (issue 13, R54, R58): the store evaluation report's text as a reader's PDF tool
extracts it (Chinese and English), its embedded subset font, page count and size; a half-year
without data; hostile text that must not make the renderer fetch anything; versions and the
exact bytes; who may print what; batches inline, through RQ, after a killed worker and with a
failing store; the CLI."""
import hashlib
import io
import subprocess
import re
import threading
import zipfile
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, Store, StoreEvaluation, StoreKpi, User
from app.models.base import utcnow
from app.models.report import Report, ReportBatch, ReportBatchItem
from app.security.scope import NETWORK, Scope
from app.security.tenancy import activate, unscoped
from app.services import RuleError, pdf
from app.services import reports as report_service
from app.services.reports import batches

PERIOD = 20261  # the world's KPIs, thresholds and evaluation are of 2026H1


def _text(data: bytes, tmp_path, name="r.pdf", layout=False) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    args = ["pdftotext"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, check=True).stdout.decode()


def _issue(app, world, store_key="a", index=0, language="zh_Hans", user="owner_a", period=PERIOD):
    with app.app_context(), unscoped():
        store_id = (world.a_stores if store_key == "a" else world.b_stores)[index]
        report = report_service.issue("store", period=period, language=language,
                                      user=db.session.get(User, world.users[user]), store_id=store_id)
        return report.id, report_service.pdf_bytes(report)


def test_harfbuzz_subsetting_is_installed_by_the_project():
    # scripts/system-deps.sh installs libharfbuzz-subset0; without it a Chinese report is 17x slower.
    assert pdf.subsetting_problem() is None


def test_store_report_prints_the_stores_figures_in_chinese(app, world, tmp_path):
    report_id, data = _issue(app, world)
    with app.app_context(), unscoped():
        report = db.session.get(Report, report_id)
        ev = db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == world.a_stores[0],
                                                             StoreEvaluation.period == PERIOD))
        kpi = db.session.scalar(select(StoreKpi).where(StoreKpi.store_id == world.a_stores[0], StoreKpi.period == PERIOD))
        pages, size, digest = report.pages, report.size, report.sha256
    text = _text(data, tmp_path)
    for expected in ("门店评估报告", "A01 甲一店", "甲方加盟商", "2026H1 半年度", "1 综合评估", "2 现状、问题与建议",
                     "3 关键指标与阈值对照", "4 满意度指数", "5 投诉", "6 神秘顾客稽核", "7 培训", "8 本半年度未关闭的预警",
                     "9 总部评语", "签字及日期", f"第 1 页，共 {pages} 页", f"{ev.score:.2f}", f"{kpi.csi:.2f}"):
        assert expected in text, expected
    for marker in world.b_markers:
        assert marker not in text
    assert digest == hashlib.sha256(data).hexdigest() and size == len(data)
    info = subprocess.run(["pdfinfo", str(tmp_path / "r.pdf")], capture_output=True, check=True).stdout.decode()
    assert re.search(rf"^Pages:\s+{pages}$", info, re.M), info
    fonts = subprocess.run(["pdffonts", str(tmp_path / "r.pdf")], capture_output=True, check=True).stdout.decode()
    noto = [line for line in fonts.splitlines() if "Noto-Sans-SC" in line]
    assert noto, fonts
    for line in noto:  # embedded, as a subset (ABCDEF+ prefix), with a Unicode map (text copies out right)
        name, *_, emb, sub, uni, _obj, _gen = line.split()
        assert "+" in name and (emb, sub, uni) == ("yes", "yes", "yes"), line
    assert not [line for line in fonts.splitlines()[2:] if "Noto" not in line], "a font not shipped with the app"
    assert len(data) < 400 * 1024


def test_store_report_follows_the_readers_language(app, world, tmp_path):
    _id, data = _issue(app, world, language="en")
    text = _text(data, tmp_path)
    assert "Store evaluation report" in text and "Current state, problems and suggestions" in text
    assert "Page 1 of" in text and "门店评估报告" not in text
    assert "甲一店" in text  # names stay as they were entered


def test_a_half_year_without_data_says_so_instead_of_printing_zeros(app, world, tmp_path):
    _id, data = _issue(app, world, period=20192)
    text = _text(data, tmp_path).replace("\n", "")  # a sentence wraps across lines
    assert "本半年度无数据" in text and "不会把未测量的数据印成零" in text
    assert "关键指标与阈值对照" not in text and "0.00" not in text


def test_pages_never_split_a_table_row_and_headers_repeat(app):
    # The stylesheet's print rules the issue asks for (a check of the file the renderer uses).
    css = pdf.STYLESHEET.read_text()
    assert "tr { break-inside: avoid" in css and "thead { display: table-header-group" in css
    assert "break-after: avoid" in css and "size: A4" in css


class _Counter(BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802 - the http.server name
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_hostile_text_makes_no_outbound_request(app, world, tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    _Counter.hits.clear()
    hostile = (f'<img src="{url}/img.png"><link rel=stylesheet href="{url}/x.css">'
               f'<style>@import url({url}/y.css);</style>')
    try:
        with app.app_context(), unscoped():
            complaint = db.session.get(Complaint, world.complaints["a"])  # its action is listed until verified
            complaint.root_cause = complaint.corrective_action = hostile
            ev = db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == world.a_stores[0],
                                                                 StoreEvaluation.period == PERIOD))
            ev.comment = hostile
            db.session.commit()
        _id, data = _issue(app, world)
        assert "<img src=" in _text(data, tmp_path)  # printed as the text it is
        # Even markup that did reach the renderer (a template slip) loads nothing from outside.
        pdf.render(f'<html><body><p>测试</p><img src="{url}/direct.png"><img src="file:///etc/passwd">'
                   f'<link rel="stylesheet" href="{url}/direct.css"></body></html>')
        assert _Counter.hits == []
    finally:
        server.shutdown()
        server.server_close()
        with app.app_context(), unscoped():
            ev = db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == world.a_stores[0],
                                                                 StoreEvaluation.period == PERIOD))
            ev.comment = None
            complaint = db.session.get(Complaint, world.complaints["a"])
            complaint.root_cause = complaint.corrective_action = None
            db.session.commit()


def test_the_fetcher_serves_only_the_applications_static_files():
    fetcher = pdf._fetcher_class()()
    assert fetcher.fetch((pdf.STATIC / "fonts" / "OFL.txt").as_uri()).read().startswith(b"Copyright")
    for url in ("file:///etc/passwd", (pdf.STATIC / ".." / "__init__.py").as_uri(), "http://127.0.0.1:9/x",
                "https://example.cn/a.png", "ftp://example.cn/a"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_printing_again_keeps_the_old_version_byte_for_byte(app, world, login_as):
    client = login_as("owner_a")
    first = client.post_form("/reports/new", {"store": world.a_stores[1], "period": PERIOD, "language": "zh_Hans"})
    assert first.status_code == 302
    first_id = int(first.headers["Location"].rsplit("/", 1)[1])
    original = client.get(f"/reports/{first_id}/pdf").data
    again = client.post_form(f"/reports/{first_id}/regenerate", {"confirm": "1"})
    second_id = int(again.headers["Location"].rsplit("/", 1)[1])
    assert second_id != first_id
    page = client.get(f"/reports/{second_id}").text
    assert "v2" in page and "v1" in page
    with app.app_context(), unscoped():
        old, new = db.session.get(Report, first_id), db.session.get(Report, second_id)
        assert (old.version, new.version, old.key) == (1, 2, new.key)
        assert old.sha256 == hashlib.sha256(original).hexdigest()
    assert client.get(f"/reports/{first_id}/pdf").data == original
    response = client.get(f"/reports/{first_id}/pdf?download=1")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "store-A02-2026H1-zh_Hans-v1.pdf" in response.headers["Content-Disposition"]
    # An empty post (no confirmation) prints nothing.
    client.post_form(f"/reports/{first_id}/regenerate", {})
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count(Report.id)).where(Report.key == old.key)) == 2


def test_a_tampered_file_is_refused_not_served(app, world, login_as):
    from app.models.report import ReportFile

    report_id, _data = _issue(app, world, index=1)
    with app.app_context(), unscoped():
        db.session.get(ReportFile, report_id).data = b"%PDF-1.7 forged"
        db.session.commit()
    response = login_as("owner_a").get(f"/reports/{report_id}/pdf", follow_redirects=True)
    assert response.mimetype == "text/html" and "校验值不符" in response.text


def test_nobody_prints_a_store_outside_their_scope(app, world, login_as):
    with app.app_context(), unscoped():
        before = db.session.scalar(select(func.count(Report.id)))
    for role in ("owner_a", "manager_a"):
        response = login_as(role).post_form("/reports/new", {"store": world.b_stores[0], "period": PERIOD,
                                                             "language": "zh_Hans"})
        assert response.status_code == 422  # not a choice: B's stores are not in the list at all
        assert "乙一秘店" not in response.text
    # The store manager's list holds their own store only.
    page = login_as("manager_a").get("/reports/new").text
    assert "甲一店" in page and "甲二店" not in page
    for role in ("staff_a", "shopper", "dept"):
        assert login_as(role).get("/reports/new").status_code == 403
    for role in ("staff_a", "shopper"):
        assert login_as(role).get("/reports/").status_code == 403
    # A department reads only what headquarters sent it: nothing yet.
    assert 'data-testid="report-row"' not in login_as("dept").get("/reports/").text
    with app.app_context():
        # The service itself refuses a store the scope does not cover.
        activate(Scope("franchisee", frozenset({world.a}), frozenset(world.a_stores)))
        with pytest.raises(LookupError):
            report_service.issue("store", period=PERIOD, language="zh_Hans", user=None, store_id=world.b_stores[0])
        db.session.rollback()
        db.session.info.clear()
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count(Report.id))) == before


def test_a_franchisees_reports_and_batches_stay_with_its_owner(app, world, login_as):
    b_report, b_batch = world.reports["b_report"], world.reports["b_batch"]
    for role in ("owner_a", "manager_a", "supervisor"):
        client = login_as(role)
        assert client.get(f"/reports/{b_report}/pdf").status_code == 404
        assert client.get(f"/reports/batches/{b_batch}/zip").status_code == 404
        assert "乙一秘店" not in client.get("/reports/").text
    for role in ("admin", "viewer"):
        assert login_as(role).get(f"/reports/{b_report}/pdf").status_code == 200


def test_a_batch_of_a_franchisees_stores_ends_in_one_zip(app, world, login_as):
    client = login_as("owner_a")
    response = client.post_form("/reports/batches", {"franchisee": world.a, "period": PERIOD, "language": "en"})
    assert response.status_code == 302
    batch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/reports/batches/{batch_id}").text
    assert 'data-status="done"' in page and "已打印 2 / 2 份门店报告" in page
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/reports/batches/{batch_id}/zip").data))
    names = sorted(archive.namelist())
    assert len(names) == 2
    assert names[0].startswith("store-A01-2026H1-en-v") and names[1].startswith("store-A02-2026H1-en-v")
    for name in archive.namelist():
        assert archive.read(name).startswith(b"%PDF-")
    # The owner cannot start the network's batch, nor B's.
    response = client.post_form("/reports/batches", {"franchisee": "", "period": PERIOD, "language": "en"},
                                follow_redirects=True)
    assert "请选择门店范围、半年度和语言" in response.text
    assert client.post_form("/reports/batches", {"franchisee": world.b, "period": PERIOD,
                                                  "language": "en"}).status_code == 302
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count(ReportBatch.id)).where(ReportBatch.franchisee_id == world.b)) == 1


def test_a_batch_started_twice_sends_the_second_caller_to_the_first(app, world, login_as):
    with app.app_context(), unscoped():
        running = ReportBatch(period=PERIOD, language="zh_Hans", franchisee_id=world.a, status="running", total=2,
                              runner="cli", heartbeat_at=utcnow())
        db.session.add(running)
        db.session.commit()
        running_id = running.id
    try:
        response = login_as("owner_a").post_form("/reports/batches", {"franchisee": world.a, "period": PERIOD,
                                                                       "language": "zh_Hans"})
        assert response.headers["Location"].endswith(f"/reports/batches/{running_id}")
        with app.app_context(), unscoped():
            assert db.session.scalar(select(func.count(ReportBatch.id)).where(
                ReportBatch.franchisee_id == world.a, ReportBatch.language == "zh_Hans",
                ReportBatch.period == PERIOD)) == 1
    finally:
        with app.app_context(), unscoped():
            db.session.execute(db.delete(ReportBatch).where(ReportBatch.id == running_id))
            db.session.commit()


def test_a_killed_worker_leaves_no_half_file_and_the_batch_resumes(app, world, login_as):
    with app.app_context(), unscoped():
        batch = batches.start(PERIOD, "zh_Hans", db.session.get(User, world.users["admin"]), NETWORK, world.a,
                              run="cli")
        batch_id = batch.id
        # A worker claimed the first store and died before writing anything.
        item = batches._claim(batch_id)
        db.session.get(ReportBatch, batch_id).heartbeat_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        assert db.session.get(ReportBatchItem, item.id).status == "running"
    client = login_as("admin")
    page = client.get(f"/reports/batches/{batch_id}").text
    assert 'data-testid="resume"' in page and 'data-testid="batch-zip"' not in page
    assert client.get(f"/reports/batches/{batch_id}/zip", follow_redirects=True).mimetype == "text/html"
    with app.app_context():
        app.config["REPORT_RUNNER"] = "inline"
        response = client.post_form(f"/reports/batches/{batch_id}/resume", {})
    assert response.status_code == 302
    with app.app_context(), unscoped():
        batch = db.session.get(ReportBatch, batch_id)
        assert (batch.status, batch.done, batch.failed) == ("done", 2, 0)
        assert db.session.scalar(select(func.count(Report.id)).where(Report.batch_id == batch_id)) == 2


def test_a_failing_store_is_named_and_the_others_are_printed(app, world, login_as, monkeypatch):
    real_issue = report_service.issue

    def flaky(kind, **kwargs):
        if kwargs["store_id"] == world.a_stores[1]:
            raise RuntimeError("字体缺失（测试）")
        return real_issue(kind, **kwargs)

    monkeypatch.setattr(report_service, "issue", flaky)
    with app.app_context(), unscoped():
        batch = batches.start(PERIOD, "en", db.session.get(User, world.users["owner_a"]), NETWORK, world.a,
                              run="inline")
        batch_id = batch.id
        assert (batch.status, batch.done, batch.failed) == ("failed", 1, 1)
    client = login_as("owner_a")
    page = client.get(f"/reports/batches/{batch_id}").text
    # The store is named with a reason the reader can use; the exception stays in the worker's log.
    assert "A02" in page and "the details are in the report worker" in page  # (the batch is in English)
    assert "RuntimeError" not in page and "字体缺失" not in page
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/reports/batches/{batch_id}/zip").data))
    assert [n for n in archive.namelist() if n.endswith(".pdf")] and "not-generated.txt" in archive.namelist()
    assert "A02" in archive.read("not-generated.txt").decode()
    monkeypatch.setattr(report_service, "issue", real_issue)
    with app.app_context():
        app.config["REPORT_RUNNER"] = "inline"
    client.post_form(f"/reports/batches/{batch_id}/resume", {})
    with app.app_context(), unscoped():
        batch = db.session.get(ReportBatch, batch_id)
        assert (batch.status, batch.done, batch.failed) == ("done", 2, 0)


def test_a_batch_runs_on_rq_workers_when_redis_is_set(app, world):
    import os

    redis = pytest.importorskip("redis")
    from rq import Queue, SimpleWorker

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis here")
    Queue(batches.QUEUE, connection=connection).empty()
    with app.app_context(), unscoped():
        app.config.update(REDIS_URL=url, REPORT_RUNNER="")
        try:
            batch = batches.start(PERIOD, "en", db.session.get(User, world.users["admin"]), NETWORK, None)
            assert batch.runner == "rq" and batch.status == "queued"
            batch_id, total = batch.id, batch.total
            queue = Queue(batches.QUEUE, connection=connection)
            assert queue.count == -(-total // batches.ITEMS_PER_JOB)
            SimpleWorker([queue], connection=connection).work(burst=True)
        finally:
            app.config.update(REDIS_URL="", REPORT_RUNNER="inline")
        batch = db.session.get(ReportBatch, batch_id)
        assert (batch.status, batch.done, batch.failed) == ("done", total, 0)
        assert total == db.session.scalar(select(func.count(Store.id)).where(Store.status == "open"))


def test_the_cli_prints_a_batch_with_a_progress_bar(app, world):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["reports", "batch", "--period", str(PERIOD), "--lang", "en",
                                                    "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "done, 0 failed" in result.output
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["reports", "check"])
    assert result.exit_code == 0 and "HarfBuzz subsetting available" in result.output


def test_gathering_a_store_reports_figures_is_a_fixed_number_of_statements(app, world, count_queries):
    from app.services import kpis
    from app.services.reports import store as store_report

    with app.app_context(), unscoped():
        thresholds = kpis.approved_thresholds()
        store = db.session.get(Store, world.a_stores[0])
        _ = store.region.name, store.franchisee.name
        with count_queries() as statements:
            figures = store_report.figures(store, PERIOD, thresholds, "zh_Hans", network_rank=True)
        assert figures.has_data
    assert len(statements) <= 20, statements


def test_evaluation_page_offers_the_report(app, world, login_as):
    with app.app_context(), unscoped():
        ev_id = db.session.scalar(select(StoreEvaluation.id).where(StoreEvaluation.store_id == world.a_stores[0],
                                                                   StoreEvaluation.period == PERIOD))
    page = login_as("owner_a").get(f"/kpis/evaluation/{ev_id}").text
    assert 'data-testid="print-report"' in page and f'value="{world.a_stores[0]}"' in page


def test_an_unknown_kind_of_report_is_refused(app):
    with app.app_context(), unscoped(), pytest.raises(RuleError):
        report_service.issue("nonsense", period=PERIOD, language="zh_Hans")


def test_a_franchisee_report_compares_its_own_stores_only(app, world, login_as, tmp_path):
    client = login_as("owner_a")
    response = client.post_form("/reports/new-group", {"report": "evaluation", "franchisee": world.a, "period": PERIOD, "language": "zh_Hans"})
    assert response.status_code == 302
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    text = _text(client.get(f"/reports/{report_id}/pdf").data, tmp_path)
    for expected in ("加盟商报告", "甲方加盟商", "A01 甲一店", "A02 甲二店", "关键指标与阈值对照", "门店对比", "最薄弱环节"):
        assert expected in text, expected
    for marker in world.b_markers:
        assert marker not in text
    with app.app_context(), unscoped():
        before = db.session.scalar(select(func.count(Report.id)))
    # B's report and the network's are not among the owner's choices; a store manager prints neither.
    for franchisee in (world.b, ""):
        client.post_form("/reports/new-group", {"report": "evaluation", "franchisee": franchisee, "period": PERIOD, "language": "zh_Hans"})
    assert login_as("manager_a").post_form("/reports/new-group", {"report": "evaluation", "franchisee": world.a, "period": PERIOD,
                                                                  "language": "zh_Hans"}).status_code == 403
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count(Report.id))) == before
    # The owner's franchisee report is the owner's: A's store manager does not get it.
    assert login_as("manager_a").get(f"/reports/{report_id}/pdf").status_code == 404


def test_the_network_summary_ranks_franchisees_and_stores(app, world, login_as, tmp_path):
    client = login_as("auditor")
    response = client.post_form("/reports/new-group", {"report": "evaluation", "franchisee": "", "period": PERIOD, "language": "en"})
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    text = "".join(_text(client.get(f"/reports/{report_id}/pdf").data, tmp_path).split())  # names wrap in cells
    for expected in ("Networksummary", "Thewholenetwork", "Franchiseesranked", "Storesranked", "甲方加盟商",
                     "乙方秘密加盟商", "A01甲一店", "B01乙一秘店", "Weakestpoints", "Mystery-shopperscore"):
        assert expected in text, expected
    assert login_as("owner_a").get(f"/reports/{report_id}/pdf").status_code == 404
    # Printing it again keeps both versions.
    again = client.post_form(f"/reports/{report_id}/regenerate", {"confirm": "1"})
    with app.app_context(), unscoped():
        new = db.session.get(Report, int(again.headers["Location"].rsplit("/", 1)[1]))
        assert (new.kind, new.version, new.franchisee_id, new.store_id) == ("network", 2, None, None)


def test_an_audit_report_prints_every_item_and_finding(app, world, login_as, tmp_path):
    client = login_as("manager_a")
    page = client.get(f"/audits/{world.audits['a']}").text
    assert 'data-testid="print-audit"' in page
    response = client.post_form(f"/reports/audits/{world.audits['a']}", {"language": "zh_Hans"})
    assert response.status_code == 302
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    text = "".join(_text(client.get(f"/reports/{report_id}/pdf").data, tmp_path).split())
    with app.app_context(), unscoped():
        from app.models import StoreAudit

        audit = db.session.get(StoreAudit, world.audits["a"])
        reference = audit.reference
    for expected in ("神秘顾客稽核报告", "A01甲一店", reference, "各接触点结果", "发现的问题与纠正措施", "未主动问候顾客"):
        assert expected in text, expected
    for marker in world.b_markers:
        assert marker not in text


def test_an_unpublished_audit_is_not_printed_and_a_shopper_stays_anonymous(app, world, login_as, tmp_path):
    from app.models import StoreAudit
    from app.services.audits import workflow

    # Headquarters cannot print it before publishing (the file would reach the store's people).
    response = login_as("auditor").post_form(f"/reports/audits/{world.audits['a_unpublished']}", {"language": "zh_Hans"},
                                               follow_redirects=True)
    assert "稽核须经总部发布后才能打印" in response.text
    # A's people do not even find it.
    assert login_as("owner_a").post_form(f"/reports/audits/{world.audits['a_unpublished']}", {}).status_code == 404
    with app.app_context(), unscoped():
        audit = db.session.get(StoreAudit, world.audits["a_unpublished"])
        workflow.publish(audit, db.session.get(User, world.users["auditor"]))
        db.session.commit()
    response = login_as("auditor").post_form(f"/reports/audits/{world.audits['a_unpublished']}", {"language": "zh_Hans"})
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    text = _text(login_as("owner_a").get(f"/reports/{report_id}/pdf").data, tmp_path)
    assert "神秘顾客" in text and "t-shopper" not in text


def test_a_complaint_case_file_holds_the_timeline(app, world, login_as, tmp_path):
    client = login_as("owner_a")
    assert 'data-testid="print-complaint"' in client.get(f"/complaints/{world.complaints['a']}").text
    response = client.post_form(f"/reports/complaints/{world.complaints['a']}", {"language": "zh_Hans"})
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    text = "".join(_text(client.get(f"/reports/{report_id}/pdf").data, tmp_path).split())
    for expected in ("投诉档案", "甲方投诉：沙发开裂", "处理记录", "致电顾客致歉"):
        assert expected in text, expected
    for marker in world.b_markers:
        assert marker not in text
    # B's complaint is nobody else's to print.
    for role in ("owner_a", "manager_a", "supervisor"):
        assert login_as(role).post_form(f"/reports/complaints/{world.complaints['b']}", {}).status_code == 404


def test_a_survey_report_gives_the_index_and_the_customers_suggestions(app, world, login_as, tmp_path):
    project = world.surveys["project"]
    # Headquarters: the network's figures, every franchisee ranked, every suggestion.
    client = login_as("admin")
    assert 'data-testid="print-survey"' in client.get(f"/surveys/projects/{project}").text
    response = client.post_form(f"/reports/surveys/{project}", {"language": "zh_Hans"})
    text = "".join(_text(client.get(response.headers["Location"] + "/pdf").data, tmp_path).split())
    for expected in ("满意度调查报告", "全网", "满意度指数", "甲方问卷建议", "乙方秘密问卷建议", "乙方秘密加盟商"):
        assert expected in text, expected
    # A's owner: A's stores only, nothing of B's.
    client = login_as("owner_a")
    response = client.post_form(f"/reports/surveys/{project}", {"language": "zh_Hans"})
    text = "".join(_text(client.get(response.headers["Location"] + "/pdf").data, tmp_path, "a.pdf").split())
    assert "甲方问卷建议" in text and "甲方加盟商" in text
    for marker in world.b_markers:
        assert "".join(marker.split()) not in text, marker
    assert login_as("manager_a").post_form(f"/reports/surveys/{project}", {"language": "zh_Hans"}).status_code == 403


def test_a_complaint_analysis_counts_the_scopes_complaints(app, world, login_as, tmp_path):
    from app.services import kpis

    with app.app_context(), unscoped():
        received = db.session.get(Complaint, world.complaints["a"]).received_at
    period = kpis.period_of(received.date())
    client = login_as("owner_a")
    response = client.post_form("/reports/new-group", {"report": "complaints", "franchisee": world.a, "period": period,
                                                       "language": "en"})
    text = _text(client.get(response.headers["Location"] + "/pdf").data, tmp_path)
    assert "Complaint analysis report" in text and "甲方加盟商" in text and "Stores compared" in text
    assert "A01 甲一店" in text
    for marker in world.b_markers:
        assert marker not in text
    # A half-year without complaints says so.
    quiet = kpis.previous(kpis.previous(period))  # a year earlier: still among the form's half-years
    response = client.post_form("/reports/new-group", {"report": "complaints", "franchisee": world.a, "period": quiet,
                                                       "language": "en"})
    text = " ".join(_text(client.get(response.headers["Location"] + "/pdf").data, tmp_path, "e.pdf").split())
    assert f"No complaint, suggestion or praise was received in {kpis.label(quiet)}" in text


def test_a_distributed_report_reaches_its_addressees_who_answer_with_measures(app, world, login_as):
    from app.models import Notification
    from app.models.report import ReportRecipient

    report_id, _data = _issue(app, world)  # A01's store report, printed by A's owner
    admin = login_as("admin")
    response = admin.post_form(f"/reports/{report_id}/distribute", {"owners": "y", "committee": "y",
                                                                    "departments": "customer_service"})
    assert response.status_code == 302
    page = admin.get(f"/reports/{report_id}").text
    assert page.count('data-testid="not-answered"') == 3
    # Sending again tells nobody twice.
    admin.post_form(f"/reports/{report_id}/distribute", {"owners": "y", "committee": "y"})
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count(ReportRecipient.id)).where(
            ReportRecipient.report_id == report_id)) == 3
        told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "report_distributed")).all()
        assert sorted(told) == sorted([world.users["owner_a"], world.users["viewer"], world.users["dept"]])
    # The department now sees it (and only it), answers; the owner answers too.
    dept = login_as("dept")
    assert "A01" in dept.get("/reports/").text and dept.get(f"/reports/{report_id}/pdf").status_code == 200
    assert dept.get(f"/reports/{world.reports['b_report']}").status_code == 404
    from tests.pages import form_with

    values = form_with(dept.get(f"/reports/{report_id}").text, "answer")
    values["answer"] = "客服部：每周抽查回访录音，培训话术。"
    assert dept.post(f"/reports/{report_id}/answer", data=values).status_code == 302
    owner = login_as("owner_a")
    inbox = owner.get("/reports/").text
    assert 'data-testid="inbox"' in inbox and "待填写改进措施" in inbox
    values = form_with(owner.get(f"/reports/{report_id}").text, "answer")
    values["answer"] = "门店：每日晨会复盘投诉。"
    assert owner.post(f"/reports/{report_id}/answer", data=values).status_code == 302
    page = admin.get(f"/reports/{report_id}").text
    assert "每周抽查回访录音" in page and "每日晨会复盘投诉" in page and page.count('data-testid="not-answered"') == 1
    # Nobody answers for another: A's store manager has no answer to give; B's owner cannot see it.
    assert login_as("manager_a").post_form(f"/reports/{report_id}/answer", {"answer": "x"}).status_code == 403
    # An answer saved by a colleague meanwhile is not overwritten silently.
    stale = form_with(owner.get(f"/reports/{report_id}").text, "answer")
    values = dict(stale, answer="门店：第二版措施。")
    assert owner.post(f"/reports/{report_id}/answer", data=values).status_code == 302
    stale["answer"] = "门店：另一人的措施。"
    clash = owner.post(f"/reports/{report_id}/answer", data=stale)
    assert clash.status_code == 409 and "门店：另一人的措施。" in clash.text  # refused, nothing typed is lost
    with app.app_context(), unscoped():
        saved = db.session.scalar(select(ReportRecipient.answer).where(ReportRecipient.report_id == report_id,
                                                                       ReportRecipient.kind == "owner"))
        assert saved == "门店：第二版措施。"
    # A network report has no franchise owner to go to.
    response = admin.post_form("/reports/new-group", {"report": "evaluation", "franchisee": "", "period": PERIOD,
                                                      "language": "zh_Hans"})
    network_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = admin.post_form(f"/reports/{network_id}/distribute", {"owners": "y"}, follow_redirects=True).text
    assert "没有可发送的加盟商负责人" in page
    # A department without anyone in the portal yet: sent, and the sender is told nobody read it.
    page = admin.post_form(f"/reports/{network_id}/distribute", {"departments": "marketing"}, follow_redirects=True).text
    assert "尚无人拥有门户账号" in page


def test_a_schedule_prints_and_sends_once_a_half_year_is_over(app, world, login_as):
    from datetime import timedelta

    from app.models.report import ReportRecipient, ReportSchedule
    from app.services.reports import distribution, periods

    admin = login_as("admin")
    assert admin.post_form("/reports/schedules", {"kind": "store", "every": "half", "language": "zh_Hans", "owners": "y",
                                                  "departments": "customer_service"}).status_code == 302
    assert admin.post_form("/reports/schedules", {"kind": "network", "every": "half", "language": "en",
                                                  "committee": "y"}).status_code == 302
    # Refused: no addressee, owners for a network report, a copy of an active schedule.
    for values in ({"kind": "complaints", "every": "half", "language": "en"},
                   {"kind": "network", "every": "quarter", "language": "en", "owners": "y"},
                   {"kind": "store", "every": "half", "language": "zh_Hans", "committee": "y"}):
        assert admin.post_form("/reports/schedules", values).status_code == 422
    assert login_as("owner_a").get("/reports/schedules").status_code == 403
    with app.app_context(), unscoped():
        assert db.session.scalar(select(func.count(ReportSchedule.id))) == 2
        # Nothing is printed for the half-year already over; the next one runs once it ends.
        assert distribution.run_due() == 0
        coming = periods.next_after(distribution.ended("half"))
        after = periods.bounds(coming)[1] + timedelta(days=2)
        assert distribution.run_due(after) == 2
        assert distribution.run_due(after + timedelta(days=30)) == 0  # ... and once
        db.session.commit()
        batch = db.session.scalar(select(ReportBatch).where(ReportBatch.schedule_id.is_not(None)))
        assert (batch.status, batch.period, batch.done) == ("done", coming, 4)
        owners = db.session.scalars(select(ReportRecipient.key).join(Report).where(Report.batch_id == batch.id)).all()
        assert owners.count(f"owner:{world.a}") == 2 and owners.count(f"owner:{world.b}") == 2
        assert owners.count("department:customer_service") == 4
        network = db.session.scalar(select(Report).where(Report.kind == "network", Report.period == coming,
                                                         Report.generated_by_id.is_(None)))
        assert network is not None and network.language == "en"
        assert db.session.scalar(select(ReportRecipient.key).where(ReportRecipient.report_id == network.id)) == "committee"
        assert all(s.last_period == coming for s in db.session.scalars(select(ReportSchedule)))
    # B's owner got B's store reports, A's owner A's: each sees their own.
    inbox = login_as("owner_a").get("/reports/").text
    assert "A01" in inbox and "乙一秘店" not in inbox


def test_long_unbroken_text_wraps_inside_the_page(app, world, tmp_path):
    with app.app_context(), unscoped():
        ev = db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == world.a_stores[0],
                                                             StoreEvaluation.period == PERIOD))
        ev.comment = "B" * 300
        db.session.commit()
    try:
        _id, data = _issue(app, world)
    finally:
        with app.app_context(), unscoped():
            db.session.scalar(select(StoreEvaluation).where(StoreEvaluation.store_id == world.a_stores[0],
                                                            StoreEvaluation.period == PERIOD)).comment = None
            db.session.commit()
    (tmp_path / "w.pdf").write_bytes(data)
    boxes = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "w.pdf"), "-"], capture_output=True, check=True).stdout.decode()
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    assert right_edges and max(right_edges) <= 595.3  # A4 is 595.28 pt wide
    assert boxes.count("B") >= 300  # every character printed, over several lines


def test_the_case_file_masks_the_customer_and_lists_show_one_line_per_report(app, world, login_as, tmp_path):
    client = login_as("owner_a")
    with app.app_context(), unscoped():
        name = db.session.get(Complaint, world.complaints["a"]).contact_name
    for _n in range(2):
        response = client.post_form(f"/reports/complaints/{world.complaints['a']}", {"language": "zh_Hans"})
    second = response.headers["Location"].rsplit("/", 1)[1]
    text = _text(client.get(f"/reports/{second}/pdf").data, tmp_path)
    assert f"{name[0]}**" in text and f"{name}**" not in text  # (trial 18 printed the whole name, then **)
    listed = client.get("/reports/?kind=complaint").text
    assert listed.count('data-testid="report-row"') == 1 and "v2" in listed
    assert client.get("/reports/?kind=complaint&versions=all").text.count('data-testid="report-row"') == 2
    # The report's page offers printing it again to whoever may print it.
    assert 'data-testid="regenerate"' in login_as("manager_a").get(f"/reports/{second}").text


def test_periods_cover_half_years_and_quarters():
    from datetime import date

    from app.services.reports import periods

    assert periods.parse("202603") == 202603 and periods.parse("20262") == 20262
    for bad in ("202605", "20263", "99999", "abc", "", None, "2026031", "-20261", "1" * 25):
        assert periods.parse(bad) is None, bad
    assert periods.half_of(202603) == 20262 and periods.half_of(202602) == 20261
    assert periods.months(202603) == [202607, 202608, 202609]
    assert periods.bounds(202604) == (date(2026, 10, 1), date(2026, 12, 31))
    assert periods.quarters(20262) == (2026, (3, 4)) and periods.previous(202601) == 202504
    assert periods.label(202603) == "2026Q3" and periods.label(20261) == "2026H1"
    offered = periods.recent(today=date(2026, 11, 25))
    assert offered[:3] == [20262, 202604, 202603] and 20251 in offered and 202601 in offered


def test_a_quarter_report_counts_the_quarters_complaints_and_says_whose_kpis(app, world, login_as, tmp_path):
    from app.services.reports import periods

    with app.app_context(), unscoped():
        received = db.session.get(Complaint, world.complaints["a"]).received_at.date()
    quarter = periods.of(received, quarter=True)
    client = login_as("owner_a")
    response = client.post_form("/reports/new", {"store": world.a_stores[0], "period": quarter, "language": "en"})
    assert response.status_code == 302, response.text[:300]
    text = "".join(_text(client.get(response.headers["Location"] + "/pdf").data, tmp_path).split()).replace("-", "")
    half = periods.label(periods.half_of(quarter))
    assert f"Quarter{periods.label(quarter)}" in text
    assert f"KPIsandtheevaluationarehalfyearly:thoseof{half}" in text  # (a line may break at the hyphen)
    assert "5ComplaintsReceivedResolvedintimeAveragetimetoresolveOpennow1" in text  # the quarter's one complaint
    # The complaint analysis of the quarter before counts none of it.
    earlier = periods.previous(quarter)
    if earlier in periods.recent():
        response = client.post_form("/reports/new-group", {"report": "complaints", "franchisee": world.a,
                                                           "period": earlier, "language": "en"})
        text = " ".join(_text(client.get(response.headers["Location"] + "/pdf").data, tmp_path, "q.pdf").split())
        assert f"No complaint, suggestion or praise was received in {periods.label(earlier)}" in text


def test_a_quarterly_schedule_runs_once_each_quarter(app, world, login_as):
    from datetime import timedelta

    from app.models.report import ReportSchedule
    from app.services.reports import distribution, periods

    assert login_as("admin").post_form("/reports/schedules", {"kind": "complaints", "every": "quarter",
                                                              "language": "zh_Hans", "committee": "y"}).status_code == 302
    first = periods.next_after(distribution.ended("quarter"))
    second = periods.next_after(first)
    with app.app_context(), unscoped():
        assert distribution.run_due(periods.bounds(first)[1] + timedelta(days=1)) == 1
        assert distribution.run_due(periods.bounds(first)[1] + timedelta(days=40)) == 0
        assert distribution.run_due(periods.bounds(second)[1] + timedelta(days=1)) == 1
        db.session.commit()
        assert db.session.scalar(select(ReportSchedule.last_period)) == second
        printed = db.session.scalars(select(Report.period).where(Report.kind == "complaints")
                                     .order_by(Report.id)).all()
        assert printed == [first, second]

def test_a_report_printed_by_headquarters_holds_no_unpublished_finding(app, world, tmp_path):
    # Headquarters sees the unpublished audit of A02; the file is kept where A's people read it.
    _id, data = _issue(app, world, index=1, user="admin")
    text = "".join(_text(data, tmp_path).split())
    assert "甲方未发布的稽核发现" not in text


def test_a_batch_still_runs_when_redis_is_down(app, world, monkeypatch):
    started = []
    monkeypatch.setattr("app.jobs.start_command", lambda *args, **kwargs: started.append(args))
    with app.app_context(), unscoped():
        app.config.update(REDIS_URL="redis://127.0.0.1:1/0", REPORT_RUNNER="")  # nothing listens on port 1
        try:
            batch = batches.start(PERIOD, "zh_Hans", db.session.get(User, world.users["owner_a"]), NETWORK, world.a)
        finally:
            app.config.update(REDIS_URL="", REPORT_RUNNER="inline")
        assert db.session.get(ReportBatch, batch.id).runner == "process"
    assert started == [("reports", "run-batch", str(batch.id))]
