"""SMS backends, chosen by settings.SMS_BACKEND like Django's EMAIL_BACKEND.

A backend has one method, send(message) -> provider id, and raises SmsError with the
provider's reason when the message was not accepted. China's SMS is template based:
sign name, template code and parameters. The sender sets `message.template` (the
SmsTemplate row of the message's code, or None) before it calls send().

The provider backends (Alibaba Cloud, Tencent Cloud) speak the providers' documented
HTTP APIs with the standard library (see the README for why not their SDKs). Besides
send() they can `poll_receipts(messages)` and `poll_replies()` for the polling job, and
`parse_receipts(body)` / `parse_replies(body)` read what the provider pushes to our
callback endpoints. A receipt is (provider id, delivered?, reason, time); a reply is
(mobile, text, time, extend code).
"""

import base64
import hashlib
import hmac
import json
import logging
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")


class SmsError(Exception):
    """The provider did not accept the message; str(error) is its reason.

    temporary: worth trying again later (provider down, throttled); a permanent error
    (a bad number, a template the provider refuses) is never retried.
    retry_after: how long the provider asked us to wait (throttling), or None.
    """

    def __init__(self, reason, *, temporary=False, retry_after=None):
        super().__init__(reason)
        self.temporary = temporary
        self.retry_after = retry_after


class SmsOutcomeUnknown(SmsError):  # noqa: N818 - an outcome, not only an error
    """The request reached the provider but no answer came back: the message may have
    gone out. Never retried, so that nobody gets it twice."""


class ConsoleBackend:
    """Writes each message to the log instead of sending it (the default)."""

    name = "console"

    def send(self, message):
        # The log is not a place for personal data: mobile masked, parameters left out.
        recipient = f"{message.recipient[:3]}****{message.recipient[-4:]}"
        logger.info("SMS %s to %s [%s] %s", message.pk, recipient, message.sign_name,
                    message.template_code)
        return f"console-{message.pk}"


class LocmemBackend:
    """Keeps sent messages in memory for tests. Recipients in `fail_for` are refused
    with `fail_reason`, a temporary error unless `fail_temporary` is False."""

    name = "locmem"
    outbox: list = []
    fail_for: set = set()
    fail_reason = "recipient refused by provider"
    fail_temporary = True

    def send(self, message):
        if message.recipient in self.fail_for:
            raise SmsError(self.fail_reason, temporary=self.fail_temporary)
        type(self).outbox.append(message)
        return f"locmem-{message.pk}"


def get_backend():
    return import_string(settings.SMS_BACKEND)()


def _template(message):
    return getattr(message, "template", None)


def _post(url, data, headers, timeout):
    """POST and return (status, parsed JSON). A refused connection (nothing sent) and a
    5xx answer are temporary errors; a timeout after the request went out is an unknown
    outcome."""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured URL
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, ConnectionRefusedError | socket.gaierror):  # nothing went out
            raise SmsError(_("无法连接服务商：%(reason)s") % {"reason": reason},
                           temporary=True) from error
        raise SmsOutcomeUnknown(_("服务商无应答（%(reason)s），结果未知，不再重发") % {
            "reason": reason}) from error
    if status >= 500:
        raise SmsError(_("服务商暂时不可用（HTTP %(status)s）") % {"status": status},
                       temporary=True)
    try:
        return status, json.loads(body or b"null")
    except ValueError as error:
        raise SmsError(_("服务商应答无法解析（HTTP %(status)s）") % {"status": status},
                       temporary=True) from error


# Alibaba Cloud (dysmsapi, RPC style) ------------------------------------------------------

def aliyun_percent_encode(value):
    """The RPC signature's percent encoding: RFC 3986, space as %20, ~ kept."""
    return urllib.parse.quote(str(value), safe="~")


def aliyun_signature(params, secret, method="POST"):
    """HMAC-SHA1 over METHOD&%2F&encoded(sorted, encoded query), key secret + '&'."""
    canonical = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}"
                         for k, v in sorted(params.items()))
    to_sign = f"{method}&%2F&{aliyun_percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Codes of SendSms that are worth another try later; every other code is permanent.
ALIYUN_TEMPORARY = {"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "SignatureNonceUsed",
                    "Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable",
                    "InternalError", "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"}
ALIYUN_THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling",
                    "Throttling.User", "Throttling.Api"}


