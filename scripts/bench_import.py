"""Time and memory of a 100,000-row customer import, run the way the portal runs it.

Builds a throwaway SQLite database with the demo seed (or uses DATABASE_URL),
writes a CSV of ROWS customers with Chinese headers, and runs both steps
(check, then import) through `flask customers run-import` in a separate
process, as an upload does. Prints seconds and peak resident memory per step.

    make bench-import            # ROWS=100000 by default
"""
import csv
import os
import random
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

    rng = random.Random(7)
    source = work / "customers.csv"
    prefixes = ["135", "136", "137", "150", "151", "158", "187", "188", "199"]
    with open(source, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["门店编码", "姓名", "性别", "生日", "手机", "邮箱", "地址", "同意保存联系方式", "积分"])
        stores = ["SH001", "HZ001", "SU001"]
        for i in range(ROWS):
            writer.writerow([stores[i % 3], f"测试顾客{i:06d}", "女" if i % 2 else "男",
                             f"{1950 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                             f"{rng.choice(prefixes)}{i:08d}", f"c{i}@example.cn" if i % 3 == 0 else "",
                             f"上海市徐汇区测试路{i % 900 + 1}号", "是" if i % 5 else "否", i % 1000])
    print(f"{ROWS} rows, {source.stat().st_size / 1e6:.1f} MB CSV")

    from app import create_app
    from app.extensions import db
    from app.models import CustomerImport, Store, User
    from app.security.tenancy import unscoped
    from sqlalchemy import select

    app = create_app("development")
    with app.app_context(), unscoped():
        owner = db.session.scalar(select(User).where(User.username == "owner-a"))
        store = db.session.scalar(select(Store).where(Store.code == "SH001"))
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
        result = subprocess.run(flask + ["customers", "run-import", str(job_id)], cwd=ROOT, env=env,
                                capture_output=True, text=True)
        wall = time.perf_counter() - started
        print(f"{step}: {result.stdout.strip() or result.stderr.strip()[-500:]} (process wall {wall:.1f} s)")
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
