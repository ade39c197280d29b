"""The GitHub Actions pipeline: schema-valid, zizmor-clean, least privilege, and in step with
the Makefile. Offline: check-jsonschema uses its vendored schemas, zizmor runs `--offline`."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github"
WORKFLOWS = ("ci.yml", "deploy.yml")
SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
SELF_REPOSITORY = "$/"  # GitHub's syntax for "this repository at the running commit"
CONFIGURE_AWS = "aws-actions/configure-aws-credentials@"


def tool(name: str) -> str:
    """A console script installed next to the interpreter running the tests (the `ci` extra)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}: run `make install-dev`")
    return str(path)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


@cache
def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((GITHUB / "workflows" / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def jobs(name: str) -> dict[str, dict[str, Any]]:
    return workflow(name)["jobs"]


def steps(name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in jobs(name).items():
        for step in job.get("steps", []):
            yield job_id, step


def all_uses(name: str) -> list[str]:
    called = [job["uses"] for job in jobs(name).values() if "uses" in job]
    return called + [step["uses"] for _, step in steps(name) if "uses" in step]


def make_targets_in(script: str) -> list[str]:
    """The targets of every `make` command in a shell script (options and VAR=value skipped)."""
    targets: list[str] = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for index, word in enumerate(words):
            if word != "make":
                continue
            for arg in words[index + 1 :]:
                if arg in {"&&", "||", ";", "|"}:
                    break
                if not arg.startswith("-") and "=" not in arg:
                    targets.append(arg)
    return targets


def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9_-]*)\s*:(?!=)", text, flags=re.MULTILINE))


def deploy_job() -> dict[str, Any]:
    return jobs("deploy.yml")["deploy"]


# --- external checkers -------------------------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_matches_the_github_workflow_schema(name: str) -> None:
    result = run(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        str(GITHUB / "workflows" / name),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_config_matches_its_schema() -> None:
    result = run(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.dependabot",
        str(GITHUB / "dependabot.yml"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_reports_no_findings() -> None:
    # zizmor exits 0 without findings, 10-14 with findings (by highest severity), 1-2 on errors.
    # `.github` covers the workflows and dependabot.yml, and picks up .github/zizmor.yml if any.
    result = run(tool("zizmor"), "--offline", "--no-progress", "--color", "never", ".github")
    assert result.returncode == 0, result.stdout + result.stderr


# --- least privilege ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_token_can_only_read_contents(name: str) -> None:
    assert workflow(name)["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_only_the_deploy_job_may_request_an_oidc_token(name: str) -> None:
    for job_id, job in jobs(name).items():
        granted = job.get("permissions", {"contents": "read"})
        allowed = {"contents": "read"}
        if (name, job_id) in (("deploy.yml", "deploy"), ("deploy.yml", "plan")):
            allowed["id-token"] = "write"
        assert isinstance(granted, dict), f"{name}:{job_id} uses a blanket permission"
        assert granted.items() <= allowed.items(), f"{name}:{job_id} asks for {granted}"
    assert deploy_job()["permissions"] == {"contents": "read", "id-token": "write"}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_action_is_pinned_to_a_full_commit_sha(name: str) -> None:
    uses = all_uses(name)
    assert uses
    for ref in uses:
        assert SHA_PINNED.match(ref) or ref.startswith(SELF_REPOSITORY), ref
    # ... and says which release the SHA is, so reviews and Dependabot can follow it.
    text = (GITHUB / "workflows" / name).read_text()
    remote = [line for line in text.splitlines() if re.search(r"uses:\s*[\w.-]+/", line)]
    assert remote
    for line in remote:
        assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


@pytest.mark.parametrize("name", WORKFLOWS)
def test_checkout_does_not_leave_the_token_on_disk(name: str) -> None:
    checkouts = [s for _, s in steps(name) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False


def test_deploy_assumes_a_role_through_oidc_without_stored_keys() -> None:
    _, aws = credentials_step()
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert aws["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    long_lived = {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"}
    assert not long_lived & aws["with"].keys()


def credentials_step(job: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    return next(
        (i, s)
        for i, s in enumerate((job or deploy_job())["steps"])
        if s.get("uses", "").startswith(CONFIGURE_AWS)
    )


def test_nothing_is_installed_or_synthesised_once_credentials_exist() -> None:
    index, _ = credentials_step()
    after = [s["run"] for s in deploy_job()["steps"][index + 1 :]]

    # the image kept under its build id before the deploy (when its repository exists), diff,
    # deploy (both of the assembly synthesised before the credentials), smoke check, the push
    # of a first deploy, the in-account replay gate (only its exit code comes back), the new
    # build pre-scaled to the current one's size, the promote once the new build's workers
    # poll, and the new build handed back to autoscaling
    assert len(after) == 9
    early, diff, deploy, smoke, keep, replay, prescale, promote, release = after
    assert 'docker push "${repository}:${BUILD_ID}"' in early
    assert "diff --app cdk.out" in diff
    assert "deploy --app cdk.out" in deploy
    assert "--require-approval never" in deploy
    assert "python -m infra.smoke cdk-outputs.json" in smoke
    assert 'docker push "${repository}:${BUILD_ID}"' in keep
    assert replay.strip() == ".venv/bin/python -m infra.replay_task cdk-outputs.json"
    assert "python -m infra.prescale hold" in prescale
    assert "oms.ops.rollout current" in prescale
    assert "oms.ops.rollout wait" in promote
    assert release.strip().startswith(".venv/bin/python -m infra.prescale release")
    # a failed pre-scale or promote still gives the minimum back
    assert "always()" in deploy_job()["steps"][-1]["if"]
    assert "oms versions promote" in promote
    for script in after:
        assert make_targets_in(script) == []
        assert not re.search(r"\b(pip|npm|npx|uv|make|docker build)\b", script), script


def test_the_plan_gates_on_replay_and_installs_nothing_with_credentials() -> None:
    plan = jobs("deploy.yml")["plan"]
    index, _ = credentials_step(plan)
    before = [s.get("run", "") for s in plan["steps"][:index]]
    after = [s["run"] for s in plan["steps"][index + 1 :]]

    assert [t for script in before for t in make_targets_in(script)] == ["install"]
    gate, builds = after
    assert "python -m oms.ops.replay_gate" in gate
    assert "oms.ops.rollout live-builds" in builds
    for script in after:
        assert make_targets_in(script) == []
        assert not re.search(r"\b(pip|npm|npx|uv|make|docker build)\b", script), script
    assert "plan" in deploy_job()["needs"]
    assert deploy_job()["env"]["WORKER_BUILDS"] == "${{ needs.plan.outputs.builds }}"


def test_the_synth_and_the_image_build_run_before_the_credentials() -> None:
    index, _ = credentials_step()
    before = [s.get("run", "") for s in deploy_job()["steps"][:index]]

    assert [t for script in before for t in make_targets_in(script)] == ["synth"]
    assert any("docker build --platform linux/arm64" in script for script in before)


def test_deploy_passes_every_stack_setting_from_environment_variables() -> None:
    env = deploy_job()["env"]
    (synth,) = [s["run"] for s in deploy_job()["steps"] if "make synth" in s.get("run", "")]

    context_keys = set(re.findall(r'-c "(\w+)=\$\{(\w+)\}"', synth))

    assert {k for k, _ in context_keys} >= {
        "stage",
        "temporalAddress",
        "temporalNamespace",
        "temporalSecret",
        "senderEmail",
        "alarmEmail",
        "senderDomain",
        "sesTestRecipients",
    }
    for _, variable in context_keys - {("workerBuilds", "WORKER_BUILDS")}:
        assert env[variable].startswith("${{ vars."), variable
    # The required ones stop the job with a message naming the variable when unset.
    for variable in ("TEMPORAL_SECRET_ARN", "ALARM_EMAIL", "SENDER_EMAIL"):
        assert f'"${{{variable}:?set the {variable} variable' in synth


def test_deploy_builds_on_arm64_and_compiles_the_starter_with_python_313() -> None:
    assert deploy_job()["runs-on"] == "ubuntu-24.04-arm"
    python = next(s for s in deploy_job()["steps"] if "setup-python" in s.get("uses", ""))
    assert python["with"]["python-version"].split() == ["3.13", "3.11"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_no_secret_is_put_into_an_environment(name: str) -> None:
    scopes = [workflow(name), *jobs(name).values(), *(step for _, step in steps(name))]
    for scope in scopes:
        for key, value in (scope.get("env") or {}).items():
            assert "secrets." not in str(value), f"{name}: env {key} = {value}"


def test_deploy_references_no_secrets_at_all() -> None:
    # OIDC needs none; `secrets: inherit` on the CI call would hand all of them over.
    text = (GITHUB / "workflows" / "deploy.yml").read_text()
    assert not re.search(r"secrets\s*[.:]", text)


# --- concurrency, triggers, ordering -----------------------------------------------------------


def test_ci_cancels_runs_made_obsolete_by_a_newer_push_to_the_same_ref() -> None:
    concurrency = workflow("ci.yml")["concurrency"]
    assert "github.ref" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True


def test_plan_and_deploy_run_under_one_lock_that_is_never_cancelled() -> None:
    """Issue 20: with the plan outside the lock, a later run computed the live builds before an
    earlier run promoted its build, then deleted that build's service. The lock is the run's."""
    assert workflow("deploy.yml")["concurrency"] == {
        "group": "deploy-production",
        "cancel-in-progress": False,
    }
    for name, job in jobs("deploy.yml").items():
        assert "concurrency" not in job, f"{name} has a lock of its own"


def test_the_live_builds_include_the_services_the_stack_runs() -> None:
    plan = jobs("deploy.yml")["plan"]
    (builds,) = [s["run"] for s in plan["steps"] if "live-builds" in s.get("run", "")]
    assert "OutputKey=='WorkerBuilds'" in builds
    assert '--existing "${existing}"' in builds


def test_the_image_is_pushed_before_the_deploy_and_promoted_after_it() -> None:
    steps = [s.get("run", "") for s in deploy_job()["steps"]]
    pushes = [i for i, run in enumerate(steps) if "docker push" in run]
    deploy = next(i for i, run in enumerate(steps) if "deploy --app cdk.out" in run)
    promote = next(i for i, run in enumerate(steps) if "oms versions promote" in run)
    assert pushes[0] < deploy < promote


def test_ci_runs_on_every_push_and_pull_request_and_can_be_called() -> None:
    assert {"push", "pull_request", "workflow_call"} <= workflow("ci.yml")["on"].keys()


def test_deploy_runs_on_main_or_by_hand_only() -> None:
    on = workflow("deploy.yml")["on"]
    assert on.keys() == {"push", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}
    assert deploy_job()["if"] == "github.ref == 'refs/heads/main'"


def test_deploy_runs_only_after_ci_passes_for_the_same_commit() -> None:
    needs = deploy_job()["needs"]
    needs = [needs] if isinstance(needs, str) else needs
    called = {jobs("deploy.yml")[job_id].get("uses") for job_id in needs}
    assert "$/.github/workflows/ci.yml" in called
    assert deploy_job()["environment"] == "production"


# --- the pipeline is the Makefile --------------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_make_target_the_pipeline_runs_exists(name: str) -> None:
    invoked = [t for _, step in steps(name) for t in make_targets_in(step.get("run", ""))]
    assert invoked
    assert set(invoked) <= makefile_targets(), set(invoked) - makefile_targets()


def test_ci_runs_the_commands_people_run() -> None:
    invoked = [t for _, step in steps("ci.yml") for t in make_targets_in(step.get("run", ""))]
    assert {"lint", "typecheck", "test", "synth"} <= set(invoked)


def test_make_target_parser_skips_options_and_variables() -> None:
    script = 'make -j2 deploy CDK_ARGS="-c a=b" && make lint\necho make-believe # make test'
    assert make_targets_in(script) == ["deploy", "lint"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_job_on_a_runner_has_a_timeout(name: str) -> None:
    for job_id, job in jobs(name).items():
        if "runs-on" in job:
            assert 0 < job["timeout-minutes"] <= 60, job_id


def test_ci_uses_python_311_and_node_22_with_dependency_caches() -> None:
    by_action = {s["uses"].split("@")[0]: s["with"] for _, s in steps("ci.yml") if "uses" in s}
    python, node = by_action["actions/setup-python"], by_action["actions/setup-node"]
    # The last version listed is the default `python`; 3.13 is the Lambda runtime's.
    assert (python["python-version"].split(), python["cache"]) == (["3.13", "3.11"], "pip")
    assert python["cache-dependency-path"] == "pyproject.toml"
    assert (node["node-version"], node["cache"]) == ("22", "npm")
    assert node["cache-dependency-path"] == "package-lock.json"
