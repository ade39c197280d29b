"""OMS on Temporal: an order management service on Temporal, SQS, DynamoDB and SES."""

__version__ = "0.1.0"
