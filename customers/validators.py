"""Checks and canonical forms of Chinese identifiers: mainland mobile and landline
numbers, resident ID numbers, unified social credit codes, VINs and plates. Pure
functions: each returns the canonical value or raises django ValidationError with a
translated message."""

import re
from datetime import date
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Mobile -----------------------------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_MOBILE_NOISE = re.compile(r"[\s\-()（）.]")


def normalize_mobile(value):
    """'+86 138-0013-8000' -> '13800138000'. Empty stays empty."""
    raw = _MOBILE_NOISE.sub("", str(value or "")).translate(_FULLWIDTH_DIGITS)
    if not raw:
        return ""
    if raw.startswith("+86"):
        raw = raw[3:]
    elif raw.startswith("0086"):
        raw = raw[4:]
    elif raw.startswith("86") and len(raw) == 13:
        raw = raw[2:]
    if not _MOBILE.match(raw):
        raise ValidationError(_("手机号码格式不正确：应为11位中国大陆手机号，以1开头。"),
                              code="mobile")
    return raw


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def mobile_fragment(value):
    """Digits of a search fragment ('138 0013' -> '1380013'); '' when there are none."""
    return re.sub(r"\D", "", str(value or "").translate(_FULLWIDTH_DIGITS))


# Landline --------------------------------------------------------------------------------------

# Area code (010, 02x, or 0 and three digits), a number of 7 or 8 digits not starting with
# 0 or 1, an optional extension; or a nationwide 400/800 service number.
_LANDLINE = re.compile(r"^(0(?:10|2\d|[3-9]\d{2}))-?([2-9]\d{6,7})(?:(?:转|ext|x|#|-)(\d{1,6}))?$")
_SERVICE_NUMBER = re.compile(r"^([48]00)-?(\d{3})-?(\d{4})$")
_LANDLINE_NOISE = re.compile(r"[\s()（）.]")


def normalize_landline(value):
    """'(021) 6234 5678 转 801' -> '021-62345678-801'. Empty stays empty."""
    raw = _LANDLINE_NOISE.sub("", str(value or "")).translate(_FULLWIDTH_DIGITS).lower()
    if not raw:
        return ""
    for prefix in ("+86-", "+86", "0086-", "0086"):
        if raw.startswith(prefix):
            raw = "0" + raw[len(prefix):].lstrip("0")
            break
    service = _SERVICE_NUMBER.match(raw)
    if service:
        return "{}-{}{}".format(*service.groups())
    match = _LANDLINE.match(raw)
    if not match:
        raise ValidationError(_("固定电话格式不正确：应为区号加7至8位号码，例如 021-62345678，"
                                "分机可写在后面，例如 021-62345678-801。"), code="landline")
    return "-".join(part for part in match.groups() if part)


# Resident ID number (GB 11643) ----------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID = re.compile(r"^\d{17}[\dX]$")


def id_check_digit(first17):
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_birth_date(number):
    """The birth date encoded in a (valid-format) ID number, or None."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def id_gender(number):
    """'male' or 'female' from the 17th digit (odd: male)."""
    return "male" if int(number[16]) % 2 else "female"


@cache
def _region_codes():
    """Every division code an ID number may begin with, and their province and prefecture
    prefixes (customers/region_codes.txt says where the codes come from)."""
    text = (Path(__file__).with_name("region_codes.txt")).read_text(encoding="utf-8")
    codes = frozenset(line.strip() for line in text.splitlines()
                      if line.strip() and not line.startswith("#"))
    return codes, frozenset(code[:2] for code in codes), frozenset(code[:4] for code in codes)


def id_region_exists(code):
    """True when the 6-digit code is a division code of some revision of GB/T 2260, old
    (renamed, abolished) or new; province (2 digits) and prefecture (4) must exist too."""
    codes, provinces, prefectures = _region_codes()
    return code[:2] in provinces and code[:4] in prefectures and code in codes


def normalize_id_number(value, *, birth_date=None, gender=None, today=None):
    """Check an 18-digit resident ID number: format, birth date, check digit and, when
    given, agreement with the record's birth date and gender. Returns it upper-cased."""
    number = re.sub(r"\s", "", str(value or "")).upper()
    if not number:
        return ""
    if not _ID.match(number):
        raise ValidationError(_("身份证号应为18位：前17位数字，最后一位数字或X。"), code="id_format")
    born = id_birth_date(number)
    if born is None or born.year < 1900 or (today and born > today):
        raise ValidationError(_("身份证号中的出生日期无效。"), code="id_birth")
    if id_check_digit(number[:17]) != number[17]:
        raise ValidationError(_("身份证号校验位不正确，请核对。"), code="id_check")
    if not id_region_exists(number[:6]):
        raise ValidationError(_("身份证号前6位的地区代码（%(code)s）不存在，请核对。")
                              % {"code": number[:6]}, code="id_region")
    if birth_date and birth_date != born:
        raise ValidationError(_("身份证号中的出生日期（%(born)s）与填写的出生日期不一致。")
                              % {"born": born.isoformat()}, code="id_birth_mismatch")
    if gender and gender != id_gender(number):
        raise ValidationError(_("身份证号中的性别与填写的性别不一致。"), code="id_gender_mismatch")
    return number


