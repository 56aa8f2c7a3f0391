"""Fixtures for the engine's unit tests: moto in-process, a pinned S3 clock, an engine runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import moto.s3.models
import pytest
from engine_kit import REGION, T0
from moto import mock_aws

from emulator.lambda_runner import IN_PROCESS
from post_scan import aws, handler
from post_scan.config import load_config
from post_scan.pipeline import Pipeline


@pytest.fixture(autouse=True)
def process_state() -> Iterator[None]:
    """The process-wide state these tests set (os.environ, moto's mocks, post_scan's modules) is
    theirs while each runs: a deployed handler run by background apply work waits meanwhile.
    Every fixture that changes that state depends on this one, so it is set up first."""
    with IN_PROCESS:
        yield


@pytest.fixture(autouse=True)
def aws_env(process_state: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region; never a real AWS endpoint or profile."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    reset_clients = aws.reset_clients  # the real one, even while moto_aws patches the factories
    reset_clients()
    yield
    reset_clients()


@pytest.fixture(scope="session")
def shared_clients() -> dict[str, Any]:
    """One S3 and one DynamoDB client for the whole session: creating an S3 client costs
    ~0.1 s. moto intercepts every client's requests while a mock is active."""
    # Credentials given here, not through os.environ: this runs outside any test's lock on the
    # process state (a session fixture is set up before the function fixtures).
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return {
        "s3": boto3.client("s3", region_name=REGION, **credentials),
        "dynamodb": boto3.client("dynamodb", region_name=REGION, **credentials),
    }


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch, shared_clients: dict[str, Any]) -> Iterator[None]:
    """moto in-process; the engine's lazy clients resolve to the shared (mocked) clients."""
    with mock_aws():
        monkeypatch.setattr(aws, "s3_client", lambda: shared_clients["s3"])
        monkeypatch.setattr(aws, "dynamodb_client", lambda: shared_clients["dynamodb"])
        yield


class Clock:
    """moto stamps LastModified with its utcnow(); tests move this clock instead of sleeping."""

    def __init__(self) -> None:
        self.now = T0.replace(tzinfo=None)

    def __call__(self) -> Any:
        return self.now

    def set(self, seconds_after_t0: float) -> None:
        self.now = T0.replace(tzinfo=None) + timedelta(seconds=seconds_after_t0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock()
    monkeypatch.setattr(moto.s3.models, "utcnow", pinned)
    return pinned


@pytest.fixture
def s3(moto_aws: None, clock: Clock, shared_clients: dict[str, Any]) -> Any:
    return shared_clients["s3"]


@pytest.fixture
def dynamodb(moto_aws: None, shared_clients: dict[str, Any]) -> Any:
    return shared_clients["dynamodb"]


@pytest.fixture
def bucket(s3: Any) -> str:
    name = "uploads-bucket"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def versioned_bucket(s3: Any) -> str:
    name = "versioned.uploads.bucket"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def table(dynamodb: Any) -> str:
    name = "app-files"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@dataclass
class Run:
    lines: list[dict[str, Any]]
    error: Exception | None = None
    result: Any = None
    raw: list[str] = field(default_factory=list)

    @property
    def line(self) -> dict[str, Any]:
        assert len(self.lines) == 1, self.lines
        return self.lines[0]


class Engine:
    """Runs events through handler.handle_event with a pipeline built from an env mapping."""

    def __init__(self, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
        self.pipeline = pipeline
        self._capsys = capsys

    def __call__(self, event: dict[str, Any]) -> Run:
        self._capsys.readouterr()
        error = result = None
        try:
            result = handler.handle_event(self.pipeline, event)
        except Exception as exc:
            error = exc
        raw = [line for line in self._capsys.readouterr().out.splitlines() if line.strip()]
        return Run(lines=[json.loads(line) for line in raw], error=error, result=result, raw=raw)


@pytest.fixture
def make_engine(capsys: pytest.CaptureFixture[str]) -> Any:
    """make_engine(s3_store=None, send_update=None, **ENV_VARS) -> Engine."""

    def make(s3_store: Any = None, send_update: Any = None, **env: str) -> Engine:
        return Engine(handler.build_pipeline(load_config(env), s3_store, send_update), capsys)

    return make


class S3Calls:
    """Watches (and can fail) the shared S3 client's calls: botocore event hooks, so moto still
    serves everything else. fail() short-circuits a call before it is sent, with an S3 error."""

    def __init__(self, client: Any) -> None:
        self._events = client.meta.events
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._failures: dict[str, list[tuple[str, int]]] = {}
        self._events.register("provide-client-params.s3", self._record)
        self._events.register("before-call.s3", self._maybe_fail)

    def close(self) -> None:
        self._events.unregister("provide-client-params.s3", self._record)
        self._events.unregister("before-call.s3", self._maybe_fail)

    def fail(self, operation: str, code: str, status: int, times: int = 1, after: int = 0) -> None:
        """The next `times` calls of `operation` (after `after` good ones) answer with an error."""
        self._failures[operation] = [("ok", 0)] * after + [(code, status)] * times

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def _record(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def _maybe_fail(self, model: Any, **kwargs: Any) -> Any:
        planned = self._failures.get(model.name)
        if not planned:
            return None
        code, status = planned.pop(0)
        if code == "ok":
            return None
        error = {"Error": {"Code": code, "Message": f"injected {code}"}}
        metadata = {"HTTPStatusCode": status, "HTTPHeaders": {}}
        return SimpleNamespace(status_code=status, headers={}), {
            **error,
            "ResponseMetadata": metadata,
        }


@pytest.fixture
def s3_calls(s3: Any) -> Iterator[S3Calls]:
    calls = S3Calls(s3)
    yield calls
    calls.close()


@pytest.fixture
def quarantine_bucket(s3: Any) -> str:
    name = "quarantine-bucket"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def promote_bucket(s3: Any) -> str:
    name = "promote-bucket"
    s3.create_bucket(Bucket=name)
    return name


# --- announcement targets (post_scan.announce) -----------------------------------------------


@pytest.fixture(scope="session")
def announce_clients() -> dict[str, Any]:
    """Session-wide clients of the announcement services (and SQS to read what they deliver)."""
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return {
        service: boto3.client(service, region_name=REGION, **credentials)
        for service in ("events", "sns", "securityhub", "sqs")
    }


@pytest.fixture
def targets(
    moto_aws: None, monkeypatch: pytest.MonkeyPatch, announce_clients: dict[str, Any]
) -> Any:
    """An event bus, a topic and Security Hub in moto; the engine's lazy clients resolve to the
    shared ones (any region: moto answers for the ARN's region the same way)."""
    from announce_kit import create_targets

    from post_scan import publishers

    monkeypatch.setattr(publishers, "client", _shared(announce_clients))
    return create_targets(announce_clients)


@pytest.fixture
def announce_calls(targets: Any, announce_clients: dict[str, Any]) -> Iterator[Any]:
    from announce_kit import ApiCalls

    calls = ApiCalls([announce_clients[s] for s in ("events", "sns", "securityhub")])
    yield calls
    calls.close()


def _shared(clients: dict[str, Any]) -> Any:
    def client(service: str, region: str | None = None) -> Any:
        return clients[service]

    return client
