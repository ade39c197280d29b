"""The AWS deployment of OMS on Temporal: a CDK app with one stack of capability constructs."""
