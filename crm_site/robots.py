"""Group robots: 企业微信 (WeCom) and 钉钉 (DingTalk) webhooks, as their documentation
describes them. post(webhook, text) sends one text message and raises sms.SmsError
(temporary or not) or sms.SmsOutcomeUnknown, as the SMS backends do."""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

from django.conf import settings

from .sms import SmsError, _post

# Answers that mean "too many messages, try later" (WeCom: 20 a minute per robot;
# DingTalk: 20 a minute); -1 is WeCom's "system busy".
TEMPORARY = {"wecom": {45009, -1}, "dingtalk": {130101, -1}}


def dingtalk_signed_url(url, secret, timestamp_ms=None):
    """The webhook URL with DingTalk's 加签: timestamp (ms) and
    sign = base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded."""
    if not secret:
        return url
    timestamp_ms = timestamp_ms or int(time.time() * 1000)
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def post(webhook, text):
    kind = webhook.kind
    url = webhook.url if kind == "wecom" else dingtalk_signed_url(webhook.url, webhook.secret)
    payload = json.dumps({"msgtype": "text", "text": {"content": text}},
                         ensure_ascii=False).encode()
    _status, answer = _post(url, payload, {"Content-Type": "application/json; charset=utf-8"},
                            settings.SMS_TIMEOUT)
    answer = answer or {}
    code = answer.get("errcode", -1)
    if code != 0:
        raise SmsError(f"{code}: {answer.get('errmsg', '')}", temporary=code in TEMPORARY[kind])
