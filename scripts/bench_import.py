"""Time and memory of a 100,000-row customer import, run the way the portal runs it.

Builds a throwaway SQLite database with the demo seed (or uses DATABASE_URL),
writes a CSV of ROWS customers with Chinese headers, and runs both steps
(check, then import) through `flask customers run-import` in a separate
process, as an upload does. Prints seconds and peak resident memory per step.

    make bench-import            # ROWS=100000 by default
    DATABASE_URL=sqlite:////tmp/copy-of-large.db PROFILE=/tmp/prof make bench-import   # profile both steps
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ROWS = int(os.environ.get("ROWS", "100000"))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cx-import-bench-"))
    env = os.environ.copy()
    env.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.db'}")
    env["IMPORT_DIR"] = str(work / "imports")
    env["PORTAL_CONFIG"] = "development"
    os.environ.update(env)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(flask + ["seed", "demo", "--if-empty"], cwd=ROOT, env=env, check=True, capture_output=True)

    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import Customer, CustomerImport, Store, User
    from app.security.tenancy import unscoped
    from scripts.import_file import write_customer_csv

    app = create_app("development")
    with app.app_context(), unscoped():
        owner = db.session.scalar(select(User).where(User.username == "owner-a"))
        store = db.session.scalar(select(Store).where(Store.code == "SH001"))
        # The file's stores are owner-a's: its mobiles must be new to that franchisee.
        taken = db.session.scalars(select(Customer.mobile).where(Customer.franchisee_id == store.franchisee_id,
                                                                 Customer.mobile.is_not(None))).all()
        source = work / "customers.csv"
        write_customer_csv(source, ROWS, ["SH001", "HZ001", "SU001"], taken)
        print(f"{ROWS} rows, {source.stat().st_size / 1e6:.1f} MB CSV")
        Path(env["IMPORT_DIR"]).mkdir(parents=True, exist_ok=True)
        stored = "bench.csv"
        os.replace(source, Path(env["IMPORT_DIR"]) / stored)
        job = CustomerImport(store_id=store.id, franchisee_id=store.franchisee_id, created_by_id=owner.id,
                             filename="customers.csv", stored_as=stored, file_kind="csv",
                             size=(Path(env["IMPORT_DIR"]) / stored).stat().st_size, encoding="utf-8-sig")
        db.session.add(job)
        db.session.commit()
        job_id = job.id

    for step in ("check", "import"):
        started = time.perf_counter()
        # PROFILE=<dir>: each step runs under cProfile and leaves <dir>/<step>.prof.
        profile = ["-m", "cProfile", "-o", f"{os.environ['PROFILE']}/{step}.prof"] if os.environ.get("PROFILE") else []
        command = [sys.executable, *profile, "-m", "flask", "--app", "wsgi"]
        result = subprocess.run(command + ["customers", "run-import", str(job_id)], cwd=ROOT, env=env,
                                capture_output=True, text=True)
        wall = time.perf_counter() - started
        print(f"{step}: {result.stdout.strip() or result.stderr.strip()[-500:]} (process wall {wall:.1f} s)")
        for line in result.stderr.splitlines():
            if "written in" in line:  # the import's phase timings
                print("  " + line.split("import", 1)[-1].strip())
        if result.returncode:
            sys.exit(result.returncode)
        if step == "check":
            with app.app_context(), unscoped():
                job = db.session.scalar(select(CustomerImport).where(CustomerImport.id == job_id))
                if job.state != "ready":
                    sys.exit(f"check ended in state {job.state}: {job.errors[:3] if job.errors else job.message}")
                job.state = "importing"
                db.session.commit()


if __name__ == "__main__":
    main()
