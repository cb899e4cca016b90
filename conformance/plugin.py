"""The pytest plugin behind ``tinykube conformance``: endpoint options, fixtures, markers, summary.

Use it directly with ``pytest -p conformance.plugin --cri-endpoint unix:///run/x.sock
--rootdir <conformance/checks> -o asyncio_mode=auto <conformance/checks>``; the runner does exactly this.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest
import pytest_asyncio

from conformance import images, policy
from conformance.capabilities import Capabilities, describe, probe
from conformance.deviation import Deviation
from conformance.summary import Tally
from conformance.workspace import Workspace, sweep
from cri.client import CRIClient
from cri.errors import CRIError

STATE_KEY = pytest.StashKey["SuiteState"]()
UNSERVED_KEY = pytest.StashKey[str]()
DEVIATION_KEY = pytest.StashKey[Deviation]()


class SuiteState:
    """Per pytest session: where the runtime is, what it can do, what existed before the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.endpoint: str = config.getoption("cri_endpoint") or ""
        self.image_endpoint: str | None = config.getoption("cri_image_endpoint")
        self.run_id: str = config.getoption("cri_run_id") or uuid.uuid4().hex[:12]
        self.timeout: float = config.getoption("cri_timeout")
        self.caps: Capabilities | None = None
        self.images_before: set[str] = set()
        self.missing_images: list[str] = []
        self.tally = Tally()
        self.is_worker = hasattr(config, "workerinput")
        self.profile = _profile(config)
        self.whole_suite = not (config.getoption("cri_focus") or config.getoption("cri_skip"))

    async def connect(self) -> CRIClient:
        return await CRIClient.connect(
            self.endpoint, image_endpoint=self.image_endpoint, timeout=self.timeout
        )


def _profile(config: pytest.Config) -> policy.Profile | None:
    name, required = config.getoption("cri_profile"), config.getoption("cri_require_capabilities")
    if name and required is not None:
        raise pytest.UsageError("--cri-profile and --cri-require-capabilities exclude each other")
    if name:
        if name not in policy.PROFILES:
            raise pytest.UsageError(f"unknown profile {name!r}; known: {', '.join(sorted(policy.PROFILES))}")
        return policy.PROFILES[name]
    if required is None:
        return None
    try:
        return policy.requiring(frozenset(filter(None, required.split(","))))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "CRI conformance suite")
    group.addoption("--cri-endpoint", help="CRI endpoint: unix:///path or tcp://host:port")
    group.addoption("--cri-image-endpoint", default=None, help="image service endpoint (default: runtime's)")
    group.addoption("--cri-focus", default=None, help="run only checks whose id matches this regex")
    group.addoption("--cri-skip", default=None, help="skip checks whose id matches this regex")
    group.addoption("--cri-run-id", default=None, help="label value marking what this run creates")
    group.addoption("--cri-timeout", type=float, default=60.0, help="per-RPC timeout in seconds")
    group.addoption("--cri-profile", default=None, help="the known runtime's profile (conformance.policy)")
    group.addoption(
        "--cri-require-capabilities", default=None, help="comma-separated capabilities the runtime must have"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a check of the CRI conformance suite")
    config.addinivalue_line("markers", "needs(*capabilities): the check needs these runtime capabilities")
    config.addinivalue_line(
        "markers",
        "deviation(runtime, version, *, reason, raises, match, intermittent=False): a known deviation of"
        " that runtime version, pinned to the error it causes (conformance.deviation)",
    )
    state = SuiteState(config)
    config.stash[STATE_KEY] = state
    config.pluginmanager.register(_Recorder(state.tally), "conformance-recorder")
    if hasattr(config, "workerinput"):
        return
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(state.run_id), "conformance-xdist")


