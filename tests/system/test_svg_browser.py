"""The flamegraph in a real browser (Debian's chromium driven by selenium): click to
zoom, Reset Zoom, search with the right Matched percentage, names as text."""
import os
import shutil
import subprocess

import pytest

from conftest import PROGRAMS, agent_env, frame_function, parse_folded, pyenv_python

webdriver = pytest.importorskip("selenium.webdriver", reason="python3-selenium is not installed")


def chromium_paths():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not browser or not driver:
        pytest.skip("chromium and chromium-driver are not installed")
    return browser, driver


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    out = tmp_path_factory.mktemp("svg")
    python = pyenv_python(11) or "/usr/bin/python3.11"
    for prog in ("shares.py", "names.py"):
        label = prog.split(".")[0]
        r = subprocess.run([python, PROGRAMS / prog, *(["2"] if prog == "shares.py" else [])],
                           capture_output=True, text=True, timeout=60,
                           env=agent_env(out, FIL_PERF_RUN_LABEL=label, FIL_PERF_SPY_QUIET=1))
        assert r.returncode == 0, r.stderr
    return out


def start_chromium(tmp_dir, *args):
    """Headless chromium with args; its temporary files (a profile, sockets) go into
    tmp_dir, not /tmp, where it leaves org.chromium.* directories behind."""
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    binary, driver_path = chromium_paths()
    options = Options()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_dir / 'profile'}", *args):
        options.add_argument(arg)
    env = {**os.environ, "TMPDIR": str(tmp_dir)}
    return webdriver.Chrome(service=Service(driver_path, env=env), options=options)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium"), "--window-size=1300,900")
    yield driver
    driver.quit()


def frame_named(driver, prefix):
    return driver.execute_script(
        "var gs = document.querySelectorAll('g.frame');"
        "for (var i = 0; i < gs.length; i++)"
        "  if (gs[i].getAttribute('data-name').indexOf(arguments[0]) === 0) return gs[i];"
        "return null;", prefix)


def width_of(driver, g):
    return float(driver.execute_script("return arguments[0].querySelector('rect').getAttribute('width');", g))


def test_click_zooms_and_reset_restores(browser, profile):
    browser.get((profile / "shares-pyspy.svg").as_uri())
    work_b = frame_named(browser, "work_b")
    assert work_b is not None
    before = width_of(browser, work_b)
    assert 100 < before < 1000
    work_b.click()
    assert width_of(browser, work_b) == pytest.approx(1180, abs=1)
    work_a = frame_named(browser, "work_a")
    assert "hide" in work_a.get_attribute("class")
    caller = browser.execute_script(
        "var t = arguments[0], gs = document.querySelectorAll('g.frame');"
        "for (var i = 0; i < gs.length; i++) { var g = gs[i];"
        "  if (+g.getAttribute('data-d') === +t.getAttribute('data-d') - 1 &&"
        "      +g.getAttribute('data-x') <= +t.getAttribute('data-x') &&"
        "      +g.getAttribute('data-x') + +g.getAttribute('data-w') >="
        "      +t.getAttribute('data-x') + +t.getAttribute('data-w')) return g; }", work_b)
    assert caller.get_attribute("data-name").startswith("main (")
    assert "parent" in caller.get_attribute("class")
    assert width_of(browser, caller) == pytest.approx(1180, abs=1)
    assert "x=" in browser.execute_script("return location.search;")
    reset = browser.find_element("id", "reset")
    assert "hide" not in reset.get_attribute("class")
    reset.click()
    assert width_of(browser, work_b) == pytest.approx(before, abs=0.2)
    assert "hide" not in work_a.get_attribute("class")


def test_search_highlights_and_shows_matched_percentage(browser, profile):
    browser.get((profile / "shares-pyspy.svg").as_uri())
    stacks = parse_folded((profile / "shares-pyspy.txt").read_text())
    total = sum(stacks.values())
    with_c = sum(n for s, n in stacks.items() if any(frame_function(f) == "work_c" for f in s))
    browser.find_element("id", "search").click()
    alert = browser.switch_to.alert
    alert.send_keys("^work_c")
    alert.accept()
    matched = browser.find_element("id", "matched").text
    assert matched == f"Matched: {100 * with_c / total:.1f}%"
    highlighted = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('rect.matched'),"
        " function (r) { return r.parentNode.getAttribute('data-name'); });")
    assert highlighted and all(h.startswith("work_c") for h in highlighted)
    # a broader pattern matching nested frames counts each sample once
    browser.find_element("id", "search").click()  # clears
    browser.find_element("id", "search").click()
    alert = browser.switch_to.alert
    # anchored: a start-up frame whose file path holds "work" (a checkout under
    # /work, say) must not count, as it does not in the raw count below
    alert.send_keys("^(work_[abc]|burn) ")
    alert.accept()
    with_any = sum(n for s, n in stacks.items()
                   if any(frame_function(f) in ("work_a", "work_b", "work_c", "burn") for f in s))
    assert browser.find_element("id", "matched").text == f"Matched: {100 * with_any / total:.1f}%"


def test_python_names_render_as_text(browser, profile):
    browser.get((profile / "names-pyspy.svg").as_uri())
    titles = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('g.frame title'),"
        " function (t) { return t.textContent; });")
    assert any(t.startswith("<module> (names.py:") for t in titles)
    assert any(t.startswith("<lambda> (names.py:") for t in titles)
    assert any(t.startswith("函数_二 (names.py:") for t in titles)
    labels = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('g.frame text'),"
        " function (t) { return t.textContent; });")
    assert any(label.startswith("<module>") for label in labels)


@pytest.fixture(scope="module")
def screen(tmp_path_factory):
    """A 1400x900 browser: what a user sees of the SVG before scrolling."""
    driver = start_chromium(tmp_path_factory.mktemp("chromium"), "--window-size=1400,900",
                            "--hide-scrollbars")
    # the window's frame takes some of its height: make the page's viewport the size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.quit()


def png_size(png):
    import struct
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.mark.parametrize("raw_imports", [False, True], ids=["imports-collapsed", "imports-raw"])
def test_program_frames_are_in_the_first_screenful_despite_a_pth_import(raw_imports, screen,
                                                                       tmp_path):
    from test_views import import_tower
    python = pyenv_python(11)
    if not python:
        pytest.skip("pyenv CPython 3.11 is not installed")
    out = tmp_path / "out"
    r = subprocess.run([python, PROGRAMS / "after_imports.py"], capture_output=True, text=True,
                       timeout=60, env=agent_env(out, PYTHONUSERBASE=import_tower(tmp_path, python),
                                                 FIL_PERF_SPY_QUIET=1,
                                                 FIL_PERF_SPY_RAW_IMPORTS=int(raw_imports)))
    assert r.returncode == 0, r.stderr
    screen.get((out / "x-pyspy.svg").as_uri())
    width, height = png_size(screen.get_screenshot_as_png())
    inner = screen.execute_script("return [window.innerWidth, window.innerHeight];")
    assert (width, height) == tuple(inner) == (1400, 900), (width, height, inner)
    work = frame_named(screen, "work (")
    assert work is not None
    box = screen.execute_script("var b = arguments[0].querySelector('rect')"
                                ".getBoundingClientRect(); return [b.top, b.bottom];", work)
    if raw_imports:
        # the ~60-frame machinery tower pushes the program below the fold: what the
        # collapse is for
        assert box[0] > height, box
    else:
        assert 0 <= box[0] and box[1] <= height, (box, height)
