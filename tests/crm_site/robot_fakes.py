"""Local fakes of the 企业微信 and 钉钉 group-robot webhooks: real HTTP servers on
127.0.0.1 that check each post as the robots' documentation describes it (WeCom: the
robot's key in the URL; DingTalk: access_token, and 加签 timestamp + HMAC-SHA256 sign
within an hour) and answer as the robots do. `fake.texts` holds what each robot posted;
`fake.mode` is "ok", "busy" (the robots' too-many-messages answer) or "down" (HTTP 502)."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN, DING_SECRET = "ding-access-token-1", "SEC-test-signing-secret"


class FakeRobot:
    def __init__(self, kind):
        self.kind, self.mode = kind, "ok"
        self.texts, self.refused = [], []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = fake.handle(self.path, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = (f"{base}/cgi-bin/webhook/send?key={WECOM_KEY}" if kind == "wecom"
                    else f"{base}/robot/send?access_token={DING_TOKEN}")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path, headers, body):
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if not headers.get("Content-Type", "").startswith("application/json"):
            self.refused.append("content type")
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if self.kind == "wecom":
            if url.path != "/cgi-bin/webhook/send" or query.get("key") != WECOM_KEY:
                self.refused.append("key")
                return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        else:
            wrong = self._dingtalk_wrong(url.path, query)
            if wrong:
                self.refused.append(wrong)
                return 200, {"errcode": 310000, "errmsg": f"sign not match, {wrong}"}
        message = json.loads(body)
        if message.get("msgtype") != "text" or not message.get("text", {}).get("content"):
            self.refused.append("message shape")
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if self.mode == "down":
            return 502, {}
        if self.mode == "busy":
            return 200, ({"errcode": 45009, "errmsg": "api freq out of limit"} if self.kind == "wecom"
                         else {"errcode": 130101, "errmsg": "send too fast"})
        self.texts.append(message["text"]["content"])
        return 200, {"errcode": 0, "errmsg": "ok"}

    @staticmethod
    def _dingtalk_wrong(path, query):
        if path != "/robot/send" or query.get("access_token") != DING_TOKEN:
            return "access_token"
        try:
            timestamp = int(query["timestamp"])
        except (KeyError, ValueError):
            return "timestamp"
        if abs(time.time() * 1000 - timestamp) > 3600 * 1000:
            return "timestamp expired"
        string_to_sign = f"{timestamp}\n{DING_SECRET}"
        expected = base64.b64encode(hmac.new(DING_SECRET.encode(), string_to_sign.encode(),
                                             hashlib.sha256).digest()).decode()
        # parse_qs has already URL-decoded the sign
        return None if hmac.compare_digest(expected, query.get("sign", "")) else "sign"