# Unified social credit code (GB 32100) ----------------------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$")


def credit_code_check_char(first17):
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def normalize_credit_code(value):
    code = re.sub(r"\s", "", str(value or "")).upper()
    if not code:
        return ""
    if not _USCC.match(code):
        raise ValidationError(_("统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）。"),
                              code="uscc_format")
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(_("统一社会信用代码校验位不正确，请核对。"), code="uscc_check")
    return code


# VIN (ISO 3779, check digit per GB 16735 / FMVSS 115) ---------------------------------------------

_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin):
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(value):
    """Check a VIN. Returns (vin, warning): 17 characters without I, O or Q; the check
    digit (9th character) is enforced for China-built VINs (starting with L) and only
    warned about for others. warning is '' when there is nothing to say."""
    vin = re.sub(r"\s", "", str(value or "")).upper()
    if len(vin) != 17:
        raise ValidationError(_("车架号应为17位，当前为%(count)d位。") % {"count": len(vin)},
                              code="vin_length")
    if re.search(r"[IOQ]", vin):
        raise ValidationError(_("车架号不能包含字母I、O、Q。"), code="vin_ioq")
    if not _VIN.match(vin):
        raise ValidationError(_("车架号只能包含数字和大写字母。"), code="vin_chars")
    if len(set(vin)) == 1:
        # "11111111111111111" even passes the check digit: it is a placeholder, not a car.
        raise ValidationError(_("车架号不能全部是同一个字符。"), code="vin_repeated")
    if vin_check_digit(vin) != vin[8]:
        if vin.startswith("L"):
            raise ValidationError(_("车架号校验位（第9位）不正确，请核对。"), code="vin_check")
        return vin, _("车架号校验位（第9位）与计算结果不符，非国产车请再核对一次。")
    return vin, ""


# Plates -------------------------------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # letters used on plates: no I, no O
_ORDINARY = re.compile(rf"^[{PROVINCES}][{_L}][{_L}0-9]{{4}}[{_L}0-9挂学警港澳领]$")
# Embassy cars (GA 36): 使, the 3-digit country code and a 3-digit serial (older plates
# put 使 last). Consulate cars are ordinary plates ending in 领 (above).
_EMBASSY = re.compile(r"^(?:使\d{6}|\d{6}使)$")
# New energy: small cars D/F then a letter or digit and 4 digits; large cars 5 digits then D/F.
_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_L}](?:[DF][{_L}0-9]\d{{4}}|\d{{5}}[DF])$")


def normalize_plate(value):
    """'沪a·12345' -> '沪A12345'. Ordinary, consulate (沪A1234领) and embassy (使224001)
    plates have 7 characters, new-energy 8."""
    plate = re.sub(r"[\s·•.\-]", "", str(value or "")).upper()
    if not plate:
        return ""
    if len(plate) == 7 and (_ORDINARY.match(plate) or _EMBASSY.match(plate)):
        return plate
    if len(plate) == 8 and _NEW_ENERGY.match(plate):
        return plate
    if len(plate) not in (7, 8):
        raise ValidationError(_("车牌号应为7位（普通）或8位（新能源），当前为%(count)d位。")
                              % {"count": len(plate)}, code="plate_length")
    if plate[0] not in PROVINCES + "使":
        raise ValidationError(_("车牌号应以省份简称开头，例如“沪”。"), code="plate_province")
    raise ValidationError(_("车牌号格式不正确。"), code="plate_format")
