"""Running a practice from the browser (SPEC §9): a departure that orphans no patient. Dr. Omar
Haddad writes to his patient, who replies; he leaves. Dr. Maya Chen, the practice's admin,
deactivates him by keyboard and hands his Patient Talk to Lena Brooks. His cookie is refused on
its next request and his password is refused as a wrong one; the patient is told by email (no
content), sees who reads their messages now and replies; Lena reads the whole thread.

The module has a server of its own (SMTP and the fake Twilio): deactivating a demo doctor must
not change the server the other modules share."""
import re
import time

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import LENA, MAYA, OMAR, CaseTalkServer
from fake_twilio import code_from
from mailserver import parts
from pages import (LINK, button, field, invite, open_case, page_width, shot, sign_in, sign_out, wait_for_heading, wait_for_text,
                   wait_until)
from test_registration import NEW_PASSWORD, register_quickly, sign_in_code

PRIYA = "priya@patients.example"
HANA = "hana.kim@riverside.example"


@pytest.fixture(scope="module")
def app(mail, twilio):
    server = CaseTalkServer({"SMTP_URL": f"smtp://localhost:{mail.port}", **twilio.env()}, name="practice-admin-server")
    yield server
    server.stop()


def test_a_departing_doctor_hands_over_his_patient_talk(app, mail, twilio, browser, other_browser):
    base, p = app.base, other_browser
    # Dr. Haddad invites Priya Patel from her case; she registers from the email.
    open_case(browser, base, "Priya Patel", as_email=OMAR)
    browser.find_element(By.LINK_TEXT, "click here to invite your patient by email").click()
    invite(browser, PRIYA)
    wait_for_text(browser, "Invitation sent.")
    link = LINK.search(parts(mail.wait_for(PRIYA)[-1])[0]).group(1)
    register_quickly(p, link, twilio, "+13125550188", "312-555-0188", PRIYA, "1993-09-30")

    secret = "Your aligners are ready; e2e-handover-5150."
    browser.refresh()
    wait_for_heading(browser, "Patient Talk")
    field(browser, "Message to Priya Patel").send_keys(secret)
    browser.find_element(By.CSS_SELECTOR, "form.message-form button[type='submit']").click()
    wait_for_text(browser, "Message sent.")
    talk_url = browser.current_url.split("?")[0]

    # Priya signs in (a code to her phone on this new browser), reads and replies.
    p.delete_all_cookies()
    p.get(base + "/inbox")
    wait_for_heading(p, "Sign In")
    field(p, "Email").send_keys(PRIYA)
    field(p, "Password").send_keys(NEW_PASSWORD)
    button(p, "Sign In").click()
    sign_in_code(p, twilio, "+13125550188", remember=True)
    wait_for_heading(p, "Secure Inbox")
    p.find_element(By.CSS_SELECTOR, "a[aria-label='Open conversation with Dr. Omar Haddad']").click()
    wait_for_text(p, secret)
    conversation_url = p.current_url.split("?")[0]
    field(p, "Your reply").send_keys("Thank you! e2e-reply-one.")
    p.find_element(By.CSS_SELECTOR, "form.message-form button[type='submit']").click()
    wait_for_text(p, "Your reply was sent.")

    # Dr. Haddad's browser session, kept aside: it must be refused after the deactivation.
    omar = requests.Session()
    for cookie in browser.get_cookies():
        omar.cookies.set(cookie["name"], cookie["value"])
    assert omar.get(base + "/cases", allow_redirects=False, timeout=10).status_code == 200
    browser.delete_all_cookies()

    # Dr. Chen deactivates him from Practice, by keyboard alone, handing the talk to Lena Brooks.
    sign_in(browser, base, MAYA)
    wait_for_heading(browser, "View Cases")
    browser.find_element(By.LINK_TEXT, "Practice").send_keys(Keys.ENTER)
    wait_for_heading(browser, "Practice")
    browser.find_element(By.CSS_SELECTOR, "a[aria-label='Deactivate Dr. Omar Haddad']").send_keys(Keys.ENTER)
    wait_for_heading(browser, "Deactivate Dr. Omar Haddad")
    page = browser.page_source
    assert "Priya Patel" in page and "Orthodontic review" in page
    assert "e2e-handover-5150" not in page and "e2e-reply-one" not in page, "an admin reads no Patient Talk"
    shot(browser, "70-deactivate")
    choice = field(browser, "Hand over or Close")
    choice.send_keys("Hand over to Lena")
    assert choice.get_attribute("value") != "later"
    browser.set_window_size(390, 844)
    width, window = page_width(browser)
    assert width <= window, f"Deactivate is {width}px wide in a {window}px window on a 390px screen"
    shot(browser, "71-phone-deactivate")
    browser.set_window_size(1280, 900)
    browser.find_element(By.XPATH, "//button[normalize-space()='Deactivate Dr. Omar Haddad']").send_keys(Keys.ENTER)
    wait_for_text(browser, "The account was deactivated")
    row = browser.find_element(By.XPATH, "//tr[.//span[normalize-space()='Dr. Omar Haddad']]")
    assert "Deactivated" in row.text and row.find_elements(By.CSS_SELECTOR, "button[aria-label='Reactivate Dr. Omar Haddad']")
    shot(browser, "72-practice-after-deactivation")

    # His cookie is refused on its next request; his password is refused as a wrong one.
    answer = omar.get(base + "/cases", allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login"), answer.status_code
    assert omar.get(talk_url, allow_redirects=False, timeout=10).status_code != 200
    sign_out(browser)
    sign_in(browser, base, OMAR)
    wait_for_text(browser, "Email or password is incorrect")

    # Priya is told without content, sees who reads her messages now, and replies.
    wait_until(browser, lambda _: any(m["Subject"] == "Your care team has changed" for m in mail.messages_to(PRIYA)), 60)
    notice = next(m for m in mail.messages_to(PRIYA) if m["Subject"] == "Your care team has changed")
    text, html = parts(notice)
    for leak in ("e2e-handover-5150", "aligners", "Orthodontic", "Priya", "Patel", "Omar", "Lena"):
        assert leak not in text and leak not in html, leak
    p.get(conversation_url)
    wait_for_text(p, "Your messages here are now read by Lena Brooks.")
    assert re.search(r"Continued by Lena Brooks since .+; previously Dr\. Omar Haddad \(inactive\)", p.page_source)
    shot(p, "73-patient-sees-new-reader")
    field(p, "Your reply").send_keys("Hello Lena, e2e-reply-two.")
    p.find_element(By.CSS_SELECTOR, "form.message-form button[type='submit']").click()
    wait_for_text(p, "Your reply was sent.")

    # Lena, added to the case by the handover, reads the whole thread and is its only staff reader.
    sign_in(browser, base, LENA)
    wait_for_heading(browser, "View Cases")
    browser.find_element(By.CSS_SELECTOR, "a[aria-label='View case of Priya Patel']").click()
    wait_for_heading(browser, "Priya Patel")
    assert "Dr. Omar Haddad (inactive)" in browser.page_source
    browser.find_element(By.LINK_TEXT, "Patient Talk").click()
    wait_for_heading(browser, "Patient Talk")
    for words in (secret, "Thank you! e2e-reply-one.", "Hello Lena, e2e-reply-two."):
        wait_for_text(browser, words)
    shot(browser, "74-new-reader-reads-thread")
    sign_out(browser)
    # Dr. Chen, on the case from the start, still sees nothing of it.
    open_case(browser, base, "Priya Patel", as_email=MAYA)
    assert "e2e-handover-5150" not in browser.page_source and "e2e-reply-two" not in browser.page_source


def test_an_admin_invites_a_colleague_who_joins_with_a_password_and_two_step_verification(app, mail, browser, other_browser):
    """Dr. Chen invites Hana Kim by keyboard; Hana opens the emailed link, watches the password
    checklist turn green, sets up two-step verification with an independent TOTP (pyotp) and is
    signed in; the link then works no more, and her next sign-in asks for her code."""
    import pyotp
    from test_registration import set_password_and_continue
    base, hana = app.base, other_browser
    sign_in(browser, base, MAYA)
    wait_for_heading(browser, "View Cases")
    browser.get(base + "/practice")
    wait_for_heading(browser, "Practice")
    field(browser, "Email Address").send_keys(HANA)
    field(browser, "Name").send_keys("Hana Kim")
    field(browser, "Role").send_keys("Staff")
    browser.find_element(By.XPATH, "//button[normalize-space()='Invite Staff']").send_keys(Keys.ENTER)
    wait_for_text(browser, "The invitation was sent")
    row = browser.find_element(By.XPATH, "//tr[.//span[normalize-space()='Hana Kim']]")
    assert "Invited" in row.text
    browser.set_window_size(390, 844)
    width, window = page_width(browser)
    assert width <= window, f"Practice is {width}px wide in a {window}px window on a 390px screen"
    shot(browser, "75-phone-practice-invited")
    browser.set_window_size(1280, 900)

    invitation = mail.wait_for(HANA)[-1]
    assert invitation["Subject"] == "Riverside Dental Care invited you to join CaseTalk"
    text, _ = parts(invitation)
    link = re.search(r"(http://127\.0\.0\.1:\d+/join/[A-Za-z0-9_-]{43})", text).group(1)
    hana.get(link)
    set_password_and_continue(hana, HANA)
    shot(hana, "76-staff-set-password")
    button(hana, "Continue").click()
    wait_for_heading(hana, "Set up two-step verification")
    shot(hana, "77-staff-two-step-setup")
    totp = pyotp.TOTP(hana.find_element(By.ID, "totp-key").text.replace(" ", ""))
    field(hana, "Code").send_keys(totp.now())
    field(hana, "Code").send_keys(Keys.ENTER)
    wait_for_heading(hana, "Save your recovery codes")
    button(hana, "I have saved them").click()
    wait_for_heading(hana, "View Cases")

    # The link worked once; her password now leads to her own second step.
    hana.get(link)
    wait_for_heading(hana, "This invitation link does not work")
    hana.get(base + "/cases")
    wait_for_heading(hana, "View Cases")
    sign_out(hana)
    field(hana, "Email").send_keys(HANA)
    field(hana, "Password").send_keys(NEW_PASSWORD)
    button(hana, "Sign In").click()
    wait_for_heading(hana, "Two-step verification")
    field(hana, "Code").send_keys(totp.at(time.time() + 30))
    button(hana, "Verify").click()
    wait_for_heading(hana, "View Cases")
    browser.refresh()
    row = browser.find_element(By.XPATH, "//tr[.//span[normalize-space()='Hana Kim']]")
    assert "Active" in row.text and "On" in row.text


def test_edit_settings_and_leaving_pages_work_by_keyboard(app, browser):
    """Edit, Practice settings and Leave this case, with axe on each; the time zone chosen shows
    in the dates at once."""
    base = app.base
    sign_in(browser, base, MAYA)
    wait_for_heading(browser, "View Cases")
    assert " EST" in browser.page_source or " EDT" in browser.page_source, "the default zone, America/New_York"
    browser.get(base + "/practice")
    wait_for_heading(browser, "Practice")
    browser.find_element(By.CSS_SELECTOR, "a[aria-label='Edit Lena Brooks']").send_keys(Keys.ENTER)
    wait_for_heading(browser, "Edit Lena Brooks")
    shot(browser, "78-edit-staff")
    name = field(browser, "Name")
    name.send_keys(Keys.END, " Hale")
    name.send_keys(Keys.ENTER)
    wait_for_text(browser, "The changes were saved.")
    wait_for_text(browser, "Lena Brooks Hale")

    zone = field(browser, "Time zone")
    zone.send_keys("America/Chicago")
    assert zone.get_attribute("value") == "America/Chicago"
    browser.find_element(By.XPATH, "//button[normalize-space()='Save settings']").send_keys(Keys.ENTER)
    wait_for_text(browser, "The practice settings were saved.")
    shot(browser, "79-practice-settings")
    browser.get(base + "/cases")
    wait_for_heading(browser, "View Cases")
    assert " CST" in browser.page_source or " CDT" in browser.page_source

    browser.find_element(By.CSS_SELECTOR, "a[aria-label='View case of Sam Ortega']").click()
    wait_for_heading(browser, "Sam Ortega")
    browser.find_element(By.LINK_TEXT, "Leave this case").send_keys(Keys.ENTER)
    wait_for_heading(browser, "Leave this case")
    shot(browser, "80-leave-case")
    browser.find_element(By.LINK_TEXT, "Cancel").send_keys(Keys.ENTER)
    wait_for_heading(browser, "Sam Ortega")
