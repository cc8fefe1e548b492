#!/usr/bin/env bash
# The same onboarding the way the original bash script did it: one `aws cloudformation`
# command after another, each followed by `aws cloudformation wait` (which polls every 30 s).
# Usage: cli_onboard.sh BUILD_PROFILE DEV_PROFILE BUILD_ACCOUNT DEV_ACCOUNT REGION CENTRAL_STACK CFN_DIR
set -euo pipefail
AWS=${AWS:-aws}
B=$1 D=$2 BUILD=$3 DEV=$4 REGION=$5 CENTRAL=$6 CFN=$7

b() { "$AWS" --profile "$B" --region "$REGION" cloudformation "$@"; }
d() { "$AWS" --profile "$D" --region "$REGION" cloudformation "$@"; }
output() { "$1" describe-stacks --stack-name "$2" --query "Stacks[0].Outputs[?OutputKey=='$3'].OutputValue" --output text; }
param() { b describe-stacks --stack-name "$CENTRAL" --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue" --output text; }
params() {  # KEY=VALUE ... as the JSON the CLI takes (values may hold commas)
  local out="[" sep=""
  for kv in "$@"; do out+="$sep{\"ParameterKey\":\"${kv%%=*}\",\"ParameterValue\":\"${kv#*=}\"}"; sep=","; done
  echo "$out]"
}

ROLE=$(output b "$CENTRAL" ReplicationRoleArn)
d create-stack --stack-name CrossAccountPrimary --template-body "file://$CFN/CrossAccountPrimary.yaml" \
  --parameters "$(params RootAccountArns=arn:aws:iam::$BUILD:root ReplicationWriterRoleArn=$ROLE)" \
  --capabilities CAPABILITY_IAM > /dev/null
d wait stack-create-complete --stack-name CrossAccountPrimary
CMK=$(output d CrossAccountPrimary CMK)
BUCKET=$(output d CrossAccountPrimary BuildBucket)

d create-stack --stack-name CrossAccountDeploy --template-body "file://$CFN/CrossAccountDeploy.yaml" \
  --parameters "$(params BuildAccount=$DEV CMKARNs=$CMK)" --capabilities CAPABILITY_IAM > /dev/null
d wait stack-create-complete --stack-name CrossAccountDeploy

d create-stack --stack-name CrossAccountDeveloper --template-body "file://$CFN/CrossAccountDeveloper.yaml" \
  --parameters "$(params ReplicationFunctionRoleArn=$ROLE)" --capabilities CAPABILITY_NAMED_IAM > /dev/null
d wait stack-create-complete --stack-name CrossAccountDeveloper

join() { local cur; cur=$(param "$1"); [ -n "$cur" ] && [ "$cur" != "None" ] && echo "$cur,$2" || echo "$2"; }
b update-stack --stack-name "$CENTRAL" --template-body "file://$CFN/CrossAccountPrimary.yaml" --capabilities CAPABILITY_IAM \
  --parameters "$(params RootAccountArns="$(param RootAccountArns)" EnableReplication=true \
    ReplicationBucketList="$(join ReplicationBucketList "$BUCKET")" \
    ReplicationBucketStarArns="$(join ReplicationBucketStarArns "arn:aws:s3:::$BUCKET/*")" \
    ReplicationCMKs="$(join ReplicationCMKs "$CMK")")" > /dev/null
b wait stack-update-complete --stack-name "$CENTRAL"
