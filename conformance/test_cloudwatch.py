"""CloudWatch's answers: an alarm's first state, how it is evaluated on the data it receives, whom it
notifies when its state changes; the metrics CloudWatch Logs extracts from a Lambda function's
embedded-metric-format lines; and Lambda's own metrics of an invocation."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from conformance import make
from conformance.conftest import World, eventually
from conformance.test_lambda import execution_role, zipped


def alarm(world: World, **extra: Any) -> str:
    cw = world.a.client("cloudwatch")
    name = world.name("alarm")
    namespace = extra.pop("Namespace", world.name("ns"))
    spec = {"AlarmName": name, "Namespace": namespace, "MetricName": "Failed", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 1, "Threshold": 0.0, "ComparisonOperator": "GreaterThanThreshold"}  # fmt: skip
    spec.update(extra)
    cw.put_metric_alarm(**spec)
    world.later(lambda: cw.delete_alarms(AlarmNames=[name]))
    return name


def state(world: World, name: str) -> str:
    return str(world.a.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def becomes(world: World, name: str, wanted: str) -> None:
    def check() -> None:
        assert state(world, name) == wanted

    eventually(check, seconds=240, every=1 if world.on_aws else 0.2)


@pytest.mark.rule("alarm-initial-state")
def test_a_new_alarm_has_insufficient_data(world: World) -> None:
    """CloudWatch user guide, "Alarm states": "INSUFFICIENT_DATA - The alarm has just started, the metric
    is not available, or not enough data is available for the metric to determine the alarm state." """
    name = alarm(world, TreatMissingData="missing")
    assert state(world, name) == "INSUFFICIENT_DATA"


@pytest.mark.rule("alarm-evaluation")
def test_an_alarm_goes_to_alarm_on_a_breaching_datapoint_and_back_to_ok_without_data(world: World) -> None:
    """CloudWatch user guide, "Using Amazon CloudWatch alarms": "Evaluation Periods is the number of the
    most recent periods, or data points, to evaluate when determining alarm state. Datapoints to Alarm is
    the number of data points within the Evaluation Periods that must be breaching to cause the alarm to
    go to the ALARM state." And, for TreatMissingData notBreaching: "Missing data points are treated as
    "good" and within the threshold." A period's datapoint is its statistic (Sum: 1 + 2 = 3)."""
    world.configure(alarm_period_seconds=1.5)
    namespace = world.name("ns")
    name = alarm(world, Namespace=namespace, TreatMissingData="notBreaching", Threshold=2.0)
    cw = world.a.client("cloudwatch")
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Failed", "Value": v} for v in (1.0, 2.0)])
    becomes(world, name, "ALARM")
    reason = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateReason"]
    assert reason.startswith("Threshold Crossed"), reason
    assert "3.0" in reason, reason
    becomes(world, name, "OK")  # the next periods have no data: not breaching


@pytest.mark.rule("alarm-evaluation")
def test_missing_data_treated_as_missing_leaves_the_alarm_without_a_state_and_other_dimensions_do_not_count(
    world: World,
) -> None:
    """CloudWatch user guide, "Configuring how CloudWatch alarms treat missing data": "missing - If all
    data points in the alarm evaluation range are missing, the alarm transitions to INSUFFICIENT_DATA."
    A metric is "uniquely defined by a name, a namespace, and zero or more dimensions" ("CloudWatch
    concepts"): data of the same name with another dimension is another metric."""
    world.configure(alarm_period_seconds=1.5)
    namespace = world.name("ns")
    dims = [{"Name": "Stack", "Value": "mine"}]
    name = alarm(world, Namespace=namespace, Dimensions=dims, TreatMissingData="missing")
    cw = world.a.client("cloudwatch")
    other = [{"Name": "Stack", "Value": "another"}]
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Failed", "Value": 5.0, "Dimensions": other}])
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Failed", "Value": 0.0, "Dimensions": dims}])
    becomes(world, name, "OK")
    becomes(world, name, "INSUFFICIENT_DATA")


@pytest.mark.rule("alarm-actions")
def test_an_alarm_notifies_its_topic_when_its_state_changes(world: World) -> None:
    """CloudWatch user guide, "Using Amazon CloudWatch alarms": "Alarms invoke actions only when the alarm
    changes state", and an action may be "an Amazon SNS topic" ("Alarm actions"); the message is the
    alarm's JSON (AlarmName, NewStateValue, OldStateValue, NewStateReason). Read here through an SQS
    queue subscribed to the topic, whose policy admits the topic (SNS developer guide, "Fanout to
    Amazon SQS queues")."""
    world.configure(alarm_period_seconds=1.5)
    sns, sqs = world.a.client("sns"), world.a.client("sqs")
    topic = sns.create_topic(Name=world.name("alerts"))["TopicArn"]
    world.later(lambda: sns.delete_topic(TopicArn=topic))
    queue = sqs.create_queue(QueueName=world.name("inbox"))["QueueUrl"]
    world.later(lambda: sqs.delete_queue(QueueUrl=queue))
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admit = make.allow("*", ["sqs:SendMessage"], queue_arn, Condition={"ArnEquals": {"aws:SourceArn": topic}})
    admit["Principal"] = {"Service": "sns.amazonaws.com"}
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": make.policy(admit)})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    namespace = world.name("ns")
    name = alarm(world, Namespace=namespace, TreatMissingData="notBreaching", AlarmActions=[topic], OKActions=[topic])
    world.a.client("cloudwatch").put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": "Failed", "Value": 1.0}]
    )
    becomes(world, name, "ALARM")

    def notified() -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        messages = [json.loads(json.loads(m["Body"])["Message"]) for m in got]
        assert any(m["NewStateValue"] == "ALARM" for m in messages), messages
        return messages

    messages = eventually(notified)
    raised = next(m for m in messages if m["NewStateValue"] == "ALARM")
    assert raised["AlarmName"] == name
    assert raised["OldStateValue"] in ("INSUFFICIENT_DATA", "OK")
    assert "Threshold Crossed" in raised["NewStateReason"]


