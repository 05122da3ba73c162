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


# Plates of foreign missions ---------------------------------------------------------------

@pytest.mark.parametrize(("raw", "canonical"), [
    ("沪A·1234领", "沪A1234领"),  # a consulate's car in Shanghai
    ("粤A 0023 领", "粤A0023领"),
    ("使 224·001", "使224001"),  # an embassy's car
    ("224001使", "224001使"),  # the older layout
])
def test_consulate_and_embassy_plates_are_accepted(raw, canonical):
    assert normalize_plate(raw) == canonical


@pytest.mark.parametrize("raw", ["使22400", "使A24001", "领A12345", "沪A123领4"])
def test_malformed_mission_plates_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_plate(raw)


# VINs -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("character", "0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
def test_a_vin_of_one_repeated_character_is_refused(character):
    """'11111111111111111' even passes the check digit; no car carries it."""
    with pytest.raises(ValidationError) as error:
        normalize_vin(character * 17)
    assert "车架号" in error.value.messages[0]


def test_a_chinese_vin_with_a_wrong_check_digit_is_refused_and_a_right_one_accepted():
    from customers.validators import vin_check_digit

    vin = make_vin(7)
    assert vin[0] == "L" and vin[8] == vin_check_digit(vin)
    assert normalize_vin(vin) == (vin, "")
    wrong = vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
    with pytest.raises(ValidationError) as error:
        normalize_vin(wrong)
    assert "第9位" in error.value.messages[0]


# Landlines --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "canonical"), [
    ("021-62345678", "021-62345678"),
    ("(021) 6234 5678", "021-62345678"),
    ("02162345678", "021-62345678"),
    ("010-62345678", "010-62345678"),
    ("0755-2345678", "0755-2345678"),
    ("+86 21 6234 5678", "021-62345678"),
    ("021-62345678 转 801", "021-62345678-801"),
    ("021-62345678-801", "021-62345678-801"),
    ("0571-88888888 ext 12", "0571-88888888-12"),
    ("400-820-8820", "400-8208820"),
    ("", ""),
])
def test_landlines_with_area_code_normalise(raw, canonical):
    from customers.validators import normalize_landline

    assert normalize_landline(raw) == canonical


@pytest.mark.parametrize("raw", [
    "请打我手机", "<script>alert(1)</script>", "62345678",  # no area code
    "021-12345678",  # a local number never starts with 1
    "021-6234", "13800138000", "021-62345678 转 1234567", "021-62345678; DROP TABLE",
])
def test_landlines_of_arbitrary_text_are_refused(raw):
    from customers.validators import normalize_landline

    with pytest.raises(ValidationError) as error:
        normalize_landline(raw)
    assert "固定电话" in error.value.messages[0]


def test_a_customer_with_a_made_up_landline_is_refused_naming_the_field(db, store):
    from customers.models import Customer
    from customers.services import customer_create

    with pytest.raises(ValidationError) as error:
        customer_create(store=store, name="王伟", landline="随便写点什么")
    assert "固定电话" in error.value.message_dict["landline"][0]
    assert not Customer.objects.exists()
    customer = customer_create(store=store, name="王伟", landline="(021) 6234 5678")
    assert customer.landline == "021-62345678"


# Region code of resident ID numbers -----------------------------------------------------------

def _id(region, born=date(1985, 6, 15)):
    from customers.validators import id_check_digit

    first17 = f"{region}{born:%Y%m%d}123"
    return first17 + id_check_digit(first17)


@pytest.mark.parametrize("region", [
    "000000",  # no province
    "990101",  # province 99 does not exist
    "119901",  # Beijing has no prefecture 1199
    "310199",  # Shanghai's districts stop well before 99
    "123456",
])
def test_id_number_with_a_region_that_does_not_exist_is_refused(region):
    """A well-formed number with a valid check digit but an invented region."""
    with pytest.raises(ValidationError) as error:
        normalize_id_number(_id(region))
    assert region in error.value.messages[0] and "地区代码" in error.value.messages[0]


@pytest.mark.parametrize(("region", "born"), [
    ("310101", date(1985, 6, 15)),  # Shanghai, Huangpu: current
    ("310103", date(1970, 3, 1)),  # Shanghai, Luwan: merged into Huangpu in 2011
    ("310108", date(1988, 5, 5)),  # Shanghai, Zhabei: merged into Jing'an in 2015
    ("371200", date(1975, 1, 1)),  # Laiwu city: merged into Jinan in 2019
    ("500101", date(1960, 1, 1)),  # Chongqing, Wanzhou: a code newer than the birth year
    ("440305", date(1950, 1, 1)),  # Shenzhen, Nanshan: created long after this birth
    ("513402", date(1990, 1, 1)),  # Huili city: a county turned city in 2021
    ("810000", date(1990, 1, 1)),  # residence permit of a Hong Kong resident
])
def test_id_number_with_an_old_or_a_newer_region_stays_valid(region, born):
    number = _id(region, born)
    assert normalize_id_number(number) == number


def test_the_region_and_landline_messages_read_in_english_when_chosen():
    from django.utils import translation

    from customers.validators import normalize_landline

    with translation.override("en"), pytest.raises(ValidationError) as error:
        normalize_id_number(_id("990101"))
    assert "region code" in error.value.messages[0] and "990101" in error.value.messages[0]
    with translation.override("en"), pytest.raises(ValidationError) as error:
        normalize_landline("随便")
    assert "area code" in error.value.messages[0]
