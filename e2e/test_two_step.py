"""Two-step verification for staff (SPEC §9), in a real browser: an account made with
`casetalk staff create` is taken to Set up two-step verification right after its password; the
QR code the server draws is read by an independent decoder (zxing-cpp) and holds the key shown as
text; an independent TOTP (pyotp) makes the codes; recovery codes work once each."""
import io
import subprocess
import time
import urllib.parse

import pyotp
import pytest
import zxingcpp
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import CaseTalkServer
from pages import button, field, heading, page_width, shot, sign_out, wait_for_heading, wait_for_text

EMAIL = "kim.lee@lakeview.example"
PASSWORD = "a sound long passphrase"


@pytest.fixture(scope="module")
def lakeview():
    """A server of its own, and a staff account made with the command line (no second factor yet)."""
    server = CaseTalkServer(name="two-step-server")

    def casetalk(*args, stdin=""):
        answer = subprocess.run([str(server.binary), *args], cwd=server.workdir, env={**server.env, "LOG_LEVEL": "error"},
                                input=stdin, capture_output=True, text=True, timeout=120)
        assert answer.returncode == 0, answer.stderr
        return answer.stdout.strip()

    practice = casetalk("practice", "create", "--name", "Lakeview Pediatric Dentistry")
    casetalk("staff", "create", "--practice", practice, "--email", EMAIL, "--name", "Dr. Kim Lee", "--role", "doctor",
             stdin=PASSWORD + "\n")
    yield server
    server.stop()


def type_password(driver, base):
    driver.get(base + "/login")
    field(driver, "Email").send_keys(EMAIL)
    field(driver, "Password").send_keys(PASSWORD)
    button(driver, "Sign In").click()


def test_set_up_from_the_qr_code_then_codes_and_recovery_codes(lakeview, browser, other_browser):
    base = lakeview.base
    type_password(browser, base)
    wait_for_heading(browser, "Set up two-step verification")
    shot(browser, "60-two-step-set-up")
    browser.get(base + "/cases")
    wait_for_heading(browser, "Sign In")   # nothing else opens before the set-up is done
    browser.get(base + "/two-step/setup")
    wait_for_heading(browser, "Set up two-step verification")

    # The QR code as the browser draws it, read by a decoder that is not ours.
    qr = browser.find_element(By.CSS_SELECTOR, ".qr-code svg")
    image = Image.open(io.BytesIO(qr.screenshot_as_png)).convert("L")
    decoded = zxingcpp.read_barcodes(image)
    assert decoded, "the QR code does not decode"
    uri = urllib.parse.urlparse(decoded[0].text)
    params = urllib.parse.parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert urllib.parse.unquote(uri.path) == "/CaseTalk:" + EMAIL and params["issuer"] == ["CaseTalk"]
    key = browser.find_element(By.ID, "totp-key").text.replace(" ", "")
    assert params["secret"] == [key], "the QR code holds the key shown as text"
    totp = pyotp.TOTP(key)   # RFC 6238 defaults: SHA-1, 6 digits, 30 s

    field(browser, "Code").send_keys("000000" if totp.now() != "000000" else "111111")
    button(browser, "Turn on two-step verification").click()
    wait_for_text(browser, "That code is not right")
    field(browser, "Code").send_keys(totp.now())
    field(browser, "Code").send_keys(Keys.ENTER)   # the keyboard way
    wait_for_heading(browser, "Save your recovery codes")
    codes = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".recovery-codes code")]
    assert len(codes) == 10 and len(set(codes)) == 10
    shot(browser, "61-recovery-codes")
    button(browser, "I have saved them").click()
    wait_for_heading(browser, "View Cases")
    sign_out(browser)

    # Next time: the password, then the app's code. The code of the next 30 s step is used, so it
    # cannot be the one just spent on the set-up (one step of drift is accepted).
    type_password(browser, base)
    wait_for_heading(browser, "Two-step verification")
    shot(browser, "62-two-step-code")
    spent = totp.at(time.time() + 30)
    field(browser, "Code").send_keys(spent)
    button(browser, "Verify").click()
    wait_for_heading(browser, "View Cases")
    sign_out(browser)

    # A used code is refused again: the same code (a new 30 s step may have begun meanwhile, and
    # with it a new code; the spent one is still within the step of drift accepted).
    type_password(browser, base)
    wait_for_heading(browser, "Two-step verification")
    field(browser, "Code").send_keys(spent)
    button(browser, "Verify").click()
    wait_for_text(browser, "That code is not right")

    # A recovery code, on a phone-width screen, by keyboard.
    other_browser.set_window_size(390, 844)
    type_password(other_browser, base)
    wait_for_heading(other_browser, "Two-step verification")
    button(other_browser, "Use a recovery code").click()
    wait_for_heading(other_browser, "Two-step verification")
    field(other_browser, "Recovery code").send_keys(codes[0].upper())
    field(other_browser, "Recovery code").send_keys(Keys.ENTER)
    wait_for_heading(other_browser, "View Cases")
    width, window = page_width(other_browser)
    assert width <= window, f"page is {width}px wide in a {window}px window on a 390px screen"
    sign_out(other_browser)
    type_password(other_browser, base)
    wait_for_heading(other_browser, "Two-step verification")
    button(other_browser, "Use a recovery code").click()
    wait_for_heading(other_browser, "Two-step verification")
    field(other_browser, "Recovery code").send_keys(codes[0])
    button(other_browser, "Verify").click()
    wait_for_text(other_browser, "That recovery code is not right, or it has been used.")
    shot(other_browser, "63-recovery-code-used")
    assert heading(other_browser) == "Two-step verification"
