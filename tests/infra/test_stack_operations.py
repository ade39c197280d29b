"""Operations: alarms that reach a person and say what to do, backlog scaling, the dashboard,
the backlog publisher, metrics switched on (CONTRACT.md §10)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra.components.scaling import PUBLISHER_HANDLER
from tests.infra.conftest import PROJECT_DIR, Synth

RUNBOOK = PROJECT_DIR / "docs" / "RUNBOOK.md"


def notifying_alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    scaling = set(synth.of_type("AWS::ApplicationAutoScaling::ScalingPolicy"))
    return {
        k: a["Properties"]
        for k, a in synth.of_type("AWS::CloudWatch::Alarm").items()
        if not any(action.get("Ref") in scaling for action in a["Properties"]["AlarmActions"])
    }


def metric_names(alarm: dict[str, Any]) -> set[str]:
    """The metrics an alarm watches, directly or in its metric math."""
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {
        query["MetricStat"]["Metric"]["MetricName"]
        for query in alarm.get("Metrics", [])
        if "MetricStat" in query
    }


def test_an_alarm_watches_each_thing_that_needs_a_person(synth: Synth) -> None:
    watched = set().union(*(metric_names(a) for a in notifying_alarms(synth).values()))

    assert watched >= {
        "ApproximateNumberOfMessagesVisible",  # DLQ depth
        "ApproximateAgeOfOldestMessage",  # intake age
        "Errors",  # starter invocations
        "StartFailures",  # starter records (partial batch failures)
        "Throttles",  # Lambda
        "BacklogAgeSeconds",
        "temporal_workflow_task_schedule_to_start_latency",
        "Pollers",  # no worker polling
        "temporal_workflow_task_execution_failed",
        "temporal_workflow_failed",  # a bug failed a workflow (issue 19's last guard)
        "OrdersNeedingAttention",
        "RunningTaskCount",
        "ReadThrottleEvents",  # DynamoDB
        "WriteThrottleEvents",
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
        "TemporalReachable",  # reachability: an alarm, not the health check (issue 20)
    }


def test_no_worker_polling_fires_when_the_publisher_goes_silent_too(synth: Synth) -> None:
    (alarm,) = [a for a in notifying_alarms(synth).values() if metric_names(a) == {"Pollers"}]

    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, spaces to hyphens, punctuation dropped."""
    headings = re.findall(r"^#{2,4} (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_each_alarm_says_what_to_do_and_its_runbook_section_exists(synth: Synth) -> None:
    sections = anchors(RUNBOOK.read_text())

    for logical_id, alarm in notifying_alarms(synth).items():
        description = alarm["AlarmDescription"]
        match = re.search(r"docs/RUNBOOK\.md#([a-z0-9-]+)$", description)
        assert match, f"{logical_id}: no runbook link in {description!r}"
        assert match.group(1) in sections, f"{logical_id}: no section #{match.group(1)}"
        assert len(description) > len(match.group(0)) + 40, f"{logical_id}: says too little"


def test_workers_scale_out_on_backlog_per_worker_unless_rate_limited(synth: Synth) -> None:
    policies = {
        k: p["Properties"]
        for k, p in synth.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if p["Properties"]["PolicyType"] == "StepScaling"
    }
    alarms = {
        action["Ref"]: alarm["Properties"]
        for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()
        for action in alarm["Properties"]["AlarmActions"]
        if action.get("Ref") in policies
    }

    assert len(policies) == 2  # out and in
    for policy_id, alarm in alarms.items():
        assert "BacklogCount" in metric_names(alarm)
        expression = next(q["Expression"] for q in alarm["Metrics"] if "Expression" in q)
        steps = policies[policy_id]["StepScalingPolicyConfiguration"]["StepAdjustments"]
        if any(step["ScalingAdjustment"] > 0 for step in steps):
            # The guard: while Temporal rate-limits the namespace, or the task queue's
            # dispatch rate limit is active, the signal reads 0.
            assert {"NamespaceRateLimited", "DispatchRateLimited", "StartThrottled"} <= (
                metric_names(alarm)
            )
            assert expression.startswith(
                "IF(FILL(limited, 0) + FILL(dispatch, 0) + FILL(throttled, 0) > 0, 0,"
            )
        else:
            # Scale-in: one task at a time (each drains on SIGTERM), never while CPU is busy.
            assert [s["ScalingAdjustment"] for s in steps] == [-1]
            assert "CPUUtilization" in metric_names(alarm)
            # ... nor when one task fewer would carry more CPU than the workers' CPU target.
            assert "FILL(cpu, 0) * IF(FILL(running, 1) < 1, 1, FILL(running, 1))" in expression
            assert policies[policy_id]["StepScalingPolicyConfiguration"]["Cooldown"] >= 300


def test_the_backlog_publisher_runs_every_minute_with_the_temporal_secret(synth: Synth) -> None:
    (function_id,) = [
        k
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == PUBLISHER_HANDLER
    ]
    _, rule = synth.one("AWS::Events::Rule")
    function = synth.resources[function_id]["Properties"]

    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert function["Environment"]["Variables"]["OMS_METRICS"] == "emf"
    assert "OMS_TEMPORAL_SECRET_ARN" in function["Environment"]["Variables"]


def test_workers_and_starter_write_their_metrics(synth: Synth) -> None:
    _, task = synth.worker_task()
    _, starter = synth.starter()

    (container,) = task["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["OMS_METRICS"] == "emf"
    assert starter["Environment"]["Variables"]["OMS_METRICS"] == "emf"


def test_the_dashboard_follows_orders_backlog_errors_and_emails(synth: Synth) -> None:
    _, dashboard = synth.one("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["DashboardBody"])

    for title in (
        "Orders end to end",
        "Failed orders by reason",
        "Orders needing attention",
        "Backlog",
        "Scaling signal",
        "Workers",
        "Starter",
        "Temporal tasks",
        "DynamoDB throttles",
        "Emails",
        "SES reputation",
    ):
        assert title in body, title
    assert "alarm" in body  # the alarm status widget


def test_runbook_explains_how_to_run_the_doctor_on_a_schedule() -> None:
    text = Path(RUNBOOK).read_text()

    assert "oms doctor" in text
    assert "temporal schedule create" in text or "EventBridge" in text
