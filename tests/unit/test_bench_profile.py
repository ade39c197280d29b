"""bench.profile folds py-spy's raw stacks into self time by package and by function."""

from __future__ import annotations

from bench.profile import fold, package_of

SITE = "/w/.venv/lib/python3.11/site-packages"


def test_frames_are_attributed_to_their_package() -> None:
    assert package_of(f"{SITE}/temporalio/worker/_workflow.py") == "temporalio"
    assert package_of(f"{SITE}/six.py") == "six"
    assert package_of("/w/service/oms/orders/ledger.py") == "oms.orders"
    assert package_of("/w/service/oms/worker.py") == "oms.worker"
    assert package_of("/usr/lib/python3.11/json/decoder.py") == "stdlib:json"
    assert package_of("/usr/lib/python3.11/threading.py") == "stdlib:threading"


def test_self_samples_are_counted_at_the_leaf() -> None:
    raw = "\n".join(
        [
            f"run (/w/service/oms/worker.py:10);send ({SITE}/botocore/endpoint.py:99) 3",
            f"run (/w/service/oms/worker.py:10);dumps ({SITE}/pydantic/main.py:5) 1",
            "run (/w/service/oms/worker.py:10) 4",
            "garbage line",
        ]
    )

    folded = fold(raw)

    assert folded["samples"] == 8
    assert [(p["name"], p["percent"]) for p in folded["packages"]] == [
        ("oms.worker", 50.0),
        ("botocore", 37.5),
        ("pydantic", 12.5),
    ]
    assert folded["functions"][1]["name"] == "botocore: send"
