"""The privacy promise against a colleague and a forwarded link, in a real browser (issue 15):
only the owning practice redirects an invitation and every member sees where it went; a stranger
who received a mistyped address is stopped by the date of birth; a second browser with the same
link after verification starts again and must prove the phone anew."""
import re

import pytest
from selenium.webdriver.common.by import By

from conftest import CaseTalkServer
from fake_twilio import code_from
from mailserver import parts
from pages import LINK, answer_birth_date, button, field, invite, open_case, shot, sign_out, wait_for_heading, wait_for_text

FELIX = "felix.grant@northside.example"


@pytest.fixture(scope="module")
def app(mail, twilio):
    server = CaseTalkServer({"SMTP_URL": f"smtp://localhost:{mail.port}", **twilio.env()}, name="privacy-server")
    yield server
    server.stop()


def test_a_colleague_of_another_practice_cannot_take_the_invitation(app, mail, browser, other_browser):
    base = app.base
    # Dr. Chen (Riverside, whose case it is) invites Jordan; Dr. Grant (Northside) is on the case too.
    open_case(browser, base, "Jordan Miles")
    browser.find_element(By.LINK_TEXT, "click here to invite your patient by email").click()
    invite(browser, "jordan.m@patients.example")
    wait_for_text(browser, "Invitation sent.")
    told = mail.wait_for(FELIX)[-1]
    assert told["Subject"] == "A patient invitation went to a new address on CaseTalk"
    for secret in ("jordan", "Jordan", "Miles", "Implant", "1987"):
        assert secret not in parts(told)[0], secret

    f = other_browser
    open_case(f, base, "Jordan Miles", as_email=FELIX)
    wait_for_text(f, "j•••@patients.example")
    assert "jordan.m@patients.example" not in f.page_source, "masked for another practice"
    assert "by Dr. Maya Chen (Riverside Dental Care)" in f.page_source
    assert "Send to a corrected address" not in f.page_source
    assert "Only Riverside Dental Care, whose case this is, can send the invitation to another address." in f.page_source
    shot(f, "60-colleague-sees-masked-invitation")
    # The Invite Patient form, typed by hand: refused with the reason; no link goes anywhere.
    f.get(f.current_url.replace("/talk", "/invite"))
    wait_for_heading(f, "Invite Patient")
    invite(f, "felix.private@example.net")
    wait_for_text(f, "Only Riverside Dental Care, whose case this is, can send the invitation to another address.")
    shot(f, "61-colleague-redirect-refused")
    assert mail.messages_to("felix.private@example.net") == []

    # The address was mistyped: a stranger opens the link and cannot get past the date of birth.
    link = LINK.search(parts(mail.wait_for("jordan.m@patients.example")[-1])[0]).group(1)
    stranger = browser
    sign_out(stranger)
    stranger.delete_all_cookies()
    stranger.get(link)
    for guess in ("1987-12-04", "1988-04-12"):
        answer_birth_date(stranger, guess)
        wait_for_text(stranger, "That date of birth does not match what your practice has on file.")
    answer_birth_date(stranger, "1987-04-21")
    wait_for_text(stranger, "This invitation is no longer valid. Ask your practice to send a new one.")
    shot(stranger, "62-stranger-stopped-by-birth-date")
    stopped = mail.wait_for("maya.chen@riverside.example")[-1]
    assert stopped["Subject"] == "A patient invitation was stopped on CaseTalk"

    # The owning practice corrects the address; the colleague is told again and sees the new one masked.
    open_case(stranger, base, "Jordan Miles")
    invite(stranger, "jordan@patients.example")
    wait_for_text(stranger, "Invitation sent.")
    mail.wait_for(FELIX, count=2)
    f.get(f.current_url.replace("/invite", "/talk"))
    wait_for_text(f, "j•••@patients.example")


def test_a_second_browser_with_the_same_link_starts_again(app, mail, twilio, browser, other_browser):
    base = app.base
    open_case(browser, base, "Priya Patel")
    browser.find_element(By.LINK_TEXT, "click here to invite your patient by email").click()
    invite(browser, "priya@patients.example")
    wait_for_text(browser, "Invitation sent.")
    link = LINK.search(parts(mail.wait_for("priya@patients.example")[-1])[0]).group(1)
    sign_out(browser)
    browser.delete_all_cookies()

    # Browser A, the patient's: date of birth, phone, the code from the fake Twilio.
    a = other_browser
    a.get(link)
    answer_birth_date(a, "1993-09-30")
    wait_for_heading(a, "Phone numbers")
    field(a, "Mobile").send_keys("(415) 555-0163")
    button(a, "Continue").click()
    wait_for_heading(a, "Delivery method")
    assert "555-0163" not in a.page_source and "ending in 63" in a.page_source, "numbers masked after the first step"
    sent = twilio.count()
    button(a, "Continue").click()
    wait_for_heading(a, "Enter code")
    field(a, "Secret code").send_keys(code_from(*twilio.wait_for("+14155550163", after=sent)))
    button(a, "Continue").click()
    wait_for_heading(a, "Terms of Use")

    # Browser B, with the same link (a forwarded email): it starts again and needs a new code.
    b = browser
    b.get(link)
    answer_birth_date(b, "1993-09-30")
    wait_for_heading(b, "Enter code")
    assert "555-0163" not in b.page_source and "+14155550163" not in b.page_source
    for path in ("/register/terms", "/register/password", "/register/phones"):
        b.get(base + path)
        wait_for_heading(b, "Enter code")
    shot(b, "63-second-browser-needs-a-code")

    # A finishes undisturbed.
    a.find_element(By.ID, "terms-read").click()
    button(a, "I Accept").click()
    wait_for_heading(a, "Set password")
    field(a, "Password").send_keys("marble-orchard-sunrise-17")
    field(a, "Confirm Password").send_keys("marble-orchard-sunrise-17")
    button(a, "Continue").click()
    wait_for_heading(a, "Sign In")
    b.get(base + "/register")
    wait_for_text(b, "This invitation is no longer valid.")
    assert not re.search(r"\+1415555016\d", b.page_source)
