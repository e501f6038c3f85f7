"""A stand-in for the Twilio REST API on loopback (SPEC §6): it keeps every text and call it is
asked to make, checks HTTP Basic auth, and can be told to fail like a provider outage or to hang
like a provider that does not answer in time."""
import base64
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SID = "AC" + "e2e0" * 8
TOKEN = "e2e-auth-token"
FROM = "+15005550006"
PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$")


class FakeTwilio:
    def __init__(self):
        self.requests = []          # (resource, form fields) in arrival order
        self.rejected = []          # (path, reason)
        self.failing = False
        self.hang_seconds = 0       # > 0: answer only after this long, and keep nothing
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                match = PATH.match(self.path)
                expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
                reason = None
                if not match or match.group(1) != SID:
                    reason = "path"
                elif self.headers.get("Authorization") != expected:
                    reason = "auth"
                elif self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
                    reason = "content-type"
                if reason:
                    with outer._lock:
                        outer.rejected.append((self.path, reason))
                    self._answer(401 if reason == "auth" else 404, {"message": reason})
                    return
                if outer.failing:
                    self._answer(500, {"message": "provider outage"})
                    return
                if outer.hang_seconds:
                    time.sleep(outer.hang_seconds)
                    self._answer(504, {"message": "too late"})
                    return
                fields = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
                with outer._lock:
                    outer.requests.append((match.group(2), fields))
                self._answer(201, {"sid": "SM" + "0" * 32, "status": "queued"})

            def _answer(self, status, payload):
                import json
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def env(self):
        return {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": FROM,
                "TWILIO_API_BASE_URL": self.base}

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def count(self):
        with self._lock:
            return len(self.requests)

    def wait_for(self, to, after=0, seconds=20):
        """The first request to `to` beyond the first `after` requests: (resource, fields)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                for resource, fields in self.requests[after:]:
                    if fields.get("To") == to:
                        return resource, fields
            time.sleep(0.1)
        raise TimeoutError(f"no text or call to {to} within {seconds} s")


def code_from(resource, fields):
    """The code a text or a call carries: the SMS wording of SPEC §3, or the digits the TwiML reads."""
    if resource == "Messages":
        match = re.fullmatch(r"Your CaseTalk verification code is (\d{6})\. Do not share it\.", fields["Body"])
        assert match, fields["Body"]
        return match.group(1)
    says = re.findall(r"<Say>([^<]*)</Say>", fields["Twiml"])
    digit_runs = ["".join(re.findall(r"\d", say)) for say in says if re.search(r"\d", say)]
    assert len(digit_runs) == 2 and digit_runs[0] == digit_runs[1] and len(digit_runs[0]) == 6, fields["Twiml"]
    return digit_runs[0]