class AliyunBackend:
    """Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms, QuerySendDetails; receipts
    (SmsReport) and replies (SmsUp) by HTTP batch push."""

    name = "aliyun"
    version = "2017-05-25"

    def __init__(self):
        self.endpoint = settings.ALIYUN_SMS_ENDPOINT
        self.key_id = settings.ALIYUN_SMS_ACCESS_KEY_ID
        self.secret = settings.ALIYUN_SMS_ACCESS_KEY_SECRET
        self.region = settings.ALIYUN_SMS_REGION
        self.timeout = settings.SMS_TIMEOUT

    def call(self, action, **params):
        params = {
            "Action": action, "Version": self.version, "RegionId": self.region,
            "Format": "JSON", "AccessKeyId": self.key_id, "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **{k: v for k, v in params.items() if v not in (None, "")},
        }
        params["Signature"] = aliyun_signature(params, self.secret)
        _status, answer = _post(self.endpoint, urllib.parse.urlencode(params).encode(),
                                {"Content-Type": "application/x-www-form-urlencoded"},
                                self.timeout)
        answer = answer or {}
        code = answer.get("Code", "")
        if code != "OK":
            reason = f"{code}: {answer.get('Message', '')}"
            raise SmsError(reason, temporary=code in ALIYUN_TEMPORARY,
                           retry_after=timedelta(hours=1) if code in ALIYUN_THROTTLED else None)
        return answer

    def send(self, message):
        template = _template(message)
        answer = self.call(
            "SendSms", PhoneNumbers=message.recipient,
            SignName=(template and template.sign_name) or message.sign_name,
            TemplateCode=(template and template.aliyun_template_code) or message.template_code,
            TemplateParam=json.dumps(message.params, ensure_ascii=False) if message.params else "",
            SmsUpExtendCode=message.store.sms_extend_code, OutId=str(message.pk),
        )
        return answer["BizId"]

    def poll_receipts(self, messages):
        """QuerySendDetails, one call per message still waiting for its receipt."""
        receipts = []
        for message in messages:
            sent = timezone.localtime(message.sent_at, CHINA)
            try:
                answer = self.call("QuerySendDetails", PhoneNumber=message.recipient,
                                   SendDate=sent.strftime("%Y%m%d"), BizId=message.provider_id,
                                   PageSize="10", CurrentPage="1")
            except SmsError as error:
                logger.warning("receipt of message %s not polled: %s", message.pk, error)
                continue
            for row in (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO", []):
                status = int(row.get("SendStatus", 1))
                if status == 1:  # still waiting for the carrier
                    continue
                receipts.append((message.provider_id, status == 3, row.get("ErrCode", ""),
                                 _parse_china_time(row.get("ReceiveDate"))))
        return receipts

    def poll_replies(self):
        return []  # Alibaba Cloud passes replies on by push (or its message queue) only

    @staticmethod
    def parse_receipts(rows):
        return [(str(row["biz_id"]), bool(row.get("success")),
                 "" if row.get("success") else f"{row.get('err_code', '')} {row.get('err_msg', '')}".strip(),
                 _parse_china_time(row.get("report_time"))) for row in rows]

    @staticmethod
    def parse_replies(rows):
        return [(row["phone_number"], row.get("content", ""),
                 _parse_china_time(row.get("send_time")), str(row.get("dest_code") or ""))
                for row in rows]

    acknowledgement = {"code": 0, "msg": "接收成功"}


def _parse_china_time(value):
    if not value:
        return timezone.now()
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        return timezone.now()


# Tencent Cloud (SMS API 2021-01-11, TC3-HMAC-SHA256) -------------------------------------

def tc3_authorization(*, secret_id, secret_key, host, payload, timestamp, service="sms",
                      content_type="application/json; charset=utf-8"):
    """The Authorization header of a signed POST of `payload` (bytes)."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join([
        "POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(payload).hexdigest(),
    ])
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])

    def sign(key, text):
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    key = sign(sign(sign(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}")


def _tencent_temporary(code):
    """Server faults and limits pass; a bad number, template or signature does not."""
    return code.startswith(("InternalError", "LimitExceeded", "RequestLimitExceeded",
                            "ResourceUnavailable"))


class TencentBackend:
    """Tencent Cloud SMS (API 2021-01-11): SendSms, PullSmsSendStatus,
    PullSmsReplyStatus; receipts and replies also by callback."""

    name = "tencent"
    version = "2021-01-11"

    def __init__(self):
        self.endpoint = settings.TENCENT_SMS_ENDPOINT
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self.secret_id = settings.TENCENT_SMS_SECRET_ID
        self.secret_key = settings.TENCENT_SMS_SECRET_KEY
        self.region = settings.TENCENT_SMS_REGION
        self.app_id = settings.TENCENT_SMS_APP_ID
        self.timeout = settings.SMS_TIMEOUT

    def call(self, action, body):
        payload = json.dumps(body, ensure_ascii=False).encode()
        timestamp = int(datetime.now(UTC).timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8", "Host": self.host,
            "X-TC-Action": action, "X-TC-Version": self.version, "X-TC-Region": self.region,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": tc3_authorization(secret_id=self.secret_id,
                                               secret_key=self.secret_key, host=self.host,
                                               payload=payload, timestamp=timestamp),
        }
        _status, answer = _post(self.endpoint, payload, headers, self.timeout)
        response = (answer or {}).get("Response", {})
        error = response.get("Error")
        if error:
            code = error.get("Code", "")
            raise SmsError(f"{code}: {error.get('Message', '')}",
                           temporary=_tencent_temporary(code),
                           retry_after=timedelta(minutes=1) if code.startswith(
                               ("LimitExceeded", "RequestLimitExceeded")) else None)
        return response

    def send(self, message):
        template = _template(message)
        names = (template.param_names if template else None) or list(message.params)
        response = self.call("SendSms", {
            "PhoneNumberSet": [f"+86{message.recipient}"],
            "SmsSdkAppId": message.store.sms_app_id or self.app_id,
            "SignName": (template and template.sign_name) or message.sign_name,
            "TemplateId": (template and template.tencent_template_id) or message.template_code,
            "TemplateParamSet": [str(message.params.get(name, "")) for name in names],
            "ExtendCode": message.store.sms_extend_code,
            "SessionContext": str(message.pk),
        })
        status = (response.get("SendStatusSet") or [{}])[0]
        code = status.get("Code", "")
        if code != "Ok":
            throttled = code.startswith("LimitExceeded")
            raise SmsError(f"{code}: {status.get('Message', '')}",
                           temporary=_tencent_temporary(code),
                           retry_after=_tencent_wait(code) if throttled else None)
        return status["SerialNo"]

    def poll_receipts(self, messages):
        response = self.call("PullSmsSendStatus", {"Limit": 100, "SmsSdkAppId": self.app_id})
        return [(row["SerialNo"], row.get("ReportStatus") == "SUCCESS",
                 "" if row.get("ReportStatus") == "SUCCESS"
                 else f"{row.get('Description', '')}".strip(),
                 _parse_china_time(row.get("UserReceiveTime")))
                for row in response.get("PullSmsSendStatusSet") or []]

    def poll_replies(self):
        response = self.call("PullSmsReplyStatus", {"Limit": 100, "SmsSdkAppId": self.app_id})
        return [(row.get("SubscriberNumber") or row["PhoneNumber"].removeprefix("+86"),
                 row.get("ReplyContent", ""), _parse_china_time(row.get("ReplyTime")),
                 row.get("ExtendCode", ""))
                for row in response.get("PullSmsReplyStatusSet") or []]

    @staticmethod
    def parse_receipts(rows):
        return [(str(row["sid"]), row.get("report_status") == "SUCCESS",
                 "" if row.get("report_status") == "SUCCESS"
                 else f"{row.get('errmsg', '')} {row.get('description', '')}".strip(),
                 _parse_china_time(row.get("user_receive_time"))) for row in rows]

    @staticmethod
    def parse_replies(rows):
        return [(row["mobile"], row.get("text", ""),
                 datetime.fromtimestamp(int(row["time"]), UTC) if row.get("time")
                 else timezone.now(), str(row.get("extend") or "")) for row in rows]

    acknowledgement = {"result": 0, "errmsg": "OK"}


def _tencent_wait(code):
    if "ThirtySecond" in code:
        return timedelta(seconds=30)
    if "OneHour" in code:
        return timedelta(hours=1)
    if "Daily" in code:
        return timedelta(days=1)
    return timedelta(minutes=1)


PROVIDERS = {"aliyun": AliyunBackend, "tencent": TencentBackend}
