"""Helpers that find things the way a person does: by visible label, button text and heading."""
import json
import re

import requests
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, DEMO_PASSWORD, MAYA, demo_code

def _axe_source():
    """axe-core 4.x as shipped in the axe-playwright-python wheel (installed with --no-deps: only
    its axe.min.js is used, injected into the Selenium-driven page). Found without importing the
    package, whose code needs Playwright."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or not spec.submodule_search_locations:
        return None
    script = Path(list(spec.submodule_search_locations)[0]) / "axe.min.js"
    return script.read_text(encoding="utf-8") if script.exists() else None


AXE_SOURCE = _axe_source()

AXE_RESULTS = []
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/register/([A-Za-z0-9_-]{43}))")


def _xpath_literal(text):
    if "'" not in text:
        return f"'{text}'"
    return "concat('" + text.replace("'", "', \"'\", '") + "')"


def field(driver, label):
    """The input whose <label> reads `label` (exactly, ignoring an "(optional)" hint)."""
    labels = driver.find_elements(By.TAG_NAME, "label")
    for element in labels:
        text = re.sub(r"\s*\(optional\)\s*$", "", element.text.strip())
        if text == label:
            return driver.find_element(By.ID, element.get_attribute("for"))
    raise AssertionError(f"no field labelled {label!r}; labels: {[l.text for l in labels]}")


def button(driver, text):
    """A button or button-styled link whose visible text is `text`."""
    lit = _xpath_literal(text)
    matches = driver.find_elements(By.XPATH, f"//button[normalize-space()={lit}] | //a[normalize-space()={lit}]")
    visible = [m for m in matches if m.is_displayed()]
    assert visible, f"no button {text!r}"
    return visible[0]


def heading(driver):
    return driver.find_element(By.TAG_NAME, "h1").text.strip()


def _replaced_mid_check(error):
    """An element the page replaced while we looked at it: stale, or chromedriver's "Node with given
    id does not belong to the document" (seen in CI during page loads)."""
    return isinstance(error, StaleElementReferenceException) or "does not belong to the document" in str(error)


class _Wait:
    """Polls a condition until a deadline; an element replaced by a page load mid-check is simply
    checked again."""
    def __init__(self, driver, seconds):
        self.wait = WebDriverWait(driver, seconds, poll_frequency=0.1)

    def until(self, condition):
        def tolerant(d):
            try:
                return condition(d)
            except WebDriverException as error:
                if _replaced_mid_check(error):
                    return False
                raise
        return self.wait.until(tolerant)


def _wait(driver, seconds):
    return _Wait(driver, seconds)


def wait_until(driver, condition, seconds=20):
    """Waits for `condition(driver)`, looking again when the page replaced what it looked at."""
    return _wait(driver, seconds).until(condition)


def wait_for_heading(driver, text, seconds=20):
    _wait(driver, seconds).until(
        lambda d: any(h.text.strip() == text for h in d.find_elements(By.CSS_SELECTOR, "h1, h2")))


def wait_for_text(driver, text, seconds=20):
    _wait(driver, seconds).until(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), text))


def sign_in(driver, base, email, password=DEMO_PASSWORD):
    """Email and Password, then (for a demo staff account) Two-step verification with the code
    the development mailbox shows. A failure is left on the Sign In page for the caller."""
    driver.get(base + "/login")
    assert heading(driver) == "Sign In"
    field(driver, "Email").send_keys(email)
    field(driver, "Password").send_keys(password)
    button(driver, "Sign In").click()
    _wait(driver, 20).until(lambda d: heading(d) != "Sign In" or d.find_elements(By.CSS_SELECTOR, ".error-summary"))
    if heading(driver) == "Two-step verification":
        field(driver, "Code").send_keys(demo_code(base, email))
        button(driver, "Verify").click()
        _wait(driver, 20).until(lambda d: heading(d) != "Two-step verification")


def click_button(driver, text, seconds=5):
    """Finds and clicks a button, finding it again if the page replaced it in between (seen once
    in CI as chromedriver's "Node with given id does not belong to the document")."""
    def attempt(d):
        button(d, text).click()
        return True
    _wait(driver, seconds).until(attempt)


def sign_out(driver):
    click_button(driver, "Sign Out")
    wait_for_heading(driver, "Sign In")


def axe_run(driver):
    """axe-core's results for the page as it is now."""
    driver.execute_script(AXE_SOURCE)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done({version: axe.version, violations: r.violations}),"
        " e => done({error: String(e)}));")


def shot(driver, name):
    """Saves a screenshot and runs the accessibility check on the page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    assert AXE_SOURCE is not None, "axe-core 4.x is missing: pip install --no-deps axe-playwright-python"
    if AXE_SOURCE is not None:
        results = axe_run(driver)
        assert "error" not in results, f"{name}: axe-core failed: {results.get('error')}"
        assert results["version"].startswith("4."), f"axe-core {results['version']}"
        serious = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        AXE_RESULTS.append((name, serious))
        (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(results["violations"], indent=1))
        assert not serious, f"{name}: accessibility problems: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']}" for v in serious)


def page_width(driver):
    """How wide the page is against the window it is shown in (scroll bar excluded): on a phone
    the first must not pass the second."""
    return driver.execute_script("const e = document.documentElement; return [e.scrollWidth, e.clientWidth];")


def http_status(driver, url):
    """The HTTP status the signed-in browser would get for `url` (Selenium cannot read it)."""
    session = requests.Session()
    for cookie in driver.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    return session.get(url, allow_redirects=False, timeout=10).status_code


def open_case(driver, base, patient, as_email=MAYA):
    """Signs in (Dr. Maya Chen unless `as_email` says who) and opens `patient`'s Patient Talk."""
    sign_in(driver, base, as_email)
    wait_for_heading(driver, "View Cases")
    driver.find_element(By.CSS_SELECTOR, f"a[aria-label='View case of {patient}']").click()
    wait_for_heading(driver, patient)
    driver.find_element(By.LINK_TEXT, "Patient Talk").click()
    wait_for_heading(driver, "Patient Talk")


def invite(driver, address, confirm=None):
    field(driver, "Email Address").clear()
    field(driver, "Email Address").send_keys(address)
    field(driver, "Confirm Email Address").clear()
    field(driver, "Confirm Email Address").send_keys(confirm or address)
    # The Send of the invitation form (Patient Talk has another Send, for messages).
    field(driver, "Email Address").find_element(By.XPATH, "./ancestor::form//button[normalize-space()='Send']").click()


def answer_birth_date(driver, iso):
    """Types a date of birth (YYYY-MM-DD) into the Date of birth step, as a person would with the
    keyboard (month, day, year in the date field), and continues."""
    wait_for_heading(driver, "Date of birth")
    element = field(driver, "Date of birth")
    year, month, day = iso.split("-")
    element.send_keys(month + day + year)
    assert element.get_attribute("value") == iso, element.get_attribute("value")
    button(driver, "Continue").click()
