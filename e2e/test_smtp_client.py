"""CaseTalk's own SMTP client against a real SMTP server (aiosmtpd), through
`casetalk mail test`: plain, STARTTLS with a self-signed certificate, implicit TLS, AUTH."""
import socket
import ssl
import threading

import pytest

from mailserver import PASSWORD, USER, SMTPServer, free_port, make_certificate, parts


@pytest.fixture(scope="module")
def certificate():
    return make_certificate()


def send(casetalk, url, to="pat@example.com"):
    return casetalk("mail", "test", "--to", to, env={"SMTP_URL": url})


def test_plain_smtp(casetalk):
    with SMTPServer("plain") as server:
        result = send(casetalk, f"smtp://localhost:{server.port}")
        assert result.returncode == 0, result.stderr
        message = server.wait_for("pat@example.com")[0]
        assert message["Subject"] == "CaseTalk test email"
        assert message["To"] == "pat@example.com"
        assert message["From"] == "CaseTalk <no-reply@localhost>"
        assert message["Date"] and message["Message-ID"]
        assert message.get_content_type() == "multipart/alternative"
        text, html = parts(message)
        assert "Delivery works." in text and "<p>This is a test email" in html


def test_plain_server_fails_when_tls_is_required(casetalk):
    with SMTPServer("plain") as server:
        result = send(casetalk, f"smtp://localhost:{server.port}?tls=required")
        assert result.returncode == 1
        assert "does not offer STARTTLS" in result.stderr
        assert server.received == []


def test_starttls_checks_the_certificate(casetalk, certificate):
    with SMTPServer("starttls", certificate=certificate) as server:
        untrusted = send(casetalk, f"smtp://localhost:{server.port}?tls=required")
        assert untrusted.returncode == 1, "a certificate nobody vouches for is refused"
        assert "TLS" in untrusted.stderr
        trusted = send(casetalk, f"smtp://localhost:{server.port}?tls=required&ca={certificate[0]}")
        assert trusted.returncode == 0, trusted.stderr
        assert len(server.wait_for("pat@example.com")) == 1


def test_auth_over_starttls(casetalk, certificate):
    with SMTPServer("starttls", auth=True, certificate=certificate) as server:
        wrong = send(casetalk, f"smtp://{USER}:wrong@localhost:{server.port}?ca={certificate[0]}")
        assert wrong.returncode == 1
        assert "535" in wrong.stderr, wrong.stderr
        assert PASSWORD not in wrong.stderr + wrong.stdout
        right = send(casetalk, f"smtp://{USER}:{PASSWORD}@localhost:{server.port}?ca={certificate[0]}")
        assert right.returncode == 0, right.stderr
        assert len(server.wait_for("pat@example.com")) == 1


def test_implicit_tls(casetalk, certificate):
    with SMTPServer("implicit", auth=True, certificate=certificate) as server:
        result = send(casetalk, f"smtps://{USER}:{PASSWORD}@localhost:{server.port}?ca={certificate[0]}")
        assert result.returncode == 0, result.stderr
        assert len(server.wait_for("pat@example.com")) == 1


def test_a_refused_recipient_does_not_block_the_rest_of_the_batch(casetalk):
    with SMTPServer("plain") as server:
        result = send(casetalk, f"smtp://localhost:{server.port}", to="bounce@example.com,pat@example.com")
        assert result.returncode == 1
        assert "bounce@example.com: refused: the mail server answered 550 to RCPT" in result.stderr
        assert "pat@example.com: sent." in result.stdout
        assert len(server.wait_for("pat@example.com")) == 1


def test_no_server_is_a_clear_retryable_error(casetalk):
    from mailserver import free_port
    result = send(casetalk, f"smtp://localhost:{free_port()}")
    assert result.returncode == 1
    assert "worth trying again" in result.stderr and "could not reach the mail server" in result.stderr


