"""Network: the VPC the workers run in (new, or an existing one given by id)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct


class Network(Construct):
    """Private subnets with egress (workers dial out to Temporal Cloud and AWS APIs; nothing
    dials in). A new VPC gets free gateway endpoints for DynamoDB and S3 (ECR image layers),
    which keeps that traffic off the NAT gateway, and flow logs for auditing.

    With `nat_gateways=0` (development stages) the new VPC has public subnets only: each
    worker gets a public IP for egress and, with no inbound rule, still accepts nothing. That
    saves the NAT gateway (docs/DEPLOY.md, "Egress")."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc_id: str | None,
        private_subnet_ids: Sequence[str],
        availability_zones: Sequence[str],
        nat_gateways: int,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        # Where the workers run, and whether they need a public IP to reach the internet.
        self.public_egress = nat_gateways == 0 and not vpc_id
        subnet_type = (
            ec2.SubnetType.PUBLIC if self.public_egress else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
        self.worker_subnets = ec2.SubnetSelection(subnet_type=subnet_type)
        if vpc_id:
            # Attributes rather than Vpc.from_lookup: a lookup needs credentials at synth.
            self.vpc: ec2.IVpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=vpc_id,
                availability_zones=list(availability_zones),
                private_subnet_ids=list(private_subnet_ids),
            )
            cdk.Validations.of(self.vpc).acknowledge(
                cdk.Acknowledgment(
                    id="Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                    reason="The workers need only the subnet ids; routing is the VPC owner's.",
                )
            )
            return
        flow_log_group = logs.LogGroup(self, "FlowLogs", retention=log_retention)
        subnets = [
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
        ]
        if not self.public_egress:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                )
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
            flow_logs={
                "FlowLog": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
