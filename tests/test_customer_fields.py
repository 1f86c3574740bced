"""Phone and e-mail normalising: the fast paths give exactly what the libraries give (R13).

The import checks 100,000 rows; libphonenumber and email-validator cost ≈ 250 µs a value, so
common shapes are checked directly. These tests hold the shortcut to the libraries' answers.
"""
import random

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email

from app.services.customer_fields import FieldError, normalise_email, normalise_mobile


def library_mobile(text):
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if (number.country_code != 86 or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                         phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)):
        return None
    return str(number.national_number)


def ours(function, value):
    try:
        return function(value)
    except FieldError:
        return None


def mobile_samples():
    rng = random.Random(11)
    samples = ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000",
               "008613800138000", "8613800138000", "12345678901", "10000000000", "1380013800", "138001380001",
               "+85291234567", "010-12345678", "+1 650 253 0000", "1740 0123456", "17400123456", "17406123456",
               "１３８００１３８０００", "+86-138-0013-8000", "0086 138 0013 8000", "+86 (138) 0013 8000"]
    for _ in range(3000):
        samples.append("1" + "".join(rng.choice("0123456789") for _ in range(10)))
    return samples


def test_mobile_shortcut_agrees_with_libphonenumber_on_every_sample():
    disagreements = [(s, ours(normalise_mobile, s), library_mobile(s)) for s in mobile_samples()
                     if ours(normalise_mobile, s) != library_mobile(s.replace("１", "1").replace("３", "3")
                                                                      .replace("８", "8").replace("０", "0"))]
    assert disagreements == []


def library_email(text):
    # Without SMTPUTF8, as the portal asks: a local part outside ASCII ("王@", "😀@") is one
    # ordinary mail servers do not deliver to (issue 9, trial 5).
    try:
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError:
        return None


@pytest.mark.parametrize("address", [
    "wang@example.cn", "WANG@Example.COM", "li.na+shop@mail.163.com", "a@b.cn", "first.last@sub.domain.org",
    "x..y@example.cn", ".x@example.cn", "x.@example.cn", "x@-bad.cn", "x@bad-.cn", "x@example", "x@localhost",
    "x@example.test", "x@example.local", "a" * 64 + "@example.cn", "a" * 65 + "@example.cn",
    "x@" + "a" * 63 + ".cn", "x@" + "a" * 64 + ".cn", "王@example.cn", "x@例子.中国", "x y@example.cn",
    "x@example.cn.", "x_y@example.cn", "x-y@ex-ample.co", "1@2.com", "x@EXAMPLE.CN",
])
def test_email_shortcut_agrees_with_email_validator(address):
    assert ours(normalise_email, address) == library_email(address)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_whole_numbers_are_written_as_babel_writes_them(app, locale):
    from flask_babel import force_locale, format_number

    from app.templating import number

    with app.test_request_context(), force_locale(locale):
        for value in (0, 7, 999, 1000, 12345, 1_002_400, -4321, 10**15):
            assert number(value) == format_number(value)
        assert number(None) == ""


@pytest.mark.parametrize("locale, expected", [
    ("zh_Hans", {"date short": "2025/12/31", "date medium": "2025年12月31日", "datetime short": "2026年1月1日 00:00",
                 "datetime medium": "2026年1月1日 00:00:00", "utc date": "2026年1月1日"}),
    ("en", {"date short": "12/31/2025", "date medium": "Dec 31, 2025", "datetime short": "Jan 1, 2026, 12:00\u202fAM",
            "datetime medium": "Jan 1, 2026, 12:00:00\u202fAM", "utc date": "Jan 1, 2026"}),
])
def test_one_date_style_with_four_digit_years_in_both_languages(app, locale, expected):
    """Issue 8: English short dates had two-digit years; the Chinese timeline mixed styles."""
    from datetime import date, datetime

    from app.i18n import force_locale
    from app.templating import date_text, datetime_text

    new_year_in_china = datetime(2025, 12, 31, 16, 0, 0)  # stored in UTC: midnight in Shanghai
    with app.test_request_context(), force_locale(locale):
        assert date_text(date(2025, 12, 31), "short") == expected["date short"]
        assert date_text(date(2025, 12, 31)) == expected["date medium"]
        assert datetime_text(new_year_in_china, "short") == expected["datetime short"]
        assert datetime_text(new_year_in_china) == expected["datetime medium"]
        assert date_text(new_year_in_china) == expected["utc date"]
        assert datetime_text(None) == "" == date_text(None)
        for moment in (datetime(2024, 5, 3, 6, 5, 9), datetime(2026, 11, 23, 23, 59, 59)):
            for fmt in ("short", "medium"):
                assert str(moment.year) in datetime_text(moment, fmt) or str(moment.year + 1) in datetime_text(moment, fmt)
                assert str(moment.year) in date_text(moment.date(), fmt)


def test_row_links_are_the_paths_url_for_builds(app):
    from flask import url_for

    from app.templating import path_for

    with app.test_request_context():
        for customer_id in (1, 42, 10**12):
            assert path_for("customers.show", customer_id=customer_id) == url_for("customers.show", customer_id=customer_id)
        assert path_for("customers.merge", customer_id=3, other=9) == url_for("customers.merge", customer_id=3, other=9)
        assert path_for("customers.care_done", customer_id=3, kind="birthday", ref=2026, tab="birthday") == \
            url_for("customers.care_done", customer_id=3, kind="birthday", ref=2026, tab="birthday")
    with app.test_request_context(environ_base={"SCRIPT_NAME": "/portal"}):
        assert path_for("customers.show", customer_id=7) == url_for("customers.show", customer_id=7)


def test_customer_types_are_the_three_the_source_documents_name(app):
    """Issue 8 (seed 001: 个人购买者、中间商和制造商); the old 'company' became 'manufacturer'."""
    from app.i18n import force_locale
    from app.models.customer import BUSINESS_TYPES, CUSTOMER_TYPES

    assert set(CUSTOMER_TYPES) == {"individual", "intermediary", "manufacturer"}
    assert BUSINESS_TYPES == {"intermediary", "manufacturer"}
    with app.test_request_context(), force_locale("zh_Hans"):
        assert [str(label) for label in CUSTOMER_TYPES.values()] == ["个人购买者", "中间商（经销商、分销商）", "制造商"]


@pytest.mark.parametrize("typed, stored", [
    ("021-64881234", "021-64881234"), ("(021) 6488 1234", "021-64881234"), ("+86 21 6488 1234", "021-64881234"),
    ("0571-87654321", "0571-87654321"), ("010 8888 6666", "010-88886666"), ("", None),
])
def test_landlines_are_stored_with_their_area_code(typed, stored):
    """Issue 8: business customers often have only a landline; the mobile field refused it."""
    from app.services.customer_fields import normalise_landline

    assert normalise_landline(typed) == stored


@pytest.mark.parametrize("typed", ["13800138000", "12345", "021-123", "abc"])
def test_a_mobile_or_garbage_is_not_a_landline(typed):
    from app.services.customer_fields import FieldError, normalise_landline

    with pytest.raises(FieldError):
        normalise_landline(typed)
