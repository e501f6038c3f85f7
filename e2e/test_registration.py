"""A patient registers from the invitation email, as a person would: phone numbers, a code by text
message or voice call (read from a fake Twilio), Terms of Use, a password with its live checklist,
and sign-in. Email goes through a real SMTP server (aiosmtpd)."""
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import CaseTalkServer
from fake_twilio import FROM, FakeTwilio, code_from
from mailserver import SMTPServer, parts
from pages import LINK, button, field, invite, open_case, shot, wait_for_heading, wait_for_text

NEW_PASSWORD = "plum-harbor-quietly-93"


@pytest.fixture(scope="module")
def twilio():
    fake = FakeTwilio()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def mail():
    server = SMTPServer("plain")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(mail, twilio):
    server = CaseTalkServer({"SMTP_URL": f"smtp://localhost:{mail.port}", **twilio.env()}, name="registration-server")
    yield server
    server.stop()


def invitation_link(doctor, base, mail, patient, address):
    """Dr. Maya Chen invites the patient of `patient`'s case; returns the link from the email."""
    open_case(doctor, base, patient)
    doctor.find_element(By.LINK_TEXT, "click here to invite your patient by email").click()
    invite(doctor, address)
    wait_for_text(doctor, "Invitation sent.")
    return LINK.search(parts(mail.wait_for(address)[-1])[0]).group(1)


def choose(driver, label_start):
    """Ticks the radio button or checkbox whose label starts with `label_start`."""
    label = driver.find_element(By.XPATH, f"//label[starts-with(normalize-space(), '{label_start}')]")
    driver.find_element(By.ID, label.get_attribute("for")).click()


def rule_states(driver):
    return {item.get_attribute("data-rule"): "rule-met" in item.get_attribute("class").split()
            for item in driver.find_elements(By.CSS_SELECTOR, "[data-rule]")}


def wait_for_rules(driver, expected, seconds=10):
    WebDriverWait(driver, seconds, poll_frequency=0.1).until(lambda d: rule_states(d) == expected)


def type_into(driver, label, text):
    element = field(driver, label)
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)


def set_password_and_continue(p, email):
    """Watches the checklist turn from red to green, then continues to sign-in."""
    wait_for_heading(p, "Set password")
    assert rule_states(p) == {"length": False, "notCommon": False, "noEmailName": False, "matches": False}
    type_into(p, "Password", "qz7vk")
    wait_for_rules(p, {"length": False, "notCommon": True, "noEmailName": True, "matches": False})
    type_into(p, "Password", "password1234")
    wait_for_rules(p, {"length": True, "notCommon": False, "noEmailName": True, "matches": False})
    type_into(p, "Password", email.split("@")[0] + "-is-my-name")
    wait_for_rules(p, {"length": True, "notCommon": True, "noEmailName": False, "matches": False})
    type_into(p, "Password", NEW_PASSWORD)
    type_into(p, "Confirm Password", NEW_PASSWORD)
    wait_for_rules(p, {"length": True, "notCommon": True, "noEmailName": True, "matches": True})
    return p


def no_code_in(text, code):
    return re.search(rf"(?<!\d){code}(?!\d)", text) is None


def test_patient_registers_by_text_message(app, mail, twilio, browser, other_browser):
    base, p = app.base, other_browser
    link = invitation_link(browser, base, mail, "Priya Patel", "priya@patients.example")

    p.get(link)
    wait_for_heading(p, "Phone numbers")
    assert p.current_url == base + "/register/phones", "the token has left the address bar"
    shot(p, "30-register-phones")
    for path in ("/register/code", "/register/terms", "/register/password"):
        p.get(base + path)
        wait_for_heading(p, "Phone numbers")   # no skipping ahead by URL
    field(p, "Mobile").send_keys("415 555 01")
    button(p, "Continue").click()
    wait_for_text(p, "Mobile: Enter a 10-digit US number")
    type_into(p, "Mobile", "(415) 555-0142")
    button(p, "Continue").click()

    wait_for_heading(p, "Delivery method")
    shot(p, "31-delivery-method")
    twilio.failing = True
    choose(p, "Text message (SMS)")
    button(p, "Continue").click()
    wait_for_text(p, "We couldn't send the code — try again or choose another method")
    shot(p, "32-provider-failed")
    twilio.failing = False
    sent_before = twilio.count()
    choose(p, "Text message (SMS)")
    button(p, "Continue").click()

    wait_for_heading(p, "Enter code")
    resource, fields = twilio.wait_for("+14155550142", after=sent_before)
    assert resource == "Messages" and fields["From"] == FROM
    first = code_from(resource, fields)
    assert not button(p, "Re-Send Code").is_enabled(), "30-second countdown"
    assert "You can ask for a new code in" in p.page_source
    shot(p, "33-enter-code")
    WebDriverWait(p, 45, poll_frequency=0.5).until(lambda d: button(d, "Re-Send Code").is_enabled())
    sent_before = twilio.count()
    button(p, "Re-Send Code").click()
    wait_for_text(p, "We sent a new code. The previous code no longer works.")
    second = code_from(*twilio.wait_for("+14155550142", after=sent_before))
    if first != second:
        field(p, "Secret code").send_keys(first)
        button(p, "Continue").click()
        wait_for_text(p, "That code is not right.")
    type_into(p, "Secret code", second)
    button(p, "Continue").click()

    wait_for_heading(p, "Terms of Use")
    assert not button(p, "I Accept").is_enabled(), "not before the end of the Terms"
    shot(p, "34-terms")
    def scrolled_to_the_end(d):
        d.execute_script("const box = document.querySelector('[data-terms-box]'); box.scrollTop = box.scrollHeight;")
        return button(d, "I Accept").is_enabled()
    WebDriverWait(p, 10, poll_frequency=0.25).until(scrolled_to_the_end)
    button(p, "I Accept").click()

    set_password_and_continue(p, "priya@patients.example")
    shot(p, "35-password-all-green")
    button(p, "Continue").click()
    wait_for_heading(p, "Sign In")
    assert field(p, "Email").get_attribute("value") == "priya@patients.example"
    assert "priya" not in p.current_url, "the address is not in the URL"
    wait_for_text(p, "Your account is ready")
    shot(p, "36-sign-in-after-registering")
    field(p, "Password").send_keys(NEW_PASSWORD)
    button(p, "Sign In").click()
    wait_for_heading(p, "Welcome, Priya Patel")
    wait_for_text(p, "Orthodontic review")
    shot(p, "37-patient-home")

    browser.refresh()
    wait_for_text(browser, "Invitation: Registered")
    p.get(link)
    wait_for_text(p, "This invitation is no longer valid.")

    log = app.log_text()
    assert "POST /register/code" in log
    for secret in ("4155550142", "415) 555", "priya@patients.example", NEW_PASSWORD):
        assert secret not in log, secret
    assert no_code_in(log, first) and no_code_in(log, second)


