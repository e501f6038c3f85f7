"""Attachments in a real browser (SPEC §8, issue 19): a patient attaches a phone photo carrying a
GPS position, the owner's name and orientation 6; the doctor sees it upright, and the file the
doctor downloads, read with exiftool, has no GPS, device or owner fields (and, with the image tool,
is written anew upright, with a thumbnail and a view). A colleague on the case
gets 404 on its address; an HTML page renamed .jpg and an SVG are refused; a PDF downloads."""
import json
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from conftest import CaseTalkServer
from pages import button, field, http_status, open_case, page_width, shot, sign_out, wait_for_heading, wait_for_text, wait_until
from test_registration import NEW_PASSWORD, invitation_link, register_quickly

REPO = pathlib.Path(__file__).resolve().parent.parent
PHOTO = REPO / "Tests" / "CaseTalkAppTests" / "Fixtures" / "phone-photo.jpg"
FILE_LINK = re.compile(r'/files/([0-9A-Fa-f-]{36})')
# The server finds the image tool on the PATH it inherits from this run.
IMAGE_TOOL = shutil.which("vipsthumbnail") is not None


@pytest.fixture(scope="module")
def app(mail, twilio):
    server = CaseTalkServer({"SMTP_URL": f"smtp://localhost:{mail.port}", **twilio.env()}, name="attachments-server")
    yield server
    server.stop()


