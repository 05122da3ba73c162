"""Local fakes of the SMS providers' HTTP APIs: real HTTP servers on 127.0.0.1 that check
each request's shape and signature as the providers document them, and answer as the
providers do. Written from the providers' documentation, apart from the code under test.

    with FakeAliyun() as fake:   # settings point the backend at fake.url
        fake.mode["13800000001"] = "throttle"

Modes per number: "ok" (default), "throttle", "bad_number", "down" (HTTP 503).
`fake.accepted` lists the messages the provider accepted (one per real send);
`fake.requests` every request that passed the signature check; `fake.refused` the
requests whose signature or shape was wrong (a test expects it empty).
"""

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote

from django.urls import reverse

ALIYUN_KEY_ID, ALIYUN_SECRET = "LTAI-test-key", "aliyun-test-secret"
MOBILE = "13800000001"
TOKEN = "callback-secret-7f3a"
TENCENT_ID, TENCENT_KEY, TENCENT_APP = "AKID-test", "tencent-test-key", "1400000001"


class _Fake:
    def __init__(self):
        self.mode = {}
        self.accepted, self.requests, self.refused = [], [], []
        self.reports, self.replies = [], []
        self.nonces = set()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake.lock:
                    status, answer = fake.handle(self.headers, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def refuse(self, why):
        self.refused.append(why)


class FakeAliyun(_Fake):
    """dysmsapi (RPC style, 2017-05-25): SendSms and QuerySendDetails."""

    @staticmethod
    def _encode(value):
        # RFC 3986: unreserved characters kept, everything else %XX (space %20).
        return quote(value, safe="-_.~")

    def _expected_signature(self, params):
        query = "&".join(f"{self._encode(k)}={self._encode(v)}"
                         for k, v in sorted(params.items()) if k != "Signature")
        string_to_sign = "POST&" + self._encode("/") + "&" + self._encode(query)
        mac = hmac.new((ALIYUN_SECRET + "&").encode(), string_to_sign.encode(), hashlib.sha1)
        return base64.b64encode(mac.digest()).decode()

    def handle(self, headers, body):
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        for name, value in {"Format": "JSON", "Version": "2017-05-25",
                            "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
                            "AccessKeyId": ALIYUN_KEY_ID}.items():
            if params.get(name) != value:
                self.refuse(f"{name}={params.get(name)!r}")
                return 400, {"Code": "MissingParameter", "Message": name}
        try:
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        except (KeyError, ValueError):
            self.refuse("Timestamp")
            return 400, {"Code": "InvalidTimeStamp.Format"}
        if abs((datetime.now(UTC).replace(tzinfo=None) - stamp).total_seconds()) > 900:
            self.refuse("Timestamp expired")
            return 400, {"Code": "InvalidTimeStamp.Expired"}
        if params.get("SignatureNonce") in self.nonces or not params.get("SignatureNonce"):
            self.refuse("nonce reused")
            return 400, {"Code": "SignatureNonceUsed"}
        self.nonces.add(params["SignatureNonce"])
        if not hmac.compare_digest(params.get("Signature", ""), self._expected_signature(params)):
            self.refuse("signature")
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
        self.requests.append(params)
        if params["Action"] == "SendSms":
            return self.send_sms(params)
        if params["Action"] == "QuerySendDetails":
            rows = [{"PhoneNum": r["phone"], "SendStatus": r["status"], "ErrCode": r["code"],
                     "ReceiveDate": "2026-11-23 10:00:05", "OutId": r["out_id"]}
                    for r in self.reports if r["biz_id"] == params.get("BizId")]
            return 200, {"Code": "OK", "Message": "OK", "TotalCount": len(rows),
                         "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows}}
        return 404, {"Code": "InvalidAction.NotFound"}

    def send_sms(self, params):
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                self.refuse(f"SendSms without {name}")
                return 400, {"Code": "MissingParameter", "Message": name}
        phone = params["PhoneNumbers"]
        mode = self.mode.get(phone, "ok")
        if mode == "down":
            return 503, {"Code": "ServiceUnavailable",
                         "Message": "The request has failed due to a temporary failure."}
        if mode == "throttle":
            return 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}
        if mode == "bad_number":
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        biz_id = f"9{len(self.accepted):05d}^0"
        self.accepted.append({"phone": phone, "sign": params["SignName"],
                              "template": params["TemplateCode"],
                              "params": json.loads(params.get("TemplateParam") or "{}"),
                              "extend": params.get("SmsUpExtendCode", ""),
                              "out_id": params.get("OutId", ""), "id": biz_id})
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "req"}

    def report(self, biz_id, delivered, code="DELIVERED"):
        sent = next(a for a in self.accepted if a["id"] == biz_id)
        self.reports.append({"biz_id": biz_id, "phone": sent["phone"], "out_id": sent["out_id"],
                             "status": 3 if delivered else 2, "code": code})


