"""A real SMTP peer for the tests: aiosmtpd, plain, with STARTTLS or implicit TLS, with or
without AUTH. Received messages are kept and parsed with Python's email package."""
import email
import email.policy
import pathlib
import socket
import ssl
import subprocess
import tempfile
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "casetalk"
PASSWORD = "mail-pass-2026"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(names="DNS:localhost,IP:127.0.0.1"):
    """A self-signed certificate for `localhost` (and 127.0.0.1); returns (cert, key) paths."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-smtp-cert-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", f"subjectAltName={names}"], check=True, capture_output=True)
    return cert, key


class _Handler:
    def __init__(self, inbox):
        self.inbox = inbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):  # a mailbox that does not exist
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.inbox.received.append((list(envelope.rcpt_tos), message, envelope.mail_from))
        return "250 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class SMTPServer:
    """`mode`: "plain", "starttls" or "implicit"; `auth`: require AUTH (over TLS)."""

    def __init__(self, mode="plain", auth=False, port=None, certificate=None):
        self.received = []
        self.port = port or free_port()
        self.mode = mode
        kwargs = {}
        if mode != "plain":
            cert, key = certificate or make_certificate()
            self.cert = cert
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert), str(key))
            if mode == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if auth:
            # aiosmtpd only knows about TLS it started itself (STARTTLS); with implicit TLS the
            # whole connection is TLS already.
            kwargs.update(authenticator=_authenticator, auth_required=True, auth_require_tls=(mode == "starttls"))
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def messages_to(self, address):
        return [m for rcpt, m, _ in self.received if address in rcpt]

    def wait_for(self, address, count=1, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.messages_to(address)
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise TimeoutError(f"no {count} message(s) for {address} within {seconds} s (got {len(self.messages_to(address))})")


def parts(message):
    """The plain-text and HTML bodies of a multipart/alternative message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html
