"""Inviting the patient, as a doctor and a patient would, with email through a real SMTP server
(aiosmtpd with STARTTLS, a self-signed certificate and AUTH), and an SMTP outage."""
import os
import time

import pytest
from selenium.webdriver.common.by import By

from conftest import CaseTalkServer
from mailserver import PASSWORD, USER, SMTPServer, free_port, make_certificate, parts
from pages import LINK, invite, open_case, shot, wait_for_heading, wait_for_text


@pytest.fixture(scope="module")
def mail():
    server = SMTPServer("starttls", auth=True, certificate=make_certificate())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_app(mail):
    url = f"smtp://{USER}:{PASSWORD}@localhost:{mail.port}?tls=required&ca={mail.cert}"
    app = CaseTalkServer({"SMTP_URL": url}, name="mail-server")
    yield app
    app.stop()


def test_doctor_invites_patient_by_email_and_reinvite_replaces_the_link(mail_app, mail, browser, other_browser):
    base = mail_app.base
    open_case(browser, base, "Priya Patel")
    browser.find_element(By.LINK_TEXT, "click here to invite your patient by email").click()
    wait_for_heading(browser, "Invite Patient")
    invite(browser, "priya@patients.example", confirm="priya@patients.example.org")
    wait_for_text(browser, "The two email addresses do not match.")
    shot(browser, "20-invite-mismatch")
    invite(browser, "priya@patients.example")
    wait_for_text(browser, "Invitation sent.")

    # The email, as the SMTP server received it.
    message = mail.wait_for("priya@patients.example")[0]
    assert message["To"] == "priya@patients.example"
    assert message["From"] == "CaseTalk <no-reply@localhost>"
    assert message["Subject"] == "Riverside Dental Care invited you to CaseTalk"
    assert message["Date"] and message["Message-ID"]
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    first_link, first_token = LINK.search(text).groups()
    assert first_link.startswith(base + "/register/")
    assert first_link in html
    assert "Dr. Maya Chen at Riverside Dental Care" in text
    for secret in ("Orthodontic", "aligner", "Priya", "Patel", "1993"):
        assert secret not in text and secret not in html, secret

    browser.refresh()
    wait_for_text(browser, "handed to the mail server")
    shot(browser, "21-patient-talk-invited")

    # The patient opens the link: the token leaves the URL at once.
    other_browser.get(first_link)
    wait_for_heading(other_browser, "Date of birth")
    assert other_browser.current_url == base + "/register/birth-date", "the token has left the address bar"
    assert "Dr. Maya Chen" in other_browser.page_source
    shot(other_browser, "22-patient-opens-invitation")
    browser.refresh()
    wait_for_text(browser, "Invitation: Opened")

    # Re-Invite Patient with a corrected address: a new email, and the first link stops working.
    invite(browser, "priya.patel@patients.example")
    wait_for_text(browser, "Invitation sent.")
    second = mail.wait_for("priya.patel@patients.example")[0]
    second_link, second_token = LINK.search(parts(second)[0]).groups()
    assert second_token != first_token
    shot(browser, "23-reinvited")
    other_browser.delete_all_cookies()
    other_browser.get(first_link)
    wait_for_text(other_browser, "This invitation is no longer valid. Ask your practice to send a new one.")
    shot(other_browser, "24-old-link-invalid")
    other_browser.get(second_link)
    wait_for_heading(other_browser, "Date of birth")

    log = mail_app.log_text()
    assert "GET /register/:token" in log, "requests are logged by route"
    assert first_token not in log and second_token not in log, "tokens never reach the log"


def test_smtp_outage_delays_mail_and_loses_nothing(browser):
    """The mail server is down when the invitation is sent; it arrives, once, after it returns.
    E2E_OUTAGE_SECONDS sets the outage (default 5; the 10-minute figure is measured with 600)."""
    outage = float(os.environ.get("E2E_OUTAGE_SECONDS", "5"))
    port = free_port()
    app = CaseTalkServer({"SMTP_URL": f"smtp://localhost:{port}"}, name="outage-server")
    mail = None
    try:
        open_case(browser, app.base, "Sam Ortega")
        browser.find_element(By.LINK_TEXT, "click here to invite your patient by email").click()
        invite(browser, "sam@patients.example")
        sent_at = time.monotonic()
        wait_for_text(browser, "Invitation sent.")
        deadline = time.monotonic() + 30
        while "Delivery failed, retrying" not in browser.page_source and time.monotonic() < deadline:
            time.sleep(1)
            browser.refresh()
        assert "Delivery failed, retrying" in browser.page_source
        shot(browser, "25-delivery-failed-retrying")

        time.sleep(max(0.0, outage - (time.monotonic() - sent_at)))
        mail = SMTPServer("plain", port=port)
        back_at = time.monotonic()
        mail.wait_for("sam@patients.example", seconds=180)
        arrived_after = time.monotonic() - back_at
        time.sleep(5)
        copies = len(mail.messages_to("sam@patients.example"))
        print(f"\nSMTP outage: down {back_at - sent_at:.0f} s; arrived {arrived_after:.0f} s after the server returned; copies: {copies}")
        assert copies == 1
        browser.refresh()
        wait_for_text(browser, "handed to the mail server")
    finally:
        if mail:
            mail.stop()
        app.stop()
