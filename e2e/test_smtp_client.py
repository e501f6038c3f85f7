"""CaseTalk's own SMTP client against a real SMTP server (aiosmtpd), through
`casetalk mail test`: plain, STARTTLS with a self-signed certificate, implicit TLS, AUTH."""
import pytest

from mailserver import PASSWORD, USER, SMTPServer, make_certificate, parts


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
