"""Storage: the DynamoDB inventory table and the order ledger."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from oms.orders.ledger import EXPIRES_AT


class Storage(Construct):
    """Two on-demand tables, point-in-time recovery on, kept when the stack is deleted (they
    hold stock levels and the record of every charge)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Items: sku, available (N), reserved (N).
        self.inventory_table = self._table(
            "InventoryTable", partition_key=dynamodb.Attribute(name="sku", type=_STRING)
        )
        # Items per order: RESERVATION, CHARGE, PACKAGE, EMAIL, ... records. They expire
        # (DynamoDB TTL, no write cost) a while after their last write: the ledger sets
        # `expiresAt` beyond the return window (oms.config `ledger_ttl_days`).
        self.orders_table = self._table(
            "OrdersTable",
            partition_key=dynamodb.Attribute(name="orderId", type=_STRING),
            sort_key=dynamodb.Attribute(name="record", type=_STRING),
            time_to_live_attribute=EXPIRES_AT,
        )

    def _table(
        self,
        construct_id: str,
        *,
        partition_key: dynamodb.Attribute,
        sort_key: dynamodb.Attribute | None = None,
        time_to_live_attribute: str | None = None,
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=partition_key,
            sort_key=sort_key,
            time_to_live_attribute=time_to_live_attribute,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def grant_worker_access(self, grantee: iam.IGrantable) -> None:
        """Both tables, the item actions the worker's activities use. TransactWriteItems is
        authorised per item action (the ledger's transactions Put and Update), so it needs no
        action of its own; no ConditionCheck (none is built), Scan, Query, Delete or BatchWrite
        (tests/infra/test_grants_from_code.py derives this from the code)."""
        for table in (self.inventory_table, self.orders_table):
            table.grant(grantee, *WORKER_TABLE_ACTIONS)

    def grant_starter_access(self, grantee: iam.IGrantable) -> None:
        """The order ledger only: read and claim an order's entry (no stock, no scans)."""
        self.orders_table.grant(grantee, *STARTER_TABLE_ACTIONS)


_STRING = dynamodb.AttributeType.STRING
STARTER_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")
WORKER_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
