"""A customer file for the import benches, as a store would upload it.

Names, mobiles and e-mail addresses come from ``seed large``'s generator (common surnames,
two- and three-character names, real mobile prefixes); birthdays spread over 1950–2006. A file
of numbered names and birthdays that repeat every 2,100 rows would make the duplicate check
compare ≈ 50 same-day customers with one another, where real files give a handful.
"""
import csv
import random
from datetime import date

HEADER = ["门店编码", "姓名", "性别", "生日", "手机", "邮箱", "地址", "同意保存联系方式", "同意日期", "同意方式", "同意用途",
          "积分", "标签"]
METHODS = ["纸质表格", "线上", "微信"]
CONSENT_DAY = "2026-01-15"
STREETS = ["漕溪北路", "中山西路", "人民路", "解放路", "建设路", "和平路", "文化路", "长江路", "滨江大道", "新华路"]


def write_customer_csv(path, rows: int, store_codes: list[str], taken_mobiles=(), seed: int = 7, tag: str = "") -> None:
    from app.seed_large import _People

    rng = random.Random(seed)
    people = _People(rng)
    people.used_mobiles.update(int(m) for m in taken_mobiles if str(m).isdigit())
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            name, sex, year = people.person()
            born = date(year, 1, 1).toordinal() + int(rng.random() * 365)
            mobile, email = people.mobile(), people.email(name) if rng.random() < 0.35 else ""
            address = f"上海市徐汇区{rng.choice(STREETS)}{int(rng.random() * 900) + 1}号"
            if rng.random() < 0.8:  # consented, with date, method and purpose (R61)
                consent = ["是", CONSENT_DAY, rng.choice(METHODS), "回访、会员活动与节日问候"]
            else:  # no consent: no contact details either
                consent, mobile, email, address = ["否", "", "", ""], "", "", ""
            writer.writerow([
                store_codes[i % len(store_codes)], name, "女" if sex == "female" else "男",
                date.fromordinal(born).isoformat(), mobile, email, address, *consent, int(rng.random() * 1000), tag,
            ])
