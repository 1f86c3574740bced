"""Normalising customer input (R13): phones, names, dates, e-mail, shared by forms and imports.

Every function returns the normalised value or raises ``FieldError`` with a
message in the user's language; empty input is ``None``.
"""
import re
import unicodedata
from datetime import date, datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from app.i18n import _m
from app.models.base import local_date, local_today, utcnow
from app.services import addresses
from app.text import fold_width


class FieldError(ValueError):
    pass


_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
# The common shapes (11 digits, optionally +86 / 0086, spaces or dashes) are checked against
# libphonenumber's own mainland mobile pattern directly: parsing each number costs ≈ 250 µs,
# 25 s of a 100,000-row import. Anything else takes the full parse below.
_PLAIN_MOBILE = re.compile(r"(?:(?:\+|00)86)?(1\d{10})")
_CN_MOBILE = re.compile(phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern)
_SEPARATORS = str.maketrans("", "", " -")


def normalise_mobile(value) -> str | None:
    """A mainland mobile number as its 11 digits; accepts spaces, dashes, +86 and 0086."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if isinstance(value, float) and value.is_integer():  # spreadsheets store numbers as floats
        text = str(int(value))
    if not text:
        return None
    plain = _PLAIN_MOBILE.fullmatch(text.translate(_SEPARATORS))
    if plain and _CN_MOBILE.fullmatch(plain.group(1)):
        return plain.group(1)
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise FieldError(_m("Not a valid mainland mobile number (11 digits starting with 1)."))
    return str(number.national_number)


_LANDLINE_TYPES = {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_landline(value) -> str | None:
    """A mainland landline (座机) as area code and number, e.g. 021-64881234: the one phone many
    business customers have. Accepts spaces, dashes, brackets, +86 and 0086."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if (number is None or number.country_code != 86 or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in _LANDLINE_TYPES):
        raise FieldError(_m("Not a valid mainland landline (area code and number, e.g. 021-64881234)."))
    digits = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_geographical_area_code(number) or 2
    return f"0{digits[:area]}-{digits[area:]}"


def normalise_phone(value) -> str | None:
    """A mobile or a landline, whichever the number is (a complaint's contact phone)."""
    try:
        return normalise_mobile(value)
    except FieldError:
        pass
    try:
        return normalise_landline(value)
    except FieldError:
        raise FieldError(_m("Not a valid phone number: a mobile (11 digits) or a landline with its area code.")) from None


def name_key(name: str) -> str:
    """Name folded for search and duplicate checks: half-width, lower case, no spaces or dots."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"[\s\.\-·•_'’]+", "", text)[:60]


def clean_name(value) -> str:
    text = re.sub(r"\s+", " ", fold_width(value)).strip()
    if not text:
        raise FieldError(_m("A name is required."))
    if len(text) > 60:
        raise FieldError(_m("At most %(max)d characters.", max=60))
    return text


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
]


def parse_date(value) -> date | None:
    """A calendar date from ISO, 2026/1/5, 2026.01.05, 20260105, 2026年1月5日 or a spreadsheet date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    text = re.sub(r"[T ]00:00(:00)?$", "", text)
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                raise FieldError(_m("%(value)s is not a real calendar date.", value=text)) from None
    raise FieldError(_m("Write dates as YYYY-MM-DD, for example 1990-05-17."))


def check_birthday(day: date | None, today: date | None = None) -> date | None:
    if day is None:
        return None
    today = today or local_today()
    if day > today:
        raise FieldError(_m("A birthday cannot be in the future."))
    if day.year < 1900:
        raise FieldError(_m("A birthday before 1900 is not plausible."))
    return day


# Plain ASCII addresses under common top-level domains, which email-validator accepts
# unchanged but for the domain's case, skip it (≈ 240 µs an address). Others are validated by it.
_PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+)*)@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:cn|com|net|org|edu|gov|info|biz|io|co|me|hk|mo|tw|sg|top|vip|xyz|site|club|ltd|group|shop|work))",
    re.IGNORECASE,
)


