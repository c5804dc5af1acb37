"""Phone-number normalization: accepted spellings, classification, rejection reasons."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcore.outbound.numbers import NumberError, PhoneNumber, normalize

E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@pytest.mark.parametrize(
    ("raw", "e164", "kind", "area"),
    [
        # Chinese mobiles, every usual prefix and separator
        ("13800138000", "+8613800138000", "mobile", None),
        ("138-0013-8000", "+8613800138000", "mobile", None),
        ("138 0013 8000", "+8613800138000", "mobile", None),
        ("+86 138 0013 8000", "+8613800138000", "mobile", None),
        ("0086 13800138000", "+8613800138000", "mobile", None),
        ("8613800138000", "+8613800138000", "mobile", None),
        ("+86-199.0000.1111", "+8619900001111", "mobile", None),
        ("  15012345678\t", "+8615012345678", "mobile", None),
        ("１３８００１３８０００", "+8613800138000", "mobile", None),  # full-width digits
        # landlines: 2-digit area codes (8-digit subscriber)
        ("010-12345678", "+861012345678", "landline", "10"),
        ("(010) 8765 4321", "+861087654321", "landline", "10"),
        ("021-62345678", "+862162345678", "landline", "21"),
        ("029 8888 1234", "+862988881234", "landline", "29"),
        ("+86 10 8765 4321", "+861087654321", "landline", "10"),
        ("+86 (0)10 8765 4321", "+861087654321", "landline", "10"),
        ("861087654321", "+861087654321", "landline", "10"),
        # landlines: 3-digit area codes, 7- and 8-digit subscribers
        ("(0571) 8888 1234", "+8657188881234", "landline", "571"),
        ("0311-8765432", "+863118765432", "landline", "311"),
        ("0755.2345.6789", "+8675523456789", "landline", "755"),
        ("（０５７１）８８８８１２３４", "+8657188881234", "landline", "571"),
        # service numbers
        ("400-810-8888", "+864008108888", "service", None),
        ("800 820 8820", "+868008208820", "service", None),
        ("+86 400 810 8888", "+864008108888", "service", None),
    ],
)
def test_chinese_numbers(raw: str, e164: str, kind: str, area: str | None) -> None:
    p = normalize(raw)
    assert (p.e164, p.country, p.kind, p.area_code) == (e164, "CN", kind, area)
    assert p.national == e164[3:]
    assert str(p) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("10123456789", "bad Chinese mobile prefix 10"),
        ("12345678901", "bad Chinese mobile prefix 12"),
        ("+86 11123456789", "bad Chinese mobile prefix 11"),
        ("1380013800", "too short"),  # a mobile missing a digit
        ("138001380001", "too long"),
        ("88881234", "landlines need the area code"),
        ("021-6234567", "too short"),
        ("0571-888812345", "too long"),
        ("0571-08881234", "starts with 0"),
        ("138OO138OOO", "letters in number"),  # letter O for zero
        ("1.38001E+10", "letters in number"),  # what a spreadsheet made of it
        ("13800138000 ext 12", "letters in number"),
        ("138#0013", "unexpected character '#'"),
        ("86+13800138000", "misplaced +"),
        ("", "empty"),
        ("   ", "empty"),
        ("--", "no digits"),
        ("+", "no digits"),
        ("00", "nothing after the international prefix"),
        ("000 86 138", "no country code"),
        ("+999 123", "too short"),
        ("+86 1234567890123456", "too long"),
        ("12345", "too short"),
    ],
)
def test_rejections_say_why(raw: str, reason: str) -> None:
    with pytest.raises(NumberError) as err:
        normalize(raw)
    assert reason in str(err.value)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("raw", "country", "e164", "region", "kind", "area"),
    [
        ("(212) 555-1234", "US", "+12125551234", "US", "unknown", "212"),
        ("1-212-555-1234", "US", "+12125551234", "US", "unknown", "212"),
        ("212.555.1234", "US", "+12125551234", "US", "unknown", "212"),
        ("416 555 1234", "US", "+14165551234", "CA", "unknown", "416"),  # Toronto
        ("1 800 555 1234", "CA", "+18005551234", "US", "service", "800"),
        ("011 86 138 0013 8000", "US", "+8613800138000", "CN", "mobile", None),
        ("+1 604 555 1234", "CN", "+16045551234", "CA", "unknown", "604"),
        ("020 7946 0000", "GB", "+442079460000", "GB", "landline", "20"),
        ("0121 496 0000", "GB", "+441214960000", "GB", "landline", "121"),
        ("0113 496 0000", "GB", "+441134960000", "GB", "landline", "113"),
        ("01223 496000", "GB", "+441223496000", "GB", "landline", "1223"),
        ("07700 900123", "GB", "+447700900123", "GB", "mobile", None),
        ("0800 123 4567", "GB", "+448001234567", "GB", "service", None),
        ("+44 (0)20 7946 0000", "CN", "+442079460000", "GB", "landline", "20"),
        ("0044 7700 900123", "GB", "+447700900123", "GB", "mobile", None),
    ],
)
def test_nanp_and_uk(
    raw: str, country: str, e164: str, region: str, kind: str, area: str | None
) -> None:
    p = normalize(raw, default_country=country)
    assert (p.e164, p.country, p.kind, p.area_code) == (e164, region, kind, area)


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("212 555 123", "US", "too short"),
        ("112 555 1234", "US", "bad North American area code 112"),
        ("212 155 1234", "US", "bad North American exchange code 155"),
        ("20 7946 0000", "GB", "start with 0"),
        ("0507 946 0000", "GB", "bad UK number prefix 05"),
        ("07700 90012", "GB", "too short"),
    ],
)
def test_nanp_and_uk_rejections(raw: str, country: str, reason: str) -> None:
    with pytest.raises(NumberError, match=re.escape(reason)):
        normalize(raw, default_country=country)


def test_other_countries_pass_through_in_international_form() -> None:
    hk = normalize("+852 2123 4567")
    assert (hk.e164, hk.country, hk.kind, hk.national) == (
        "+85221234567",
        "HK",
        "unknown",
        "21234567",
    )
    de = normalize("0049 30 1234567", default_country="GB")
    assert (de.e164, de.country) == ("+49301234567", "DE")
    odd = normalize("+999 1234 5678")  # a code the table does not name
    assert (odd.e164, odd.country) == ("+99912345678", "ZZ")


def test_national_number_of_unsupported_country_is_refused() -> None:
    with pytest.raises(NumberError, match="no national numbering rules for FR"):
        normalize("01 23 45 67 89", default_country="FR")
    assert normalize("+33 1 23 45 67 89", default_country="fr").e164 == "+33123456789"


def test_bad_default_country_is_an_api_error_not_a_number_error() -> None:
    with pytest.raises(ValueError, match="ISO 3166") as err:
        normalize("13800138000", default_country="China")
    assert not isinstance(err.value, NumberError)


def test_phone_number_is_frozen_and_hashable() -> None:
    p = normalize("13800138000")
    with pytest.raises(AttributeError):
        p.e164 = "+1"  # type: ignore[misc]
    assert {p, normalize("+8613800138000")} == {p}


_typed = st.text(alphabet="0123456789+-(). ", max_size=22)
_countries = st.sampled_from(["CN", "US", "GB", "CA", "FR"])


@given(_typed, _countries, _countries)
def test_normalize_is_idempotent_on_its_own_output(raw: str, c1: str, c2: str) -> None:
    """Whatever is accepted comes out canonical: re-reading the E.164 form, under any
    default country, gives the same number; whatever is refused is a NumberError."""
    try:
        p = normalize(raw, default_country=c1)
    except NumberError:
        return
    assert E164.match(p.e164), p
    assert p.e164.endswith(p.national)
    assert normalize(p.e164, default_country=c2) == p


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_chinese_mobile_spelling_agrees(second: str, rest: str) -> None:
    n = "1" + second + rest
    spellings = [n, f"+86{n}", f"0086 {n}", f"86{n}", f"{n[:3]}-{n[3:7]}-{n[7:]}"]
    got = {normalize(s) for s in spellings}
    assert got == {PhoneNumber(f"+86{n}", "CN", "mobile", None, n)}