def test_patient_registers_by_voice_call_and_the_terms_checkbox(app, mail, twilio, browser, other_browser):
    base, p = app.base, other_browser
    link = invitation_link(browser, base, mail, "Sam Ortega", "sam@patients.example")

    p.get(link)
    wait_for_heading(p, "Phone numbers")
    field(p, "Home").send_keys("+44 20 7946 0958")
    button(p, "Continue").click()
    wait_for_heading(p, "Delivery method")
    assert "Text message (SMS)" not in p.page_source, "texts go to mobile numbers only"
    sent_before = twilio.count()
    choose(p, "Voice call to your home number")
    button(p, "Continue").click()

    wait_for_heading(p, "Enter code")
    resource, fields = twilio.wait_for("+442079460958", after=sent_before)
    assert resource == "Calls" and "<Say>" in fields["Twiml"]
    code = code_from(resource, fields)
    button(p, "Change Delivery Method").click()
    wait_for_heading(p, "Delivery method")
    p.back()
    wait_for_heading(p, "Enter code")
    field(p, "Secret code").send_keys(code)
    button(p, "Continue").click()

    wait_for_heading(p, "Terms of Use")
    assert not button(p, "I Accept").is_enabled()
    p.find_element(By.ID, "terms-read").send_keys(Keys.SPACE)   # the keyboard way
    WebDriverWait(p, 5).until(lambda d: button(d, "I Accept").is_enabled())
    shot(p, "38-terms-checkbox")
    button(p, "I Accept").click()

    set_password_and_continue(p, "sam@patients.example")
    button(p, "Continue").click()
    wait_for_heading(p, "Sign In")
    assert field(p, "Email").get_attribute("value") == "sam@patients.example"


def test_registration_on_the_embedded_default_uses_the_development_mailbox(server, browser, other_browser):
    """Without SMTP or Twilio, the invitation and the text both land in /dev/mailbox."""
    link_text = None
    open_case(browser, server, "Jordan Miles")
    browser.find_element(By.LINK_TEXT, "click here to invite your patient by email").click()
    invite(browser, "jordan@patients.example")
    wait_for_text(browser, "Invitation sent.")

    p = other_browser

    def newest_item_to(recipient, kind):
        deadline_driver = WebDriverWait(p, 20, poll_frequency=0.5)

        def find(d):
            d.get(server + "/dev/mailbox")
            rows = d.find_elements(By.XPATH, f"//tr[td[normalize-space()='{kind}'] and td[normalize-space()='{recipient}']]")
            return rows[0] if rows else False
        row = deadline_driver.until(find)
        row.find_element(By.TAG_NAME, "a").click()
        return p.find_element(By.CSS_SELECTOR, "pre.mail-text").text

    link_text = LINK.search(newest_item_to("jordan@patients.example", "email")).group(1)
    p.get(link_text)
    wait_for_heading(p, "Phone numbers")
    field(p, "Mobile").send_keys("(212) 555-0123")
    button(p, "Continue").click()
    wait_for_heading(p, "Delivery method")
    choose(p, "Text message (SMS)")
    button(p, "Continue").click()
    wait_for_heading(p, "Enter code")
    text = newest_item_to("+12125550123", "sms")
    code = re.search(r"verification code is (\d{6})\.", text).group(1)
    p.get(server + "/register/code")
    field(p, "Secret code").send_keys(code)
    button(p, "Continue").click()
    wait_for_heading(p, "Terms of Use")