class FakeTencent(_Fake):
    """Tencent Cloud SMS API 2021-01-11 (TC3-HMAC-SHA256): SendSms, PullSmsSendStatus,
    PullSmsReplyStatus."""

    def _check_signature(self, headers, body):
        auth = headers.get("Authorization", "")
        if not auth.startswith("TC3-HMAC-SHA256 "):
            return "algorithm"
        parts = dict(part.strip().split("=", 1) for part in auth[len("TC3-HMAC-SHA256 "):].split(","))
        secret_id, day, service, terminator = parts["Credential"].split("/")
        if secret_id != TENCENT_ID or service != "sms" or terminator != "tc3_request":
            return "credential"
        timestamp = int(headers.get("X-TC-Timestamp", "0"))
        if abs(datetime.now(UTC).timestamp() - timestamp) > 300:
            return "timestamp"
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != day:
            return "credential date"
        signed = parts["SignedHeaders"].split(";")
        if "content-type" not in signed or "host" not in signed:
            return "signed headers"
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n"
                                    for name in signed)
        canonical_request = "\n".join(["POST", "/", "", canonical_headers, parts["SignedHeaders"],
                                       hashlib.sha256(body).hexdigest()])
        string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp),
                                    f"{day}/sms/tc3_request",
                                    hashlib.sha256(canonical_request.encode()).hexdigest()])
        key = ("TC3" + TENCENT_KEY).encode()
        for part in (day, "sms", "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, parts["Signature"]) else "signature"

    def handle(self, headers, body):
        def error(code, message=""):
            return 200, {"Response": {"Error": {"Code": code, "Message": message},
                                      "RequestId": "req"}}

        if headers.get("X-TC-Version") != "2021-01-11" or not headers.get("X-TC-Region"):
            self.refuse("version/region")
            return error("MissingParameter", "X-TC-Version")
        if not headers.get("Content-Type", "").startswith("application/json"):
            self.refuse("content type")
            return error("InvalidParameter", "Content-Type")
        wrong = self._check_signature(headers, body)
        if wrong:
            self.refuse(wrong)
            return error("AuthFailure.SignatureFailure", wrong)
        request = json.loads(body)
        action = headers.get("X-TC-Action")
        self.requests.append((action, request))
        if action == "SendSms":
            return self.send_sms(request, error)
        if action == "PullSmsSendStatus":
            rows, self.reports = self.reports[:request["Limit"]], self.reports[request["Limit"]:]
            return 200, {"Response": {"PullSmsSendStatusSet": rows, "RequestId": "req"}}
        if action == "PullSmsReplyStatus":
            rows, self.replies = self.replies[:request["Limit"]], self.replies[request["Limit"]:]
            return 200, {"Response": {"PullSmsReplyStatusSet": rows, "RequestId": "req"}}
        return error("InvalidAction")

    def send_sms(self, request, error):
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not request.get(name):
                self.refuse(f"SendSms without {name}")
                return error("MissingParameter", name)
        if not all(isinstance(p, str) for p in request.get("TemplateParamSet", [])):
            self.refuse("TemplateParamSet not strings")
            return error("InvalidParameterValue.TemplateParameterFormatError")
        phone = request["PhoneNumberSet"][0]
        if not phone.startswith("+86"):
            self.refuse("number without +86")
        mode = self.mode.get(phone.removeprefix("+86"), "ok")
        if mode == "down":
            return 503, {"Response": {"Error": {"Code": "InternalError"}}}
        code, message = {
            "throttle": ("LimitExceeded.PhoneNumberThirtySecondLimit",
                         "单个手机号30秒内下发短信条数超过设定的上限"),
            "bad_number": ("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"),
        }.get(mode, ("Ok", "send success"))
        serial = f"2645:{len(self.accepted):06d}" if code == "Ok" else ""
        if code == "Ok":
            self.accepted.append({"phone": phone, "sign": request.get("SignName"),
                                  "template": request["TemplateId"],
                                  "params": request.get("TemplateParamSet", []),
                                  "app": request["SmsSdkAppId"],
                                  "extend": request.get("ExtendCode", ""), "id": serial})
        return 200, {"Response": {"SendStatusSet": [{
            "SerialNo": serial, "PhoneNumber": phone, "Fee": 1 if code == "Ok" else 0,
            "SessionContext": request.get("SessionContext", ""), "Code": code,
            "Message": message, "IsoCode": "CN"}], "RequestId": "req"}}

    def report(self, serial, delivered, description="DELIVRD"):
        sent = next(a for a in self.accepted if a["id"] == serial)
        self.reports.append({"UserReceiveTime": "2026-11-23 10:00:05", "CountryCode": "86",
                             "SubscriberNumber": sent["phone"].removeprefix("+86"),
                             "PhoneNumber": sent["phone"], "SerialNo": serial,
                             "ReportStatus": "SUCCESS" if delivered else "FAIL",
                             "Description": description})

    def reply(self, mobile, text, extend=""):
        self.replies.append({"ExtendCode": extend, "CountryCode": "86", "SubscriberNumber": mobile,
                             "PhoneNumber": f"+86{mobile}", "SignName": "A店",
                             "ReplyContent": text, "ReplyTime": "2026-11-23 10:30:00",
                             "ReplyUnixTime": 1795401000})


def use_aliyun(settings, server):
    settings.SMS_BACKEND = "crm_site.sms.AliyunBackend"
    settings.ALIYUN_SMS_ENDPOINT = server.url
    settings.ALIYUN_SMS_ACCESS_KEY_ID, settings.ALIYUN_SMS_ACCESS_KEY_SECRET = (
        ALIYUN_KEY_ID, ALIYUN_SECRET)
    server.provider = "aliyun"


def use_tencent(settings, server):
    settings.SMS_BACKEND = "crm_site.sms.TencentBackend"
    settings.TENCENT_SMS_ENDPOINT = server.url
    settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY = TENCENT_ID, TENCENT_KEY
    settings.TENCENT_SMS_APP_ID = TENCENT_APP
    server.provider = "tencent"


def serve(provider, settings):
    """A fake of `provider` the site's settings point at; the caller starts it (with)."""
    settings.SMS_CALLBACK_TOKEN = TOKEN
    settings.SMS_MAX_PER_SECOND = 0
    server = FakeAliyun() if provider == "aliyun" else FakeTencent()
    (use_aliyun if provider == "aliyun" else use_tencent)(settings, server)
    return server


def push_receipt(client, fake, message, delivered, token=TOKEN):
    if fake.provider == "aliyun":
        rows = [{"phone_number": message.recipient, "send_time": "2026-11-23 10:00:00",
                 "report_time": "2026-11-23 10:00:07", "success": delivered,
                 "err_code": "DELIVERED" if delivered else "MK:0012",
                 "err_msg": "用户接收成功" if delivered else "用户停机", "sms_size": "1",
                 "biz_id": message.provider_id, "out_id": str(message.pk)}]
    else:
        rows = [{"user_receive_time": "2026-11-23 10:00:07", "nationcode": "86",
                 "mobile": message.recipient, "report_status": "SUCCESS" if delivered else "FAIL",
                 "errmsg": "DELIVRD" if delivered else "MK:0012",
                 "description": "用户短信送达成功" if delivered else "用户停机",
                 "sid": message.provider_id}]
    return client.post(reverse("sms-callback", args=[fake.provider, "receipts", token]),
                       rows, content_type="application/json")


def push_reply(client, fake, mobile, text, extend="", token=TOKEN):
    if fake.provider == "aliyun":
        rows = [{"phone_number": mobile, "send_time": "2026-11-23 10:30:00", "content": text,
                 "sign_name": "A店", "dest_code": extend, "sequence_id": 1234}]
    else:
        rows = [{"extend": extend, "mobile": mobile, "nationcode": "86", "sign": "A店",
                 "text": text, "time": 1795401000}]
    return client.post(reverse("sms-callback", args=[fake.provider, "replies", token]),
                       rows, content_type="application/json")


