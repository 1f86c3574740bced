"""Chinese addresses: province, city and district found from the national division table.

The table (app/data/divisions/pca-code.json, the npm package china-division, refreshed by
scripts/vendor-divisions.sh) lists 31 provinces, 342 cities and about 3,000 districts with
their codes. No PyPI parser was taken: the maintained ones (cpca, jionlp) pull in pandas or
several hundred MB of models for what is a prefix lookup in this table.

``parse`` reads the address from the left, level by level, taking the longest name that
starts the rest of the text: the full name (浙江省, 杭州市, 西湖区) or its common short form
(浙江, 杭州, 西湖). A level that is left out is inferred when the name below it is unique
(徐汇区 → 上海市), and a short form is refused where a road name follows (北京路, 中山大道),
so "中山路 88 号" stays an address without divisions instead of becoming 中山市.
``normalise`` writes the address again with the full names: 上海徐汇区漕溪北路 88 号 →
上海市徐汇区漕溪北路88号.
"""
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.text import fold_width

DATA = Path(__file__).resolve().parent.parent / "data" / "divisions" / "pca-code.json"
MUNICIPALITY_CITIES = {"市辖区", "县"}  # the "cities" of 北京, 天津, 上海, 重庆 in the table
PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")
CITY_SUFFIXES = ("地区", "市", "盟")
DISTRICT_SUFFIXES = ("区", "县", "市", "旗")
# What follows a place name inside a street address: then the name is part of the street.
DIVISION_ENDINGS = ("省", "市", "区", "县", "州", "盟", "旗")
ROAD_WORDS = ("路", "街", "道", "巷", "弄", "大道", "大街", "号", "广场", "公园", "小区", "花园", "大厦")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    parent: "Division | None" = None


@dataclass(frozen=True)
class Parsed:
    province: str | None
    city: str | None
    district: str | None
    rest: str
    code: str | None  # the most precise division code found

    @property
    def found(self) -> bool:
        return self.province is not None

    def text(self) -> str:
        city = None if self.city == self.province else self.city
        return "".join(part for part in (self.province, city, self.district, self.rest) if part)


def _short_forms(name: str, suffixes) -> list[str]:
    forms = []
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            forms.append(name[: -len(suffix)])
            break
    if "自治" in name and name.index("自治") >= 2:  # 延边朝鲜族自治州 → 延边; 大厂回族自治县 → 大厂
        head = name[: name.index("自治")]
        for people in ("族",):
            if head.endswith(people) and len(head) > 3:
                forms.append(head[:2])
    return forms


class _Index:
    """Names → divisions per level, and each division's children, from the table."""

    def __init__(self, tree: list[dict]):
        # {level: {key: [(division, is_full_name)]}}
        self.names: dict[int, dict[str, list[tuple[Division, bool]]]] = {1: {}, 2: {}, 3: {}}
        self.children: dict[str, list[Division]] = {}
        self.longest = 0
        self.lengths: dict[int, dict[str, list[int]]] = {1: {}, 2: {}, 3: {}}
        for p in tree:
            province = Division(p["code"], p["name"])
            self._add(province, 1, PROVINCE_SUFFIXES)
            for c in p.get("children", []):
                municipal = c["name"] in MUNICIPALITY_CITIES
                city = province if municipal else Division(c["code"], c["name"], province)
                if not municipal:
                    self._add(city, 2, CITY_SUFFIXES)
                    self.children.setdefault(province.code, []).append(city)
                for d in c.get("children", []):
                    district = Division(d["code"], d["name"], city)
                    self._add(district, 3, DISTRICT_SUFFIXES)
                    self.children.setdefault(city.code, []).append(district)

    def _add(self, division: Division, level: int, suffixes) -> None:
        for key, full in [(division.name, True)] + [(s, False) for s in _short_forms(division.name, suffixes)]:
            self.names[level].setdefault(key, []).append((division, full))
            self.longest = max(self.longest, len(key))
            # The lengths of the names starting with the same two characters, longest first: a
            # lookup tries only those (an import parses 100,000 addresses).
            lengths = self.lengths[level].setdefault(key[:2], [])
            if len(key) not in lengths:
                lengths.append(len(key))
                lengths.sort(reverse=True)

    def match(self, text: str, level: int, within: Division | None):
        """The longest name at ``level`` starting ``text`` (under ``within`` if given) that
        names one division: (division, length) or None."""
        for length in self.lengths[level].get(text[:2], ()):
            if length > len(text):
                continue
            candidates = self.names[level].get(text[:length])
            if not candidates:
                continue
            if within is not None:
                candidates = [(d, full) for d, full in candidates if _under(d, within)]
            divisions = {d.code: (d, full) for d, full in candidates}
            if len(divisions) != 1:
                continue
            division, full = next(iter(divisions.values()))
            # A short form followed by a road word is a street (北京路); followed by a division
            # suffix, the full name is another division's (朝阳区 is not 朝阳市).
            if not full and text[length:].startswith(ROAD_WORDS + DIVISION_ENDINGS):
                continue
            return division, length
        return None


def _under(division: Division, ancestor: Division) -> bool:
    node = division.parent
    while node is not None:
        if node.code == ancestor.code:
            return True
        node = node.parent
    return False


@lru_cache(maxsize=1)
def _index() -> _Index:
    with open(DATA, encoding="utf-8") as data:
        return _Index(json.load(data))


# Spaces next to a Chinese character are dropped (上海 徐汇区 → 上海徐汇区); others become one.
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff])\s+|\s+(?=[\u3000-\u9fff])")


def _clean(text: str) -> str:
    return _CJK_SPACE.sub("", " ".join(fold_width(text).split()))


@lru_cache(maxsize=16384)
def parse(address: str | None) -> Parsed:
    """Province, city and district of an address, and the rest of it (the street)."""
    text = _clean(address or "")
    index = _index()
    province = city = district = None
    pos = 0
    found = index.match(text, 1, None)
    if found:
        province, length = found
        pos += length
    found = index.match(text[pos:], 2, province)
    if found:
        city, length = found
        pos += length
    found = index.match(text[pos:], 3, city or province)
    if found:
        district, length = found
        pos += length
    if district is not None:
        city = city or district.parent
    if city is not None:
        province = province or (city.parent or city)
    if province is None:
        return Parsed(None, None, None, text, None)
    city_name = city.name if city is not None else (province.name if _is_municipality(province) else None)
    most = district or city or province
    return Parsed(province.name, city_name, district.name if district else None, text[pos:], most.code)


def _is_municipality(province: Division) -> bool:
    return not any(c.parent is province and len(c.code) == 4 for c in _index().children.get(province.code, []))


def normalise(address: str | None) -> str | None:
    """The address with full division names in front, or as typed (spaces removed) if none is found."""
    if not address or not address.strip():
        return None
    parsed = parse(address)
    return parsed.text() if parsed.found else _clean(address)
