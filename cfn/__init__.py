"""The stock CloudFormation templates, shipped inside the package as `xacct.cfn` (package data)."""
