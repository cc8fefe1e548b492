"""Replication benchmarks, against the deployed replication function with a fixed latency added to
every request it makes (a delaying proxy between it and the emulator):

    python -m bench.replication              # 20 ms per request, 1,000 artifacts, 50 developers
    python -m bench.replication --quick      # 5 ms, 200 artifacts, 20 developers

- Start current: the build bucket holds N artifacts; a developer onboarded with --no-sync runs --sync.
- Fan-out: one artifact's event, delivered to D registered developer buckets.
For each, the wall time and the S3 requests per target per artifact (the goal: no more than before
conditional writes, plus one). Prints a table and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from rich.console import Console

from tests.forwarding import Server
from xacct.cli import main as onboard
from xacct.commands.sandbox import environment
from xacct.sandbox import emulator
from xacct.sandbox.awslambda import runtime as lambda_runtime
from xacct.terminal.output import Output

ROOT = Path(__file__).resolve().parent.parent
BUILD, DEV1 = emulator.BUILD_ACCOUNT, emulator.DEV_ACCOUNTS[0]
REGION = emulator.REGION
CENTRAL_BUCKET = f"xacct-build-{BUILD}-{REGION}"


class Latency:
    """Forwards every request after `seconds`, counting S3 requests by (method, which bucket)."""

    def __init__(self, upstream: str, seconds: float) -> None:
        self.upstream, self.seconds = upstream, seconds
        self.counts: dict[str, int] = {}
        self.inflight = self.most = 0  # requests the function has outstanding at once
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                proxy.handle(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                return

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if "/s3/" in str(h.headers.get("Authorization", "")):
            where = "source" if h.path.lstrip("/").startswith(CENTRAL_BUCKET) else "target"
            with self.lock:
                self.counts[where] = self.counts.get(where, 0) + 1
        with self.lock:
            self.inflight += 1
            self.most = max(self.most, self.inflight)
        time.sleep(self.seconds)
        from tests.forwarding import forward, reply

        try:
            status, headers, out = forward(self.upstream, h, body, timeout=300)
        finally:
            with self.lock:
                self.inflight -= 1
        reply(h, status, headers, out)

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.most = 0


def quiet() -> Output:
    return Output(Console(file=io.StringIO(), width=120), Console(file=io.StringIO(), width=120))


def flags(profile: str, account: str) -> list[str]:
    return ["--build-profile", "build", "--build-region", REGION, "--dev-profile", profile, "--dev-region", REGION]


def quietly_put(artifacts: dict[str, bytes]) -> None:
    """Artifacts into the build bucket without S3's notification (the bench measures one delivery
    path at a time, not the events of the setup)."""
    from moto.s3.models import s3_backends

    backend = s3_backends[BUILD]["aws"]
    bucket = backend.get_bucket(CENTRAL_BUCKET)
    kept, bucket.notification_configuration = bucket.notification_configuration, None
    try:
        for key, body in artifacts.items():
            backend.put_object(CENTRAL_BUCKET, key, body)
    finally:
        bucket.notification_configuration = kept


def register_buckets(count: int) -> list[str]:
    """`count` more developer buckets in the first developer account, each admitting the central
    role, added to the central lists by hand (the tool would add one developer per account)."""
    import boto3

    from tests.conftest import cfn, session, stack_outputs

    outputs = stack_outputs("CrossAccountPrimary", "build")
    key = stack_outputs("CrossAccountPrimary", "dev1")["CMK"]
    s3 = session("dev1").client("s3")
    names = [f"bench-target-{n:03d}-{DEV1}" for n in range(count)]
    for name in names:
        s3.create_bucket(Bucket=name)
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"},
            "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"],
            "Resource": f"arn:aws:s3:::{name}/*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": outputs["ReplicationRoleArn"]}},
        }
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    current = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in cfn("build").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["Parameters"]
    }
    lists = {
        "ReplicationBucketList": ",".join([current["ReplicationBucketList"], *names]),
        "ReplicationBucketStarArns": ",".join(
            [current["ReplicationBucketStarArns"], *(f"arn:aws:s3:::{n}/*" for n in names)]
        ),
        "ReplicationCMKs": ",".join([current["ReplicationCMKs"], *([key] * count)]),
    }
    cfn("build").update_stack(
        StackName="CrossAccountPrimary",
        UsePreviousTemplate=True,
        Parameters=[
            *({"ParameterKey": k, "UsePreviousValue": True} for k in current if k not in lists),
            *({"ParameterKey": k, "ParameterValue": v} for k, v in lists.items()),
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    assert boto3
    return names


def run(latency: float, artifacts: int, developers: int) -> list[tuple[str, str, str]]:
    from tests.conftest import PROFILES, deploy_central, moto_stack

    rows: list[tuple[str, str, str]] = []
    with emulator.running(PROFILES) as emu, environment(emu.environ):
        proxy = Latency(emu.endpoint, latency)
        lambda_runtime.ENDPOINT[:] = [proxy.url]  # the function's requests, and only those, are delayed
        deploy_central()
        quietly_put({f"service-{n:04d}/app.zip": f"artifact {n}".encode() for n in range(artifacts)})
        assert onboard([*flags("dev1", DEV1), "--yes", "--no-sync"], output=quiet(), interactive=False) == 0
        proxy.reset()
        start = time.perf_counter()
        assert onboard([*flags("dev1", DEV1), "--sync"], output=quiet(), interactive=False) == 0
        wall = time.perf_counter() - start
        target, source = proxy.counts.get("target", 0), proxy.counts.get("source", 0)
        rate = (target + source) / wall
        rows.append((f"start current: {artifacts:,} artifacts into a new developer bucket", f"{wall:.1f} s", ""))
        rows.append(("  per artifact", f"{wall / artifacts * 1000:.1f} ms", f"{latency * 1000:.0f} ms per request"))
        rows.append(("  S3 requests per target per artifact", f"{target / artifacts:.2f}", "≤ 3 (2 before, + 1)"))
        rows.append(("  S3 requests on the build bucket per artifact", f"{source / artifacts:.2f}", ""))
        rows.append(("  requests in flight at once (most)", str(proxy.most), "16 copies at a time"))
        rows.append(("  emulator throughput", f"{rate:.0f} S3 requests/s", "what bounds the wall time here"))
        register_buckets(developers - 1)
        from xacct.sandbox.s3.resources import s3_backend

        quietly_put({"fanout/app.zip": b"one build"})
        version = s3_backend(BUILD, REGION).get_object(CENTRAL_BUCKET, "fanout/app.zip").version_id
        record = {"key": "fanout/app.zip", "versionId": version, "sequencer": "0A"}
        event = {"Records": [{"s3": {"bucket": {"name": CENTRAL_BUCKET}, "object": record}}]}
        proxy.reset()
        start = time.perf_counter()
        outcome = lambda_runtime.invoke(moto_stack(BUILD, "CrossAccountPrimary").resource_map["Replicator"], event)
        wall = time.perf_counter() - start
        result = lambda_runtime.last_result(outcome.output)
        assert outcome.ok, outcome.output
        assert result["delivered"] == developers, outcome.output
        rows.append((f"one artifact to {developers} developers (one invocation)", f"{wall:.2f} s", ""))
        per_target = proxy.counts.get("target", 0) / developers
        rows.append(("  S3 requests per target", f"{per_target:.2f}", "≤ 3 (2 before, + 1)"))
        rows.append(("  S3 requests on the build bucket", str(proxy.counts.get("source", 0)), "3 (was 2)"))
        rows.append(("  requests in flight at once (most)", str(proxy.most), "16 copies at a time"))
        proxy.server.shutdown()
    return rows


def table(rows: list[tuple[str, str, str]], latency: float) -> str:
    lines = [
        f"Replication benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {latency * 1000:.0f} ms per request",
        "",
        "| measure | value | note |",
        "| --- | --- | --- |",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5 ms per request, 200 artifacts, 20 developers")
    args = parser.parse_args()
    latency, artifacts, developers = (0.005, 200, 20) if args.quick else (0.020, 1000, 50)
    text = table(run(latency, artifacts, developers), latency)
    print(text)
    out = ROOT / "bench" / "results" / f"replication-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