EMF = """
import json, time

def handler(event, context):
    declared = {"Namespace": event["namespace"], "Dimensions": [["Stack"]],
                "Metrics": [{"Name": "Failed", "Unit": "Count"}]}
    print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [declared]},
                      "Stack": "mine", "Failed": 2, "Developer": "not a dimension"}))
    print(json.dumps({"_aws": {"CloudWatchMetrics": []}, "Failed": 40}))  # no Timestamp: not EMF
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return 1
"""


def _logging_function(world: World) -> str:
    """A function whose role may write its log group (made first: Lambda's logs go to /aws/lambda/NAME)."""
    lam, logs = world.a.client("lambda"), world.a.client("logs")
    name = world.name("emf")[:64]
    group = f"/aws/lambda/{name}"
    logs.create_log_group(logGroupName=group)
    world.later(lambda: logs.delete_log_group(logGroupName=group))
    arn = f"arn:aws:logs:*:{world.a.id}:log-group:{group}:*"
    role = execution_role(
        world, {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": arn}
    )
    spec = {"FunctionName": name, "Runtime": "python3.12", "Role": role, "Handler": "index.handler",
            "Code": {"ZipFile": zipped(EMF)}, "Timeout": 10}  # fmt: skip
    eventually(lambda: lam.create_function(**spec))
    world.later(lambda: lam.delete_function(FunctionName=name))
    eventually(lambda: lam.get_waiter("function_active_v2").wait(FunctionName=name))
    return name


def _sum(world: World, namespace: str, metric: str, dims: list[dict[str, str]]) -> float | None:
    now = dt.datetime.now(dt.UTC)
    points = world.a.client("cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=dims, StartTime=now - dt.timedelta(minutes=10),
        EndTime=now + dt.timedelta(minutes=1), Period=60, Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    return sum(p["Sum"] for p in points) if points else None


@pytest.mark.rule("emf-extraction")
def test_a_functions_embedded_metric_format_lines_become_metrics(world: World) -> None:
    """CloudWatch user guide, "Ingesting high-cardinality logs and generating metrics with CloudWatch
    embedded metric format": "CloudWatch automatically extracts custom metrics" from such logs, and
    Lambda's are ingested without an agent. "Specification: Embedded metric format": Timestamp is
    required; a member named in Dimensions is a dimension, the others (Developer here) are not."""
    name = _logging_function(world)
    namespace = world.name("ns")
    world.a.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"namespace": namespace}).encode())

    def extracted() -> None:
        assert _sum(world, namespace, "Failed", [{"Name": "Stack", "Value": "mine"}]) == 2.0

    eventually(extracted, every=1 if world.on_aws else 0.2)
    assert _sum(world, namespace, "Failed", []) is None  # only the declared dimension set


@pytest.mark.rule("lambda-metrics")
def test_lambda_counts_invocations_and_the_ones_that_end_in_a_function_error(world: World) -> None:
    """Lambda developer guide, "Types of metrics for Lambda functions": Invocations, "the number of times
    that your function code is invoked", and Errors, "the number of invocations that result in a function
    error", in the AWS/Lambda namespace by FunctionName."""
    name = _logging_function(world)
    lam = world.a.client("lambda")
    for fail in (False, True):
        lam.invoke(FunctionName=name, Payload=json.dumps({"namespace": world.name("ns"), "fail": fail}).encode())
    dims = [{"Name": "FunctionName", "Value": name}]

    def counted() -> None:
        assert (_sum(world, "AWS/Lambda", "Invocations", dims), _sum(world, "AWS/Lambda", "Errors", dims)) == (2, 1)

    eventually(counted, seconds=300 if world.on_aws else 10, every=5 if world.on_aws else 0.2)


@pytest.mark.rule("metric-identity")
def test_statistics_are_of_the_metric_with_exactly_the_dimensions_asked(world: World) -> None:
    """CloudWatch user guide, "CloudWatch concepts": a metric is "uniquely defined by a name, a namespace,
    and zero or more dimensions"; GetMetricStatistics, Dimensions: "You must specify the same dimensions
    that were used when the metrics were created." """
    cw = world.a.client("cloudwatch")
    namespace = world.name("ns")
    both = [{"Name": "Stack", "Value": "s"}, {"Name": "Developer", "Value": "d"}]
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Failed", "Value": 3.0, "Dimensions": both}])

    def stored() -> None:
        assert _sum(world, namespace, "Failed", both) == 3.0

    eventually(stored, every=1 if world.on_aws else 0.2)
    assert _sum(world, namespace, "Failed", []) is None
    assert _sum(world, namespace, "Failed", both[:1]) is None
