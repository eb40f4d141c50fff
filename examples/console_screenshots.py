"""Screenshots of the web console for the README, taken in the same headless Chromium
as the tests (Debian chromium + chromium-driver, driven by selenium).

    python examples/console_screenshots.py [--output docs/screenshots]

Prints the bundled example films (examples/print_examples.py) to a printer
run by ``print-scp serve --web``, then saves ``gallery.png``, ``inspector.png``
(with a densitometer reading) and ``printer.png``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

from print_examples import FILMS, print_film

from print_scp.launcher import free_port, start_print_scp
from print_scu.address import PrinterAddress

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from browser import browser_problem, chromium  # noqa: E402

RENDER_TIMEOUT_S = 120.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE.parent / "docs" / "screenshots")
    args = parser.parse_args(argv)
    problem = browser_problem()
    if problem is not None:
        print(f"console_screenshots: {problem}", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="filmbox-screenshots-") as directory:
        films = Path(directory) / "films"
        port, web_port = free_port(), free_port()
        log = (Path(directory) / "print-scp.log").open("w")
        printer = start_print_scp(films, port, "--web", f"127.0.0.1:{web_port}", log=log)
        try:
            address = PrinterAddress("127.0.0.1", port, "FILMBOX", calling_ae="CT_ROOM_1")
            for film in FILMS:
                print_film(address, film)
            deadline = time.monotonic() + RENDER_TIMEOUT_S
            while len(list(films.glob("*-01.json"))) < len(FILMS):
                if time.monotonic() > deadline:
                    raise RuntimeError("films not rendered in time")
                time.sleep(0.2)
            time.sleep(3)  # the console's index picks them up
            base = f"http://127.0.0.1:{web_port}"
            with chromium(1400, 1000) as driver:
                driver.get(base + "/")
                time.sleep(1.5)
                driver.save_screenshot(str(args.output / "gallery.png"))
                annotated = next(p.stem for p in sorted(films.glob("*-01.json"))
                                 if re.search(r'"text": "\S', p.read_text()))
                driver.get(f"{base}/films/{annotated}")
                time.sleep(1.0)
                from selenium.webdriver.common.action_chains import ActionChains
                image = driver.find_element("id", "film-image")
                ActionChains(driver).move_to_element_with_offset(image, -40, -60).perform()
                time.sleep(1.0)
                driver.save_screenshot(str(args.output / "inspector.png"))
                driver.get(base + "/printer")
                time.sleep(0.5)
                driver.save_screenshot(str(args.output / "printer.png"))
        finally:
            printer.terminate()
            printer.wait(timeout=30)
            log.close()
    for name in ("gallery", "inspector", "printer"):
        print(args.output / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
