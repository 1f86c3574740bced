"""Timings for the closing notes: `make bench`. Not a test; numbers vary with machine load.

Builds a throwaway SQLite database with the demo seed, then times pages through the
Flask test client (framework + SQL, no network) and one argon2id hash.
"""
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.security.passwords import hash_password  # noqa: E402
from app.security.tenancy import unscoped  # noqa: E402
from app.seed import seed_demo  # noqa: E402

PAGES = {
    "owner-a": ["/", "/stores", "/franchisees", "/customers/", "/customers/?churn=any", "/customers/care", "/customers/1"],
    "hq-admin": ["/", "/stores", "/admin/users/", "/admin/audit/", "/customers/", "/customers/duplicates"],
}
RUNS = 200


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app("development", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.db")
        with app.app_context(), unscoped():
            db.create_all()
            seed_demo(app.config["DEMO_PASSWORD"])
            db.session.commit()
            started = time.perf_counter()
            for _ in range(10):
                hash_password("benchmark password")
            print(f"argon2id hash (m=19 MiB, t=2, p=1): {(time.perf_counter() - started) * 100:.1f} ms")
        for user, paths in PAGES.items():
            client = app.test_client()
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text).group(1)
            started = time.perf_counter()
            client.post("/login", data={"login": user, "password": app.config["DEMO_PASSWORD"], "csrf_token": token})
            print(f"{user}: sign-in {(time.perf_counter() - started) * 1000:.1f} ms")
            for path in paths:
                times = []
                for _ in range(RUNS):
                    t = time.perf_counter()
                    assert client.get(path).status_code == 200
                    times.append((time.perf_counter() - t) * 1000)
                times.sort()
                print(f"  {path:<16} p50 {statistics.median(times):5.2f} ms   p95 {times[int(RUNS * 0.95)]:5.2f} ms")


if __name__ == "__main__":
    main()
