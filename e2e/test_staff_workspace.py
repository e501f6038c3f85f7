"""The staff workspace as a doctor uses it (SPEC §2): sign in, View Cases, New Case, the case
page and its tabs, Add a Doctor/Staff, and a non-member who gets 404."""
import uuid

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import CSRF, LENA, MAYA, OMAR
from pages import button, field, http_status, page_width, shot, sign_in, sign_out, wait_for_heading, wait_for_text


def test_wrong_password_gets_the_same_message_as_an_unknown_email(server, browser):
    sign_in(browser, server, MAYA, password="not-the-password")
    wait_for_text(browser, "Email or password is incorrect")
    first = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    shot(browser, "01-sign-in-failed")
    sign_in(browser, server, "nobody-" + uuid.uuid4().hex[:8] + "@riverside.example", password="not-the-password")
    wait_for_text(browser, "Email or password is incorrect")
    assert browser.find_element(By.CSS_SELECTOR, "[role=alert]").text == first


def test_doctor_creates_a_case_adds_a_colleague_and_outsiders_get_404(server, browser, other_browser):
    # Sign in and see View Cases.
    sign_in(browser, server, MAYA)
    wait_for_heading(browser, "View Cases")
    assert browser.current_url.endswith("/cases")
    assert len(browser.find_elements(By.XPATH, "//a[normalize-space()='View']")) >= 3
    shot(browser, "02-view-cases")

    # New Case: a mistake first, then the real thing.
    button(browser, "New Case").click()
    wait_for_heading(browser, "New Case")
    button(browser, "Create Case").click()
    wait_for_text(browser, "Enter the patient's first name.")
    shot(browser, "03-new-case-errors")
    surname = "Okafor" + uuid.uuid4().hex[:6]
    field(browser, "First name").send_keys("Grace")
    field(browser, "Last name").send_keys(surname)
    field(browser, "Title").send_keys("Root canal, upper right premolar")
    field(browser, "Notes").send_keys("Referred by Dr. Chen.\nPrefers afternoon appointments.")
    button(browser, "Create Case").click()
    wait_for_heading(browser, "Grace " + surname)
    case_url = browser.current_url.split("?")[0]
    wait_for_text(browser, "Case created")
    assert "Associated Doctors & Staff" in browser.page_source.replace("&amp;", "&")
    assert browser.find_element(By.XPATH, "//a[normalize-space()='Invite Patient']").is_displayed()
    shot(browser, "04-case-overview")

    # Add a Doctor/Staff: search by name, + Add.
    field(browser, "Name or practice").send_keys("Omar")
    button(browser, "Search").click()
    wait_for_text(browser, "Dr. Omar Haddad")
    shot(browser, "05-add-colleague-search")
    button(browser, "+ Add").click()
    wait_for_text(browser, "Added to the case.")
    members = browser.find_element(By.XPATH, "//h2[normalize-space()='Associated Doctors & Staff']/following-sibling::ul[1]").text
    assert "Dr. Omar Haddad" in members and "Dr. Maya Chen" in members
    shot(browser, "06-colleague-added")

    # The case is on View Cases.
    browser.find_element(By.LINK_TEXT, "View Cases").click()
    wait_for_text(browser, surname)

    # Patient Talk tab and the Invite Patient button.
    browser.get(case_url)
    browser.find_element(By.LINK_TEXT, "Patient Talk").click()
    wait_for_text(browser, "click here to invite your patient by email")
    shot(browser, "07-patient-talk")
    button(browser, "Invite Patient").click()
    wait_for_heading(browser, "Invite Patient")
    shot(browser, "08-invite-coming-soon")
    sign_out(browser)

    # The added colleague can open the case.
    sign_in(other_browser, server, OMAR)
    wait_for_heading(other_browser, "View Cases")
    wait_for_text(other_browser, surname)
    other_browser.get(case_url)
    wait_for_heading(other_browser, "Grace " + surname)
    sign_out(other_browser)

    # A staff member of the same practice who is not on the case gets 404, and learns nothing.
    sign_in(other_browser, server, LENA)
    wait_for_heading(other_browser, "View Cases")
    assert surname not in other_browser.page_source
    other_browser.get(case_url)
    wait_for_text(other_browser, "We couldn't find that page.")
    assert surname not in other_browser.page_source
    assert http_status(other_browser, case_url) == 404
    assert http_status(other_browser, case_url + "/talk") == 404
    shot(other_browser, "09-non-member-404")

    # Signed out, the case sends you to sign in.
    sign_out(other_browser)
    other_browser.get(case_url)
    wait_for_heading(other_browser, "Sign In")


def test_pages_fit_a_phone(server, browser):
    browser.set_window_size(390, 844)
    sign_in(browser, server, MAYA)
    wait_for_heading(browser, "View Cases")
    width, window = page_width(browser)
    assert width <= window, f"page is {width}px wide in a {window}px window on a 390px screen"
    shot(browser, "10-phone-view-cases")
    browser.find_element(By.XPATH, "//a[normalize-space()='View']").click()
    wait_for_heading(browser, "Associated Doctors & Staff")
    width, window = page_width(browser)
    assert width <= window, f"case page is {width}px wide in a {window}px window on a 390px screen"
    shot(browser, "11-phone-case")
    # Dr. Chen is the practice's admin: Practice, in the top bar, lists its staff (SPEC §9).
    browser.find_element(By.LINK_TEXT, "Practice").click()
    wait_for_heading(browser, "Practice")
    for person in ("Dr. Maya Chen", "Dr. Omar Haddad", "Lena Brooks"):
        wait_for_text(browser, person)
    assert "Dr. Felix Grant" not in browser.page_source, "another practice's doctor"
    width, window = page_width(browser)
    assert width <= window, f"Practice is {width}px wide in a {window}px window on a 390px screen"
    shot(browser, "11b-phone-practice")
    # Lena Brooks, locked by five wrong passwords, is unlocked from Practice by keyboard alone.
    guesser = requests.Session()
    for _ in range(5):
        token = CSRF.search(guesser.get(server + "/login", timeout=10).text).group(1)
        guesser.post(server + "/login", data={"_csrf": token, "email": LENA, "password": "not her password"}, timeout=10)
    browser.refresh()
    unlock = browser.find_element(By.CSS_SELECTOR, "button[aria-label='Unlock Lena Brooks']")
    assert not browser.find_elements(By.CSS_SELECTOR, "button[aria-label='Unlock Dr. Omar Haddad']")
    unlock.send_keys(Keys.ENTER)
    wait_for_text(browser, "The account was unlocked: its owner can sign in again.")
    assert not browser.find_elements(By.CSS_SELECTOR, "button[aria-label='Unlock Lena Brooks']")
