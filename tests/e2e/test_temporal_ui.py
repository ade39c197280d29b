"""The Temporal UI in a real browser (headless Chromium from the OS packages), as a person
opens it from `oms dev`'s ready panel: the workflow list tells each order's outcome without a
click (failed, cancelled and needs-attention apart from completed), and an order's page shows
its input decoded through the codec server (the stored history is encrypted).

Screenshots are kept in $OMS_UI_SCREENSHOTS when set (CI artifacts), else in the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from oms.local.demo_orders import order_body

from .dev_process import DevProcess

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def browser(*args: str, url: str) -> str:
    result = subprocess.run(
        [CHROMIUM or "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
         "--window-size=1600,1000", "--virtual-time-budget=20000", *args, url],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


def rows(dom: str) -> dict[str, str]:
    """Workflow id -> the text of its row in the workflow list."""
    found = {}
    for row in re.findall(r"<tr\b.*?</tr>", dom, flags=re.DOTALL):
        text = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        match = re.search(r"\b((?:order|return)-[A-Za-z0-9._-]+)", text)
        if match:
            found[match.group(1)] = text
    return found


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OMS_UI_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_ui_list_tells_outcomes_apart_and_the_detail_page_is_decoded(
    tmp_path: Path, screenshots: Path
) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium: .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("no chromium (apt-get install -y chromium)")
    # A short attention window: an order whose email keeps failing needs attention in seconds.
    dev = DevProcess(tmp_path, env={"OMS_ATTENTION_AFTER_SECONDS": "3"})
    try:
        dev.wait_for("Ctrl-C stops everything")  # the demo orders have their outcomes
        demo = re.search(r"oms status (DEMO-[A-Z0-9]+)-HAPPY", "".join(dev.lines))
        assert demo, "".join(dev.lines)[-2000:]
        run = demo.group(1)

        # Given an order whose email cannot be sent (SES down): it needs attention
        assert dev.oms("faults", "set", "ses", "--for", "120").returncode == 0
        (tmp_path / "attn.json").write_text(json.dumps(order_body("UI-ATTN-1", customer=9)))
        assert dev.oms("submit", "attn.json").returncode == 0
        deadline = time.monotonic() + 90
        while True:
            status = json.loads(dev.oms("status", "UI-ATTN-1", "--json").stdout or "{}")
            if status.get("attention"):
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        # and `oms status` says what it is still doing
        assert status["state"] == "COMPLETED"
        assert re.fullmatch(r"emailing \(attempt \d+\)", status["finishing"]), status
        listed = {}
        while listed.get("UI-ATTN-1") != "NEEDS_ATTENTION":  # visibility lags a moment
            assert time.monotonic() < deadline
            answer = dev.oms("list", "--json").stdout
            listed = {row["orderId"]: row["state"] for row in json.loads(answer)}
            time.sleep(0.3)

        # When a person opens the UI's workflow list (a fresh browser profile)
        workflows = f"{dev.ui_url}/namespaces/default/workflows"
        browser(f"--screenshot={screenshots / 'ui-workflow-list.png'}", url=workflows)
        found = rows(browser("--dump-dom", url=workflows))

        # Then every order's row shows its outcome, though every workflow completed alike
        expected = {
            f"order-{run}-HAPPY": "COMPLETED",
            f"order-{run}-CANCELLED": "CANCELLED",
            f"order-{run}-OUT-OF-STOCK": "FAILED",
            f"order-{run}-DECLINED": "FAILED",
            "order-UI-ATTN-1": "NEEDS_ATTENTION",
        }
        for workflow_id, outcome in expected.items():
            assert workflow_id in found, sorted(found)
            assert re.search(rf"\b{outcome}\b", found[workflow_id]), found[workflow_id]
        assert "FAILED" not in found[f"order-{run}-HAPPY"]
        assert (screenshots / "ui-workflow-list.png").stat().st_size > 10_000

        # And an order's page shows its input decoded by the codec server
        page = f"{workflows}/order-{run}-DECLINED"
        browser(f"--screenshot={screenshots / 'ui-order-detail.png'}", url=page)
        detail = browser("--dump-dom", url=page)
        declined = order_body("x", customer=4)["customer"]  # the demo's 4th order's customer
        assert declined["email"] in detail
        assert declined["name"] in detail
    finally:
        dev.oms("faults", "clear")
        code, _, alive = dev.stop_with(signal.SIGINT)
    assert code == 130
    assert not alive
