"""The parcel plan: fewest parcels first, whole lines where possible, main first on ties."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.parcels.plan import NoPlanError, PlannedParcel, plan_parcels


def test_an_order_main_can_serve_is_one_parcel_from_main() -> None:
    stock = {"main": {"MUG": 5, "TEE": 1}, "north": {"MUG": 9, "TEE": 9}}
    assert plan_parcels({"MUG": 2, "TEE": 1}, stock) == [
        PlannedParcel(1, "main", {"MUG": 2, "TEE": 1})
    ]


def test_one_other_warehouse_beats_two_parcels() -> None:
    stock = {"main": {"MUG": 5}, "north": {"MUG": 2, "TEE": 1}, "south": {"TEE": 1}}
    assert plan_parcels({"MUG": 2, "TEE": 1}, stock) == [
        PlannedParcel(1, "north", {"MUG": 2, "TEE": 1})
    ]


def test_lines_from_two_warehouses_leave_as_two_parcels() -> None:
    stock = {"main": {"MUG": 5}, "north": {"TEE": 3}}
    assert plan_parcels({"MUG": 2, "TEE": 1}, stock) == [
        PlannedParcel(1, "main", {"MUG": 2}),
        PlannedParcel(2, "north", {"TEE": 1}),
    ]


def test_ties_go_to_main_then_by_name() -> None:
    stock = {"zeta": {"TEE": 1}, "alpha": {"TEE": 1}, "main": {"MUG": 1}}
    assert [p.warehouse for p in plan_parcels({"MUG": 1, "TEE": 1}, stock)] == ["main", "alpha"]


def test_a_line_no_warehouse_holds_whole_is_split_largest_first() -> None:
    stock = {"main": {"MUG": 2}, "north": {"MUG": 3}}
    assert plan_parcels({"MUG": 4}, stock) == [
        PlannedParcel(1, "main", {"MUG": 1}),
        PlannedParcel(2, "north", {"MUG": 3}),
    ]


def test_too_few_units_anywhere_names_the_short_skus() -> None:
    with pytest.raises(NoPlanError) as raised:
        plan_parcels({"MUG": 3, "TEE": 1, "CAP": 1}, {"main": {"MUG": 2, "CAP": 1}})
    assert raised.value.short == ["MUG", "TEE"]


def test_the_greedy_answer_is_not_taken_when_fewer_parcels_exist() -> None:
    # Greedy by lines covered picks "big" (3 lines) and then needs two more; {a, b} is two.
    stock = {
        "big": {"S1": 1, "S2": 1, "S3": 1},
        "a": {"S1": 1, "S2": 1, "S4": 1},
        "b": {"S3": 1, "S5": 1},
    }
    parcels = plan_parcels({"S1": 1, "S2": 1, "S3": 1, "S4": 1, "S5": 1}, stock)
    assert [p.warehouse for p in parcels] == ["a", "b"]


WAREHOUSES = ["main", "north", "south", "east"]
SKUS = ["A", "B", "C", "D"]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(WAREHOUSES),
        st.dictionaries(st.sampled_from(SKUS), st.integers(0, 5)),
        min_size=1,
    ),
    st.dictionaries(st.sampled_from(SKUS), st.integers(1, 6), min_size=1),
)
def test_a_plan_takes_exactly_the_lines_within_stock_in_fewest_parcels(
    stock: dict[str, dict[str, int]], lines: dict[str, int]
) -> None:
    short = sorted(s for s, q in lines.items() if sum(w.get(s, 0) for w in stock.values()) < q)
    if short:
        with pytest.raises(NoPlanError) as raised:
            plan_parcels(lines, stock)
        assert raised.value.short == short
        return
    parcels = plan_parcels(lines, stock)
    taken: dict[str, int] = {}
    for parcel in parcels:
        assert parcel.lines
        for sku, q in parcel.lines.items():
            assert 0 < q <= stock[parcel.warehouse].get(sku, 0)
            taken[sku] = taken.get(sku, 0) + q
    assert taken == lines
    assert [p.number for p in parcels] == list(range(1, len(parcels) + 1))
    assert len({p.warehouse for p in parcels}) == len(parcels)
    # No smaller set of warehouses holds every line.
    for size in range(1, len(parcels)):
        for chosen in combinations(stock, size):
            assert any(sum(stock[w].get(s, 0) for w in chosen) < q for s, q in lines.items())