@pytest.fixture
def files():
    folder = pathlib.Path(tempfile.mkdtemp(prefix="casetalk-files-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def session_of(driver):
    """A requests session with the browser's cookies: to read what the browser would download."""
    session = requests.Session()
    for cookie in driver.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    return session


def exif(path):
    out = subprocess.run(["exiftool", "-j", "-a", "-G1", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def test_a_patients_photo_is_cleaned_shown_upright_and_kept_from_a_colleague(app, mail, twilio, browser, other_browser, files):
    base, p = app.base, other_browser
    before = exif(PHOTO)
    assert any(k.startswith("GPS:") for k in before) and before.get("IFD0:Make") == "PhoneMaker", "the fixture carries what must go"

    link = invitation_link(browser, base, mail, "Jordan Miles", "jordan.files@patients.example")
    register_quickly(p, link, twilio, "+13125550188", "312-555-0188", "jordan.files@patients.example", "1987-04-12")
    field(p, "Password").send_keys(NEW_PASSWORD)
    button(p, "Sign In").click()
    wait_for_heading(p, "Welcome, Jordan Miles")

    # The doctor writes first (a message alone, through the same form that takes files).
    browser.refresh()
    wait_for_heading(browser, "Patient Talk")
    field(browser, "Message to Jordan Miles").send_keys("Please send a photo of the swelling.")
    browser.find_element(By.CSS_SELECTOR, "form.message-form button[type='submit']").click()
    wait_for_text(browser, "Message sent.")

    p.get(base + "/inbox")
    wait_for_heading(p, "Secure Inbox")
    p.find_element(By.CSS_SELECTOR, "a[href^='/inbox/']").click()
    wait_for_heading(p, "Dr. Maya Chen")
    thread_url = p.current_url

    # Refused by their content, whatever their names say; the typed reply stays.
    fake = files / "swelling.jpg"
    fake.write_text("<html><script>alert(document.cookie)</script></html>")
    svg = files / "drawing.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    for refused in (fake, svg):
        field(p, "Your reply").clear()
        field(p, "Your reply").send_keys("Here it is.")
        field(p, "Attach files").send_keys(str(refused))
        button(p, "Send").click()
        wait_for_text(p, f"{refused.name}: This type of file can't be sent. You can send photos (JPEG, PNG, HEIC, WebP) and PDF documents.")
        assert field(p, "Your reply").get_attribute("value") == "Here it is."
    shot(p, "60-patient-file-refused")

    photo = files / "IMG_0042.jpg"
    photo.write_bytes(PHOTO.read_bytes())
    field(p, "Your reply").clear()
    field(p, "Your reply").send_keys("Here it is.")
    field(p, "Attach files").send_keys(str(photo))
    button(p, "Send").click()
    wait_for_text(p, "Your reply was sent.")
    wait_for_text(p, "IMG_0042.jpg")
    shot(p, "61-patient-sent-photo")

    browser.refresh()
    wait_for_text(browser, "Here it is.")
    wait_for_text(browser, "Photo taken Nov 30, 2026 at 2:05")
    thumb = browser.find_element(By.CSS_SELECTOR, "img.attachment-thumb")
    assert thumb.get_attribute("alt") == "IMG_0042.jpg"
    # Stored 64 × 40 with orientation 6: shown turned upright, 40 wide and 64 high.
    size = browser.execute_script("const i = arguments[0]; return i.complete ? [i.naturalWidth, i.naturalHeight] : null;", thumb)
    assert size == [40, 64], size
    if IMAGE_TOOL:   # the tool's thumbnail in the thread, its screen-sized view behind the link
        assert thumb.get_attribute("src").endswith("?size=thumbnail")
        assert browser.find_element(By.CSS_SELECTOR, "li.attachment-image > a").get_attribute("href").endswith("?size=view")
    shot(browser, "62-doctor-sees-photo")
    # On a phone the thread with its photo fits the screen; by keyboard, Attach files comes right
    # after the message box, then Send.
    browser.set_window_size(390, 844)
    browser.refresh()
    wait_for_text(browser, "IMG_0042.jpg")
    width, window = page_width(browser)
    assert width <= window, f"the thread is {width}px wide in a {window}px window on a 390px screen"
    shot(browser, "62b-phone-thread-with-photo")
    field(browser, "Message to Jordan Miles").send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "files"
    ActionChains(browser).send_keys(Keys.TAB).perform()   # (keys sent to a file input are taken as a path)
    assert browser.switch_to.active_element.text == "Send"
    browser.set_window_size(1280, 900)
    file_id = FILE_LINK.search(browser.page_source).group(1)
    file_url = f"{base}/files/{file_id}"

    answer = session_of(browser).get(file_url + "?download=1", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["Cache-Control"] == "no-store"
    assert "sandbox" in answer.headers["Content-Security-Policy"]
    downloaded = files / "downloaded.jpg"
    downloaded.write_bytes(answer.content)
    after = exif(downloaded)
    left = [k for k in after if k.startswith("GPS") or k.split(":")[-1] in
            ("Make", "Model", "Artist", "Comment", "OwnerName", "SerialNumber", "XMPToolkit")]
    assert not left, left
    if IMAGE_TOOL:   # written anew upright: no orientation left to obey
        assert (after.get("File:ImageWidth"), after.get("File:ImageHeight")) == (40, 64) and "IFD0:Orientation" not in after, after
    else:            # cleaned as it streamed: the pixels as sent, the orientation kept
        assert (after.get("File:ImageWidth"), after.get("File:ImageHeight")) == (64, 40), after

    # A PDF from the doctor downloads, never opens in the page.
    plan = files / "Treatment plan.pdf"
    plan.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    field(browser, "Message to Jordan Miles").send_keys("Your plan.")
    field(browser, "Attach files").send_keys(str(plan))
    form = browser.find_element(By.CSS_SELECTOR, "form.message-form")
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    wait_until(browser, EC.staleness_of(form))   # (the page it leaves says "Message sent." already)
    wait_for_text(browser, "Message sent.")
    p.get(thread_url)
    wait_for_text(p, "Treatment plan.pdf")
    download = p.find_element(By.XPATH, "//a[starts-with(normalize-space(), 'Download')]")
    pdf = session_of(p).get(download.get_attribute("href"), timeout=10)
    assert pdf.status_code == 200 and pdf.headers["Content-Disposition"].startswith("attachment;")
    assert pdf.content.startswith(b"%PDF-1.7")

    # The Attachments tab: Dr. Chen's own Patient Talk's files, newest first; full screen, the
    # arrow key goes to the next one.
    browser.find_element(By.LINK_TEXT, "Attachments").click()
    wait_for_heading(browser, "Jordan Miles")
    wait_for_text(browser, "Treatment plan.pdf")
    assert browser.page_source.index("Treatment plan.pdf") < browser.page_source.index("IMG_0042.jpg")
    shot(browser, "63-attachments-tab")
    browser.find_element(By.LINK_TEXT, "Images").click()
    wait_for_text(browser, "IMG_0042.jpg")
    assert "Treatment plan.pdf" not in browser.page_source
    browser.find_element(By.LINK_TEXT, "All").click()
    wait_for_text(browser, "Treatment plan.pdf")
    browser.find_element(By.XPATH, "//ul[@class='gallery']//a[contains(., 'Treatment plan.pdf')]").click()
    wait_for_heading(browser, "Treatment plan.pdf")
    assert "1 of 2" in browser.page_source
    shot(browser, "64-attachment-full-screen")
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
    wait_for_heading(browser, "IMG_0042.jpg")
    assert "2 of 2" in browser.page_source
    browser.set_window_size(390, 844)   # the full-screen view and the tab fit a phone
    for page in (browser.current_url, f"{base}/cases/" + browser.current_url.split("/cases/")[1].split("/")[0] + "/attachments"):
        browser.get(page)
        width, window = page_width(browser)
        assert width <= window, f"{page} is {width}px wide in a {window}px window on a 390px screen"
    shot(browser, "64b-phone-attachments-tab")
    browser.set_window_size(1280, 900)

    # Each file goes on its own ahead of the message. With the upload's address cut off (the
    # browser's own request blocking), both fail and say so, on a phone; by keyboard the first is
    # retried alone once the way is open, the second removed, and the message goes with the one
    # that got through.
    case_id = browser.current_url.split("/cases/")[1].split("/")[0]
    letters = [files / "Referral letter.pdf", files / "Consent form.pdf"]
    for letter in letters:
        letter.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    browser.set_window_size(390, 844)
    browser.get(f"{base}/cases/{case_id}/talk")
    wait_for_heading(browser, "Patient Talk")
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/talk/files"]})
    try:
        field(browser, "Message to Jordan Miles").send_keys("Two letters for you.")
        field(browser, "Attach files").send_keys("\n".join(str(letter) for letter in letters))
        browser.find_element(By.CSS_SELECTOR, "form.message-form button[type='submit']").click()
        for letter in letters:
            wait_for_text(browser, f"{letter.name} could not be sent: the connection was lost. Retry it, or Remove it to send the rest.")
        assert browser.switch_to.active_element.get_attribute("aria-label") == "Retry Referral letter.pdf"
        width, window = page_width(browser)
        assert width <= window, f"the failed uploads are {width}px wide in a {window}px window on a 390px screen"
        shot(browser, "64c-phone-upload-failed")
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    ActionChains(browser).send_keys(Keys.ENTER).perform()   # Retry Referral letter.pdf
    wait_until(browser, lambda d: "Referral letter.pdf could not be sent" not in d.find_element(By.TAG_NAME, "body").text)
    assert "Consent form.pdf could not be sent" in browser.find_element(By.TAG_NAME, "body").text, "the message waits"
    assert "Message sent." not in browser.page_source
    assert browser.switch_to.active_element.get_attribute("aria-label") == "Retry Consent form.pdf"
    ActionChains(browser).send_keys(Keys.TAB, Keys.ENTER).perform()   # Remove Consent form.pdf
    wait_for_text(browser, "Message sent.")
    wait_for_text(browser, "Two letters for you.")
    assert "Referral letter.pdf" in browser.page_source and "Consent form.pdf" not in browser.page_source
    browser.set_window_size(1280, 900)
    p.get(thread_url)
    wait_for_text(p, "Two letters for you.")
    assert "Referral letter.pdf" in p.page_source and "Consent form.pdf" not in p.page_source

    # Dr. Grant, on the same case from another practice, sees no file and gets 404 on its address.
    sign_out(browser)
    open_case(browser, base, "Jordan Miles", as_email="felix.grant@northside.example")
    assert "IMG_0042" not in browser.page_source and "/files/" not in browser.page_source
    browser.find_element(By.LINK_TEXT, "Attachments").click()
    wait_for_text(browser, "No files yet.")
    assert "IMG_0042" not in browser.page_source and "Treatment plan" not in browser.page_source
    shot(browser, "65-colleague-sees-no-file")
    assert http_status(browser, file_url) == 404
    # (The answer carries the files' sandboxing policy, under which no script runs: no axe check.)
    browser.get(file_url)
    assert "IMG_0042" not in browser.page_source and "We couldn't find that page." in browser.page_source
