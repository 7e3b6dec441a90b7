"""spacelift-cfn: CloudFormation custom resources for Spacelift AWS integrations."""

__version__ = "0.1.0"