def normalise_email(value) -> str | None:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return None
    plain = _PLAIN_EMAIL.fullmatch(text)
    if plain and len(plain.group(1)) <= 64 and len(text) <= 254:
        return f"{plain.group(1)}@{plain.group(2).lower()}"
    try:
        # No SMTPUTF8: "😀@example.com" is a valid address on paper that ordinary mail servers
        # refuse to deliver (issue 9, trial 5). International domain names stay allowed.
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError:
        raise FieldError(_m("Not a valid e-mail address.")) from None


def normalise_postal_code(value) -> str | None:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text:
        return None
    if not re.fullmatch(r"\d{6}", text):
        raise FieldError(_m("A postal code has 6 digits."))
    return text


def normalise_text(value, max_length: int) -> str | None:
    text = re.sub(r"[ \t]+", " ", fold_width(value)).strip()
    if not text:
        return None
    if len(text) > max_length:
        raise FieldError(_m("At most %(max)d characters.", max=max_length))
    return text


def address_with_divisions(value, max_length: int = 200) -> tuple[str | None, dict]:
    """An address with the full province, city and district names in front (services/addresses),
    and those three, from one parse (the import does this for every row)."""
    text = normalise_text(value, max_length)
    if text is None:
        return None, {"province": None, "city": None, "district": None}
    parsed = addresses.parse(text)
    text = parsed.text() if parsed.found else addresses.normalise(text)
    if len(text) > max_length:  # the full names made it longer than the field
        raise FieldError(_m("At most %(max)d characters.", max=max_length))
    return text, {"province": parsed.province, "city": parsed.city, "district": parsed.district}


def normalise_address(value, max_length: int = 200) -> str | None:
    return address_with_divisions(value, max_length)[0]


def address_divisions(address: str | None) -> dict:
    """The province, city and district stored with an address (None where not found)."""
    parsed = addresses.parse(address)
    return {"province": parsed.province, "city": parsed.city, "district": parsed.district}


def mask_mobile(mobile: str | None) -> str:
    if not mobile:
        return ""
    return mobile[:3] + "****" + mobile[-4:] if len(mobile) >= 8 else "****"


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return local[:1] + "***@" + domain


# What a customer can be reached by: kept only with their consent (R61).
CONTACT_FIELDS = ("mobile", "landline", "email", "address", "delivery_address")


def consent_problems(data: dict, today: date | None = None) -> list[tuple[str, str]]:
    """R61, for the customer form and the import alike: consent is recorded with how it was
    given, the purpose the customer was told and its date; contact details are kept only with
    consent. Returns (field, message) pairs; the field ``consent_date`` is the date typed or
    imported (``data["consent_at"]``, a date or datetime)."""
    problems = []
    if data.get("consent"):
        if not data.get("consent_method"):
            problems.append(("consent_method", _m("Say how the customer gave consent.")))
        if not (data.get("consent_purpose") or "").strip():
            problems.append(("consent_purpose", _m("Say what the customer was told their details are for.")))
        given = data.get("consent_at")
        given = given.date() if isinstance(given, datetime) else given
        if given is None:
            problems.append(("consent_date", _m("Enter the date the customer gave consent.")))
        elif given > (today or local_today()):
            problems.append(("consent_date", _m("Consent cannot be dated in the future.")))
    elif any(data.get(field) for field in CONTACT_FIELDS):
        problems.append(("consent", _m("Phone numbers, e-mail and addresses are kept only with the customer's consent: "
                                       "record how and why they agreed, or leave those details empty.")))
    return problems


def consent_time(day: date, existing: datetime | None = None) -> datetime:
    """When consent was given, for the record: the moment itself when that is today, the day's
    noon (UTC, the same calendar day in China) for a day in the past, the stored time when the
    date typed is the date already on file."""
    if existing is not None and local_date(existing) == day:
        return existing
    return utcnow() if day == local_today() else datetime.combine(day, datetime.min.time().replace(hour=12))
