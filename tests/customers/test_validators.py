"""Identifier checks at their edges."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from customers.validators import (
    normalize_credit_code,
    normalize_id_number,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
)
from tests.customers.factories import make_credit_code, make_id_number, make_vin


@pytest.mark.parametrize("raw", ["13800138000", "138 0013 8000", "138-0013-8000", "+86 13800138000",
                                 "008613800138000", "8613800138000", "（138）00138000",
                                 "１３８００１３８０００"])
def test_mobile_forms_normalise_to_one_canonical_value(raw):
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["1380013800", "138001380001", "12800138000", "23800138000",
                                 "abc", "+1 4155550100"])
def test_bad_mobiles_are_refused_with_a_message(raw):
    with pytest.raises(ValidationError) as error:
        normalize_mobile(raw)
    assert "手机" in error.value.messages[0]


def test_empty_mobile_stays_empty():
    assert normalize_mobile("  ") == ""


def test_id_number_valid_and_lowercase_x_accepted():
    number = make_id_number(date(1990, 1, 1), male=True)
    assert normalize_id_number(number) == number
    # find a number whose check character is X, then pass it lower-case
    for serial in range(200):
        candidate = make_id_number(date(1990, 1, 1), serial=serial)
        if candidate.endswith("X"):
            assert normalize_id_number(candidate.lower()) == candidate
            break
    else:
        pytest.fail("no X check digit found")


def test_id_number_check_digit_wrong():
    number = make_id_number()
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(ValidationError, match="校验位"):
        normalize_id_number(wrong)


@pytest.mark.parametrize("raw", ["31010119850615001", "3101011985061500123", "31010119850615A01X"])
def test_id_number_length_and_characters(raw):
    with pytest.raises(ValidationError, match="18位"):
        normalize_id_number(raw)


def test_id_number_impossible_birth_date():
    first17 = "31010119850230001"  # 30 February
    from customers.validators import id_check_digit
    with pytest.raises(ValidationError, match="出生日期"):
        normalize_id_number(first17 + id_check_digit(first17))


def test_id_number_future_birth_date_refused():
    number = make_id_number(date(2030, 1, 1))
    with pytest.raises(ValidationError, match="出生日期"):
        normalize_id_number(number, today=date(2026, 11, 22))


def test_id_number_must_agree_with_birth_date_and_gender():
    number = make_id_number(date(1985, 6, 15), male=True)
    assert normalize_id_number(number, birth_date=date(1985, 6, 15), gender="male")
    with pytest.raises(ValidationError, match="出生日期"):
        normalize_id_number(number, birth_date=date(1985, 6, 16))
    with pytest.raises(ValidationError, match="性别"):
        normalize_id_number(number, gender="female")
    female = make_id_number(date(1985, 6, 15), male=False)
    assert normalize_id_number(female, gender="female") == female


def test_credit_code():
    code = make_credit_code(7)
    assert normalize_credit_code(code.lower()) == code
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(ValidationError, match="校验位"):
        normalize_credit_code(wrong)
    with pytest.raises(ValidationError, match="18位"):
        normalize_credit_code(code[:17])
    with pytest.raises(ValidationError, match="18位"):
        normalize_credit_code("I" + code[1:])  # I is not in the code alphabet


def test_known_public_credit_code():
    # A published example code of the standard.
    assert normalize_credit_code("91350100M000100Y43") == "91350100M000100Y43"


def test_vin_chinese_check_digit_enforced():
    vin = make_vin(12)
    assert normalize_vin(vin.lower()) == (vin, "")
    wrong = vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
    with pytest.raises(ValidationError, match="校验位"):
        normalize_vin(wrong)


def test_vin_foreign_check_digit_only_warns():
    vin = "WVWZZZ1KZ6W000001"  # European VINs often carry no check digit
    value, warning = normalize_vin(vin)
    assert value == vin and "校验位" in warning
    assert normalize_vin("1M8GDM9AXKP042788") == ("1M8GDM9AXKP042788", "")  # valid US VIN


@pytest.mark.parametrize("raw,message", [("LVGBE40K0A000001", "17位"), ("LVGBE40K0A00000012", "17位"),
                                         ("LVGBE40K0AO000001", "I、O、Q"),
                                         ("LVGBE40K0AI000001", "I、O、Q"), ("LVGBE40K0AQ000001", "I、O、Q"),
                                         ("LVGBE40K0A-000001", "数字和大写字母")])
def test_vin_shape(raw, message):
    with pytest.raises(ValidationError, match=message):
        normalize_vin(raw)


@pytest.mark.parametrize("raw,expected", [("沪A12345", "沪A12345"), ("沪a·12345", "沪A12345"),
                                          ("京B 1234学", "京B1234学"), ("粤BD12345", "粤BD12345"),
                                          ("沪AF12345", "沪AF12345"), ("沪A12345D", "沪A12345D"),
                                          ("浙ADA1234", "浙ADA1234"), ("", "")])
def test_plates_accepted(raw, expected):
    assert normalize_plate(raw) == expected


@pytest.mark.parametrize("raw,message", [("沪A1234", "7位"), ("沪AD123456", "7位"), ("AA12345", "省份"),
                                         ("沪AI2345", "格式"), ("沪AX12345", "格式"), ("浙AD1A234", "格式"),
                                         ("沪A1O345", "格式")])
def test_plates_refused(raw, message):
    with pytest.raises(ValidationError, match=message):
        normalize_plate(raw)
