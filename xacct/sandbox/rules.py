"""The strict rules, as a catalogue: what AWS refuses, what it answers, where AWS says so, and which of
the emulator's files enforce it (`where`: a service's folder, or the top for what spans services). Each
has a case in conformance/ quoting AWS, and a row in docs/development.md's table naming its files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    refuses: str  # what AWS refuses, in a sentence
    answer: str  # what AWS answers
    source: str  # where AWS documents it
    where: tuple[str, ...]  # the emulator's files that enforce it, under xacct/sandbox/


RULES: dict[str, Rule] = {
    "policy-variables": Rule(
        "(moto matches them as text) a policy variable such as ${aws:PrincipalAccount} in a Resource or a "
        "condition value: it is the request's own value for that key (2012-10-17 only)",
        "the statement applies only where the request's value fits; a variable with no value in the request "
        "leaves its statement unmatched; ${*}, ${?}, ${$} are literal characters",
        'IAM user guide, "IAM policy elements: Variables and tags" and "IAM JSON policy elements: Version"',
        where=("policy_eval.py",),
    ),
    "principal-org": Rule(
        "(moto and this emulator before it never supplied them) a policy on aws:PrincipalOrgID or "
        "aws:PrincipalOrgPaths: the caller's organization and the OU path of its account",
        "a member of the organization (under the OU) is allowed; a principal of another account, or one "
        "moved out of the OU, is refused: AccessDenied",
        'IAM user guide, "AWS global condition context keys" (aws:PrincipalOrgID, aws:PrincipalOrgPaths)',
        where=("access.py", "stacksets/organizations.py"),
    ),
    "service-role": Rule(
        "a stack operation with a service role (RoleARN) by a caller without iam:PassRole on it, or with a "
        "role CloudFormation may not assume (missing, or not trusting cloudformation.amazonaws.com)",
        'AccessDenied (iam:PassRole); ValidationError "Role ARN is invalid or cannot be assumed"',
        'IAM user guide, "Grant a user permissions to pass a role to an AWS service"; CloudFormation user guide, '
        '"CloudFormation service role"',
        where=("cloudformation/access.py", "cloudformation/requests.py"),
    ),
    "stack-role": Rule(
        "(moto forgot it) a stack updated through a change set with a service role, then updated again without one",
        "the stack keeps the role (DescribeStacks RoleARN) and every later operation runs as it",
        'CloudFormation API reference, CreateChangeSet, RoleARN: "CloudFormation uses this role for all future '
        'operations on the stack"',
        where=("cloudformation/change_sets.py", "cloudformation/failures.py"),
    ),
    "change-set-type": Rule(
        "(moto made it a CREATE) a change set of an existing stack made without a ChangeSetType",
        "an UPDATE of the stack: executed, the stack ends UPDATE_COMPLETE with the new template",
        'CloudFormation API reference, CreateChangeSet, ChangeSetType: "By default, CloudFormation specifies UPDATE"',
        where=("cloudformation/change_sets.py",),
    ),
    "one-bucket-policy": Rule(
        "a second AWS::S3::BucketPolicy for a bucket that already has a policy",
        'the resource fails: "Bucket Policy Already Exists" (HandlerErrorCode: AlreadyExists)',
        "AWS::S3::BucketPolicy resource schema (primaryIdentifier /properties/Bucket); getlift/lift#354; "
        "cloudformation-coverage-roadmap#1068",
        where=("s3/resources.py",),
    ),
    "reserved-concurrency": Rule(
        "reserved concurrency that leaves less than min(100, quota) unreserved; new accounts have a quota of 10",
        "InvalidParameterValueException: decreases account's UnreservedConcurrentExecution below its minimum value",
        'Lambda developer guide, "Configuring reserved concurrency" and "Lambda quotas"; '
        "fhir-works-on-aws-deployment#691",
        where=("awslambda/limits.py",),
    ),
    "principals-exist": Rule(
        "a key, bucket or trust policy naming a role or user that does not exist",
        'MalformedPolicyDocumentException / MalformedPolicy "Invalid principal in policy"',
        'IAM user guide, "AWS JSON policy elements: Principal" (role and user principals must exist)',
        where=("iam/policies.py", "kms/keys.py", "s3/policies.py"),
    ),
    "template-versioning": Rule(
        "(moto ignores it) VersioningConfiguration of an AWS::S3::Bucket: the bucket is versioned",
        "GetBucketVersioning reports Enabled",
        "AWS::S3::Bucket VersioningConfiguration",
        where=("s3/resources.py",),
    ),
    "bucket-not-empty": Rule(
        "deleting a stack whose bucket still holds objects (or object versions)",
        'the stack ends DELETE_FAILED: "The bucket you tried to delete is not empty"',
        'CloudFormation user guide, "Troubleshooting: Delete stack fails"; S3 API reference, DeleteBucket',
        where=("s3/resources.py",),
    ),
    "export-in-use": Rule(
        "deleting a stack whose export another stack imports",
        'the stack ends DELETE_FAILED: "Export NAME cannot be deleted as it is in use by STACK"',
        'CloudFormation user guide, "Exporting stack output values"',
        where=("cloudformation/exports.py",),
    ),
    "export-update": Rule(
        "an update that changes or removes an output value another stack imports",
        'the update fails and rolls back (UPDATE_ROLLBACK_COMPLETE): "Export NAME cannot be updated as it is in '
        'use by STACK" (or "cannot be deleted")',
        'CloudFormation user guide, "Exporting stack output values"',
        where=("cloudformation/exports.py",),
    ),
    "function-name": Rule(
        "a Lambda function name over 64 characters or with characters outside [a-zA-Z0-9_-]",
        "InvalidParameterValueException (the resource fails)",
        "Lambda API reference, CreateFunction (FunctionName)",
        where=("awslambda/limits.py",),
    ),
    "managed-policy-size": Rule(
        "a managed policy document over 6,144 characters (whitespace not counted); a role's inline "
        "policies over 10,240 together",
        "LimitExceeded",
        'IAM user guide, "IAM and AWS STS quotas"',
        where=("iam/policies.py",),
    ),
    "ssm-value-size": Rule(
        "an SSM parameter value over 4,096 characters in the Standard tier or 8,192 in the Advanced tier",
        "ValidationException",
        'Systems Manager user guide, "Managing parameter tiers"',
        where=("ssm/__init__.py",),
    ),
    "template-size": Rule(
        "a template body over 51,200 bytes sent inline (a stack set's too)",
        "ValidationError",
        'CloudFormation user guide, "CloudFormation quotas"',
        where=("cloudformation/requests.py",),
    ),
    "parameter-constraints": Rule(
        "(moto checked none) a parameter value outside its AllowedValues, breaking its AllowedPattern, MinLength "
        "or MaxLength, or a Number outside MinValue and MaxValue (a default or a value passed again too)",
        "ValidationError, with the ConstraintDescription when there is one; nothing made",
        'CloudFormation user guide, "Parameters"',
        where=("cloudformation/parameters.py",),
    ),
    "ssm-names": Rule(
        "(less strict than before: the emulator refused it) nothing: an AWS::SSM::Parameter without Name gets a name "
        "CloudFormation generates, kept through updates",
        "the stack is made; the parameter's physical id is its name",
        "AWS::SSM::Parameter, Name",
        where=("ssm/__init__.py",),
    ),
    "lifecycle": Rule(
        "(moto stored the rules and never carried them out; its CloudFormation ignored them) nothing: a bucket's "
        "LifecycleConfiguration from a template is put on the bucket, and its expirations are carried out by days "
        "(the emulator's clock: run_lifecycle)",
        "GetBucketLifecycleConfiguration shows the rules; noncurrent versions and incomplete uploads go when due",
        "AWS::S3::Bucket LifecycleConfiguration and NoncurrentVersionExpiration",
        where=("s3/lifecycle.py",),
    ),
    "parameter-size": Rule(
        "a parameter value over 4,096 bytes",
        "ValidationError",
        'CloudFormation user guide, "CloudFormation quotas"',
        where=("cloudformation/requests.py",),
    ),
    "authorized": Rule(
        "any request (CloudFormation, S3, KMS, SSM, Logs, IAM, STS, Lambda) that AWS's policy evaluation "
        "logic does not allow: an explicit Deny anywhere wins; in one account an identity-based Allow (or a "
        "resource policy naming that very principal); across accounts both the caller's policies and the "
        "resource's (bucket, key, trust) policy; an unknown access key is refused",
        "403 AccessDenied / AccessDeniedException (InvalidClientTokenId for an unknown key)",
        'IAM user guide, "Policy evaluation logic" and "Cross-account policy evaluation logic"',
        where=(
            "access.py",
            "policy_eval.py",
            "checks.py",
            "iam/access.py",
            "s3/access.py",
            "kms/access.py",
            "cloudformation/access.py",
            "awslambda/access.py",
            "ssm/access.py",
            "logs/access.py",
            "sns/access.py",
        ),
    ),
    "key-policy": Rule(
        "any use of a customer managed key that its key policy does not allow, directly or by delegating to "
        "the account's IAM policies; S3 uses the key as the caller (GenerateDataKey to write, Decrypt to read "
        "and for each part of a multipart upload)",
        "AccessDeniedException (through S3: 403 AccessDenied naming the kms: action)",
        'KMS developer guide, "Key policies in AWS KMS"; S3 user guide, "Using server-side encryption with AWS '
        'KMS keys" (permissions)',
        where=("kms/access.py",),
    ),
    "kms-cross-account": Rule(
        "using a key of another account unless both its key policy and the caller's own IAM policies allow it "
        "(a key policy naming a role of another account is not enough); (moto answered NotFoundException) a key "
        "of another account named by its ARN is served by that account, for the operations that work across "
        "accounts",
        "AccessDeniedException",
        'KMS developer guide, "Allowing users in other accounts to use a KMS key"',
        where=("kms/accounts.py", "kms/access.py"),
    ),
    "assume-role-trust": Rule(
        "AssumeRole of a role that does not exist or whose trust policy does not admit the caller; across "
        "accounts the caller's own policies must allow sts:AssumeRole too; Lambda runs a function only with a "
        "role that trusts lambda.amazonaws.com, and its log lines need the role's logs permissions",
        'AccessDenied (the function: "cannot be assumed by Lambda"; its logs are lost)',
        'IAM user guide, "How IAM roles differ from resource-based policies"; Lambda developer guide, '
        '"Lambda execution role"',
        where=("iam/access.py", "awslambda/runtime.py"),
    ),
    "eventual-consistency": Rule(
        "(at the emulator's propagation_seconds, zero unless a test turns it up) a request that a role, trust "
        "policy, role policy, key policy or bucket policy made or changed less than that long ago would allow: "
        "until then what was there before authorizes (nothing, for something new)",
        "AccessDenied (as before the change)",
        'IAM user guide, "Troubleshoot IAM": "Changes that I make are not always immediately visible"',
        where=("propagation.py",),
    ),
    "conditions": Rule(
        "an Allow whose condition the emulator cannot evaluate (it grants nothing), while such a Deny "
        "applies; condition keys match whatever their case; aws:SecureTransport is true, as over TLS, and a "
        "statement's other conditions still count",
        "the statement applies or not as AWS's condition operators say",
        'IAM user guide, "IAM JSON policy elements: Condition operators" and "AWS global condition context keys"',
        where=("policy_eval.py",),
    ),
    "organization-reads": Rule(
        "(moto answered a member from an empty organization of its own, and then let any member list roots) "
        "ListRoots and the other List and Describe calls of Organizations from a member account that is not a "
        "delegated administrator; DescribeOrganization is any member's",
        "AccessDeniedException",
        "Organizations API reference, ListRoots (and DescribeOrganization)",
        where=("stacksets/organizations.py",),
    ),
    "request-context": Rule(
        '(less strict than before: aws:userid was never supplied, so the "only this role" Deny refused the role '
        "it exempts) a condition on what AWS puts in every request: aws:userid (ROLE-ID:session for a role "
        "session), aws:username (an IAM user), aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType; the "
        "SSE-KMS key id header of an S3 write; aws:SourceArn and aws:SourceAccount when S3 invokes Lambda",
        "the statement applies or not as the request's context says",
        'IAM user guide, "AWS global condition context keys"; STS API reference, GetCallerIdentity (UserId)',
        where=("access.py",),
    ),
    "set-operators": Rule(
        "ForAnyValue with a negated operator (it held when no value matched; it holds when one value matches none of "
        "the policy's), and ForAnyValue on a key the request lacks (false), ForAllValues on one (true)",
        "the statement applies or not as the set operators say",
        'IAM user guide, "Conditions with multiple context keys or values" and "Single-valued vs. multivalued '
        'context keys"',
        where=("policy_eval.py",),
    ),
    "not-principal": Rule(
        "(NotPrincipal named a role session by its account alone, or by its role alone) a Deny whose NotPrincipal "
        "does not name the whole caller: the account, and the role and the session for a role session",
        "the Deny applies: AccessDenied",
        'IAM user guide, "AWS JSON policy elements: NotPrincipal"',
        where=("policy_eval.py",),
    ),
    "notification-permission": Rule(
        "a bucket notification to a Lambda function whose resource policy does not let s3.amazonaws.com invoke it "
        "from that bucket and its account (aws:SourceArn, aws:SourceAccount); and an event once it no longer does",
        'InvalidArgument: "Unable to validate the following destination configurations"',
        'S3 user guide, "Granting permissions to invoke an AWS Lambda function"',
        where=("s3/notifications.py", "awslambda/permission.py"),
    ),
    "stackset-operations": Rule(
        "(moto, and the emulator, finished every operation before the call returned) a second operation on a stack "
        "set while one runs (automatic deployment after an account moves included), unless ManagedExecution is "
        "active, which queues it; operations run in the background (the emulator's stack_set_seconds per batch)",
        "OperationInProgressException; the operation RUNNING (or QUEUED), then SUCCEEDED or FAILED",
        "CloudFormation API reference, OperationInProgressException and ManagedExecution",
        where=("stacksets/operations.py",),
    ),
    "requests-once": Rule(
        "the same CreateStack, CreateChangeSet (same name) or ExecuteChangeSet twice without the same token; "
        "with the same ClientRequestToken (ClientToken) the retry gets the first answer",
        "AlreadyExistsException / InvalidChangeSetStatus",
        "CloudFormation API reference, ClientRequestToken (CreateStack, ExecuteChangeSet) and ClientToken "
        "(CreateChangeSet)",
        where=("cloudformation/requests.py", "cloudformation/change_sets.py"),
    ),
    "lambda-runtime": Rule(
        "creating a function on a runtime past its block-create date; past its block-update date, updating its "
        "code or a configuration that names that runtime (a CloudFormation update of the function always does), "
        "unless the update moves it to a supported runtime",
        "InvalidParameterValueException: The runtime parameter of RUNTIME is no longer supported for creating "
        "or updating AWS Lambda functions",
        'Lambda developer guide, "Runtime deprecation" (deprecated runtimes: block function create, block '
        "function update)",
        where=("awslambda/limits.py",),
    ),
    "acls-disabled": Rule(
        "on a bucket whose Object Ownership is bucket owner enforced (the default for new buckets since April "
        "2023): a write with an ACL other than bucket-owner-full-control, or any request that sets an ACL",
        "400 AccessControlListNotSupported: The bucket does not allow ACLs",
        'S3 user guide, "Controlling ownership of objects and disabling ACLs for your bucket" and '
        '"Troubleshooting: AccessControlListNotSupported"',
        where=("s3/requests.py",),
    ),
    "missing-key": Rule(
        "(moto answers 404 to everyone) GetObject or HeadObject of a key that does not exist, by a caller "
        "without s3:ListBucket on the bucket",
        "403 AccessDenied (404 NoSuchKey only with s3:ListBucket)",
        'S3 API reference, GetObject and HeadObject, "Permissions"',
        where=("s3/missing.py",),
    ),
    "expected-bucket-owner": Rule(
        "a request naming ExpectedBucketOwner (or ExpectedSourceBucketOwner) for a bucket another account owns",
        "403 AccessDenied",
        'S3 user guide, "Verifying bucket ownership with bucket owner condition"',
        where=("s3/requests.py",),
    ),
    "alarm-initial-state": Rule(
        "(moto started every alarm OK) a new alarm, before any evaluation",
        "StateValue INSUFFICIENT_DATA",
        'CloudWatch user guide, "Alarm states": "INSUFFICIENT_DATA - The alarm has just started, the metric is not '
        'available, or not enough data is available for the metric to determine the alarm state."',
        where=("cloudwatch/alarms.py",),
    ),
    "alarm-evaluation": Rule(
        "(moto never evaluated an alarm) an alarm whose metric receives data: each period's datapoint is the "
        "statistic of its data, and DatapointsToAlarm of the last EvaluationPeriods breaching is ALARM",
        "ALARM when enough breach; otherwise OK, or as TreatMissingData says when datapoints are missing "
        "(missing: all missing is INSUFFICIENT_DATA; notBreaching: good; breaching: bad; ignore: kept); evaluated "
        "every minute (a shortened period here: alarm_period_seconds)",
        'CloudWatch user guide, "Using Amazon CloudWatch alarms" ("Evaluation Periods is the number of the most '
        'recent periods...") and "Configuring how CloudWatch alarms treat missing data"',
        where=("cloudwatch/alarms.py",),
    ),
    "alarm-actions": Rule(
        "(moto never notified) an alarm whose state changes, with an SNS topic among the actions for the new state",
        "the alarm's JSON (AlarmName, NewStateValue, OldStateValue, NewStateReason, Trigger) published to the "
        'topic; nothing while the state stays ("Alarms invoke actions only when the alarm changes state")',
        'CloudWatch user guide, "Using Amazon CloudWatch alarms", "Alarm actions"',
        where=("cloudwatch/alarms.py",),
    ),
    "metric-identity": Rule(
        "(moto matched a metric by the dimensions asked, or by none) statistics of a metric asked with other "
        "dimensions than it was stored with",
        "no datapoints: a metric is its namespace, name and exact set of dimensions",
        'CloudWatch user guide, "CloudWatch concepts"; CloudWatch API reference, GetMetricStatistics, Dimensions',
        where=("cloudwatch/metrics.py",),
    ),
    "emf-extraction": Rule(
        "(moto kept log lines as text) a Lambda function's log line in the embedded metric format",
        "each declared metric, per declared dimension set, as custom metric data; members not named as dimensions "
        "stay log content; a line without Timestamp, or naming a missing member, yields nothing",
        'CloudWatch user guide, "Specification: Embedded metric format" and "Ingesting high-cardinality logs and '
        'generating metrics with CloudWatch embedded metric format"',
        where=("awslambda/runtime.py", "cloudwatch/emf.py"),
    ),
    "lambda-metrics": Rule(
        "(moto sent none) an invocation of a function",
        "AWS/Lambda Invocations, Errors (1 when it ends in a function error) and Duration, by FunctionName",
        'Lambda developer guide, "Types of metrics for Lambda functions"',
        where=("awslambda/runtime.py",),
    ),
    "email-confirmation": Rule(
        "(moto confirmed every subscription) an e-mail subscription its owner has not confirmed",
        'Subscribe answers "pending confirmation", ListSubscriptionsByTopic "PendingConfirmation"; only a confirmation '
        "message is sent until ConfirmSubscription with the token it carried (InvalidParameter for another)",
        'SNS API reference, Subscribe and ConfirmSubscription; SNS developer guide, "Email notifications"',
        where=("sns/subscriptions.py", "sns/mail.py"),
    ),
    "condition-short-form": Rule(
        "nothing (moto read the YAML short form !Condition as Fn::Condition, so a condition combining another "
        "by it was always false): a condition naming another as !Condition NAME inside Fn::And, Fn::Or or Fn::Not",
        "the condition is evaluated with the one it names; a resource under it is made when it holds",
        'CloudFormation user guide, "Condition functions" (the Condition function, short form !Condition)',
        where=("cloudformation/speed.py",),
    ),
    "role-inline-policies": Rule(
        "nothing (moto deleted every inline policy of a role that its Policies property did not declare, an "
        "AWS::IAM::RolePolicy's among them, when the role was updated): an update of an AWS::IAM::Role beside "
        "an AWS::IAM::RolePolicy on it",
        "the role keeps the RolePolicy's inline policy; only the policies its own Policies declared before and no "
        "longer does are deleted",
        'CloudFormation user guide, AWS::IAM::Role, Policies ("adds or updates an inline policy document that is '
        'embedded in the specified IAM role"), and AWS::IAM::RolePolicy',
        where=("iam/resources.py",),
    ),
    "change-set-conditions": Rule(
        "(moto listed every resource of the template) a change set whose template has a resource under a "
        "condition that is false, or turns true or false",
        "a resource under a false condition is no change, and not among the stack's resources (ListStackResources, "
        "DescribeStackResources); one whose condition turns true is an Add, false a Remove",
        'CloudFormation template reference, "Condition attribute" ("creates the resource only when the condition '
        'evaluates to true"); user guide, "Update CloudFormation stacks using change sets"',
        where=("cloudformation/change_sets.py", "cloudformation/templates.py"),
    ),
    "parameter-changes": Rule(
        "(moto: only resources that Ref the parameter; then, ours: every resource holding any Fn::If) a change set "
        "that changes a parameter's value",
        "Modify for each resource that uses the parameter (Ref, Fn::Sub) or an Fn::If on a condition it decides, "
        "directly or through another condition; no other (a parameter given again at its default is no change)",
        'CloudFormation API reference, ResourceChangeDetail (ChangeSource "ParameterReference": "resource properties '
        'that reference the changed parameter")',
        where=("cloudformation/templates.py",),
    ),
    "http-confirmation": Rule(
        "(moto confirmed every subscription) an HTTP or HTTPS subscription its endpoint has not confirmed",
        'Subscribe answers "pending confirmation"; a SubscriptionConfirmation with a Token is POSTed to the '
        "endpoint; nothing is delivered until ConfirmSubscription with that token",
        'SNS developer guide, "Fanout to HTTP/S endpoints"; SNS API reference, Subscribe and ConfirmSubscription',
        where=("sns/subscriptions.py",),
    ),
}