class _XdistHooks:
    """Hands the controller's run id to every worker, so the final sweep finds what they created."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["cri_run_id"] = self.run_id


def pytest_sessionstart(session: pytest.Session) -> None:
    state = session.config.stash[STATE_KEY]
    if not state.endpoint:
        raise pytest.UsageError("the conformance suite needs --cri-endpoint")
    worker_input = getattr(session.config, "workerinput", None)
    if worker_input:
        state.run_id = worker_input.get("cri_run_id", state.run_id)
    asyncio.run(_start(state))


async def _start(state: SuiteState) -> None:
    async with await state.connect() as cri:
        if not state.is_worker:
            state.images_before = {image.id for image in await cri.list_images()}
        try:
            state.caps = await probe(cri, run_id=state.run_id)
        except CRIError as exc:
            raise pytest.UsageError(
                f"cannot run a probe pod on {state.endpoint}: {type(exc).__name__}: {exc.message}\n"
                f"{images.mirror_instructions('127.0.0.1:5000')}"
            ) from None
        if state.caps.registry and not state.is_worker:
            state.missing_images = await _unpullable(cri)


async def _unpullable(cri: CRIClient) -> list[str]:
    """Test images the runtime can neither find nor pull: checks using them will fail."""
    missing = []
    for reference in images.ALL:
        if (await cri.image_status(reference)).image is not None:
            continue
        try:
            await cri.pull_image(reference, timeout=120)
        except CRIError:
            missing.append(reference)
    return missing


def pytest_report_header(config: pytest.Config) -> str:
    state = config.stash[STATE_KEY]
    caps = state.caps
    header = f"CRI endpoint {state.endpoint} (run {state.run_id}): {describe(caps) if caps else 'not probed'}"
    if state.missing_images:
        header += (
            f"\nWARNING: cannot pull {', '.join(state.missing_images)}: checks using them fail."
            "\nSeed them (tinykube images seed --registry 127.0.0.1:5000) and point the runtime's"
            " mirrors there:\n" + images.mirror_instructions("127.0.0.1:5000")
        )
    return header


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[STATE_KEY]
    focus, skip = config.getoption("cri_focus"), config.getoption("cri_skip")
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        wanted = (not focus or re.search(focus, item.nodeid)) and not (skip and re.search(skip, item.nodeid))
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    if state.caps is not None:
        for item in items:
            _apply_markers(item, state.caps, state.profile)


def _apply_markers(item: pytest.Item, caps: Capabilities, profile: policy.Profile | None) -> None:
    """A check needing what the runtime lacks skips, unless the profile requires it: then it fails."""
    for mark in item.iter_markers("needs"):
        missing = [name for name in mark.args if not caps.has(name)]
        required = [name for name in missing if profile is not None and name in profile.required]
        if profile is not None and required:
            item.stash[UNSERVED_KEY] = (
                f"profile {profile.name} requires {', '.join(required)}: the probe found the runtime cannot"
            )
        elif missing:
            item.add_marker(pytest.mark.skip(reason=f"{policy.CANNOT_SERVE}{', '.join(missing)}"))
    for mark in item.iter_markers("deviation"):
        deviation = Deviation.of(mark)
        if caps.is_runtime(deviation.runtime, deviation.version):
            item.add_marker(deviation.expectation())
            item.stash[DEVIATION_KEY] = deviation
            return


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """An expected failure counts as the deviation only when its error is the one the marker names."""
    report = yield
    deviation = item.stash.get(DEVIATION_KEY, None)
    if deviation is None or call.excinfo is None or not hasattr(report, "wasxfail"):
        return report
    mismatch = deviation.mismatch(call.excinfo.value)
    if mismatch is not None:
        del report.wasxfail
        report.outcome = "failed"
        report.longrepr = f"{mismatch}\n{call.excinfo.getrepr(style='short')}"
    return report


def pytest_runtest_setup(item: pytest.Item) -> None:
    unserved = item.stash.get(UNSERVED_KEY, "")
    if unserved:
        pytest.fail(unserved, pytrace=False)


@pytest.fixture
def caps(request: pytest.FixtureRequest) -> Capabilities:
    """What the runtime under test can do."""
    found = request.config.stash[STATE_KEY].caps
    assert found is not None
    return found


@pytest_asyncio.fixture
async def cri(request: pytest.FixtureRequest) -> AsyncIterator[CRIClient]:
    """A client connected to the runtime under test."""
    async with await request.config.stash[STATE_KEY].connect() as client:
        yield client


@pytest_asyncio.fixture
async def ws(request: pytest.FixtureRequest, cri: CRIClient) -> AsyncIterator[Workspace]:
    """Creates labelled sandboxes, containers and images and removes them when the check ends."""
    workspace = Workspace(cri, request.config.stash[STATE_KEY].run_id)
    try:
        yield workspace
    finally:
        problems = await workspace.cleanup()
    assert not problems, f"removing what the check created failed: {'; '.join(problems)}"


class _Recorder:
    """Counts every check's outcome by area (on the xdist controller, reports come from the workers)."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.tally.record(report)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash[STATE_KEY]
    if not state.is_worker and state.endpoint:
        asyncio.run(_finish(state))
        if state.tally.leftovers or state.tally.cleanup_problems:
            _fail(session)
        if state.profile is not None:
            _judge(session, state)


def _fail(session: pytest.Session) -> None:
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _judge(session: pytest.Session, state: SuiteState) -> None:
    assert state.profile is not None and state.caps is not None
    caps, tally = state.caps, state.tally
    present = frozenset(name for name in policy.CAPABILITIES if caps.has(name))
    tally.policy = state.profile.describe()
    tally.policy_problems = policy.verdict(
        state.profile, present, tally.skip_reasons, whole_suite=state.whole_suite
    )
    if tally.policy_problems:
        _fail(session)


async def _finish(state: SuiteState) -> None:
    async with await state.connect() as cri:
        swept = await sweep(cri, state.run_id)
        state.tally.leftovers = swept.leftovers
        state.tally.cleanup_problems.extend(swept.problems)
        for image in await cri.list_images():
            if image.id not in state.images_before and set(image.repo_tags) & set(images.ALL):
                try:
                    await cri.remove_image(image.id)
                except CRIError as exc:
                    state.tally.cleanup_problems.append(f"image {image.id}: {exc.message}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    state = config.stash[STATE_KEY]
    if state.is_worker:
        return
    for line in state.tally.render(describe(state.caps) if state.caps else state.endpoint):
        terminalreporter.write_line(line)