class InjectingServer:
    """The review's fake server (M6): it answers STARTTLS with 220 and, in the same segment, a
    forged `250 AUTH LOGIN`; after a real TLS handshake its EHLO offers only AUTH PLAIN. A client
    that kept the forged reply would read it as the answer to its second EHLO and choose LOGIN."""

    def __init__(self, certificate):
        self.port = free_port()
        self.heard = []           # every line the client sent, plain or over TLS
        self.handshake = None     # "done", or why not
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(certificate[0]), str(certificate[1]))
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(30)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.settimeout(10)
        lines = conn.makefile("rb")
        conn.sendall(b"220 fake ESMTP\r\n")
        self.heard.append(lines.readline().decode().strip())          # EHLO
        conn.sendall(b"250-fake\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
        self.heard.append(lines.readline().decode().strip())          # STARTTLS
        conn.sendall(b"220 go ahead\r\n250-fake\r\n250 AUTH LOGIN\r\n")  # one segment, the forgery after the 220
        try:
            secure = self.context.wrap_socket(conn, server_side=True)
            self.handshake = "done"
            secure_lines = secure.makefile("rb")
            while True:
                line = secure_lines.readline()
                if not line:
                    break
                text = line.decode().strip()
                self.heard.append(text)
                if text.startswith("EHLO"):
                    secure.sendall(b"250-fake\r\n250 AUTH PLAIN\r\n")
                elif text.startswith("AUTH"):
                    secure.sendall(b"235 ok\r\n")
                else:
                    secure.sendall(b"250 ok\r\n")
        except (OSError, ssl.SSLError) as error:
            self.handshake = f"refused: {type(error).__name__}"
        finally:
            conn.close()

    def stop(self):
        self.listener.close()
        self.thread.join(timeout=15)


def test_a_reply_injected_before_the_tls_handshake_ends_the_connection(casetalk, certificate):
    """Review M6: bytes sent before the handshake were read as replies after it."""
    server = InjectingServer(certificate)
    try:
        result = send(casetalk, f"smtp://{USER}:{PASSWORD}@localhost:{server.port}?tls=required&ca={certificate[0]}")
    finally:
        server.stop()
    assert result.returncode == 1
    assert "before the TLS handshake" in result.stderr and "attack" in result.stderr, result.stderr
    assert server.heard[:2] == [server.heard[0], "STARTTLS"] and server.heard[0].startswith("EHLO"), server.heard
    assert not any(line.startswith("AUTH") for line in server.heard), server.heard
    assert server.handshake != "done", "the client gave up before TLS"


def test_the_certificate_must_name_the_address_dialled(casetalk):
    """Review M6 said no name is checked for an IP-literal host. NIOSSL checks the peer's address
    against the certificate's IP names when no host name is given: a certificate for localhost
    alone is refused at 127.0.0.1, and one that lists 127.0.0.1 is accepted."""
    names_only = make_certificate(names="DNS:localhost")
    with SMTPServer("implicit", certificate=names_only) as server:
        refused = send(casetalk, f"smtps://127.0.0.1:{server.port}?ca={names_only[0]}")
        assert refused.returncode == 1 and "TLS handshake" in refused.stderr, refused.stderr
        assert server.received == []
        by_name = send(casetalk, f"smtps://localhost:{server.port}?ca={names_only[0]}")
        assert by_name.returncode == 0, by_name.stderr
    both = make_certificate()
    with SMTPServer("implicit", certificate=both) as server:
        assert send(casetalk, f"smtps://127.0.0.1:{server.port}?ca={both[0]}").returncode == 0


def test_production_requires_starttls_and_tls_off_only_for_this_machine(casetalk):
    """Review M6: in production `smtp://` followed an offer of STARTTLS only if one was made."""
    from test_commands import PRODUCTION
    with SMTPServer("plain") as server:
        stripped = casetalk("mail", "test", "--to", "pat@example.com", "--env", "production",
                            env={**PRODUCTION, "SMTP_URL": f"smtp://localhost:{server.port}"})
        assert stripped.returncode == 1 and "does not offer STARTTLS" in stripped.stderr, stripped.stderr
        relay = casetalk("mail", "test", "--to", "pat@example.com", "--env", "production",
                         env={**PRODUCTION, "SMTP_URL": f"smtp://127.0.0.1:{server.port}?tls=off"})
        assert relay.returncode == 0, relay.stderr
        assert len(server.wait_for("pat@example.com")) == 1
    elsewhere = casetalk("mail", "test", "--to", "pat@example.com", "--env", "production",
                         env={**PRODUCTION, "SMTP_URL": "smtp://mail.example:25?tls=off"})
    assert elsewhere.returncode == 1 and "only for a mail relay on this machine" in elsewhere.stderr, elsewhere.stderr
