"""AWS::CloudWatch::Alarm, which moto's CloudFormation lacks: its documented properties (a metric,
or metric math in Metrics), made and changed through PutMetricAlarm as the handler does."""

from __future__ import annotations

from typing import Any

from xacct.sandbox._moto import CloudFormationModel
from xacct.sandbox.cloudformation import resource_type
from xacct.sandbox.cloudwatch._moto import cloudwatch_backends, cloudwatch_models


def _query(q: dict[str, Any]) -> Any:
    """One of an alarm's Metrics (a metric math query), as moto holds it."""
    m = cloudwatch_models
    stat = None
    if q.get("MetricStat"):
        given = q["MetricStat"]
        dims = [m.Dimension(d["Name"], d["Value"]) for d in given["Metric"].get("Dimensions", [])]
        metric = m.Metric(given["Metric"]["MetricName"], given["Metric"]["Namespace"], dims)
        stat = m.MetricStat(metric, str(given["Period"]), given["Stat"], given.get("Unit", ""))
    return m.MetricDataQuery(
        query_id=q["Id"],
        label=q.get("Label", ""),
        period=str(q["Period"]) if q.get("Period") else None,  # type: ignore[arg-type]  # as moto keeps an absent one
        return_data=str(q.get("ReturnData", "true")),
        expression=q.get("Expression"),
        metric_stat=stat,
    )


def install() -> None:
    """AWS::CloudWatch::Alarm with its documented properties; Ref is the alarm's name, GetAtt Arn its
    ARN; AlarmName is create-only (a change replaces the alarm); without one, CloudFormation makes a
    name from the stack's and the logical id."""

    def arguments(name: str, p: dict[str, Any]) -> dict[str, Any]:
        queries = [_query(q) for q in p.get("Metrics", [])]
        return {
            "name": name,
            "namespace": p.get("Namespace"),
            "metric_name": p.get("MetricName"),
            "comparison_operator": p["ComparisonOperator"],
            "evaluation_periods": int(p["EvaluationPeriods"]),
            "period": int(p["Period"]) if p.get("Period") else None,
            "threshold": float(p.get("Threshold", 0)),
            "statistic": p.get("Statistic"),
            "description": p.get("AlarmDescription", ""),
            "dimensions": p.get("Dimensions", []),
            "alarm_actions": list(p.get("AlarmActions", [])),
            "metric_data_queries": queries,
            "datapoints_to_alarm": int(p["DatapointsToAlarm"]) if p.get("DatapointsToAlarm") else None,
            "ok_actions": list(p.get("OKActions", [])),
            "insufficient_data_actions": list(p.get("InsufficientDataActions", [])),
            "unit": p.get("Unit"),
            "actions_enabled": str(p.get("ActionsEnabled", True)).lower() != "false",
            "treat_missing_data": p.get("TreatMissingData"),
        }

    class AlarmResource(CloudFormationModel):
        def __init__(self, alarm: Any, account_id: str, region_name: str) -> None:
            self.alarm, self.account_id, self.region_name = alarm, account_id, region_name

        @property
        def physical_resource_id(self) -> str:
            return str(self.alarm.name)

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return str(self.alarm.alarm_arn)

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> AlarmResource:
            p = cloudformation_json["Properties"]
            name = p.get("AlarmName") or resource_name
            backend = cloudwatch_backends[account_id][region_name]
            return cls(backend.put_metric_alarm(**arguments(name, p)), account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str,
            region_name: str,
        ) -> AlarmResource:  # fmt: skip
            p = cloudformation_json["Properties"]
            name = p.get("AlarmName") or original_resource.alarm.name
            if name != original_resource.alarm.name:
                original_resource.delete(account_id, region_name)
            backend = cloudwatch_backends[account_id][region_name]
            return cls(backend.put_metric_alarm(**arguments(name, p)), account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

        def delete(self, account_id: str, region_name: str) -> None:
            cloudwatch_backends[account_id][region_name].delete_alarms([self.alarm.name])

        def is_created(self) -> bool:
            return True

    resource_type(AlarmResource)
