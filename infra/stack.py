"""The one stack: composes the capability constructs and wires them together.

No resource is defined here; this module only decides who talks to whom (grants) and what
each process is told (environment), so the wiring reads in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.alarms import Alarms
from infra.components.bundling import starter_code
from infra.components.dashboard import Dashboard
from infra.components.email import Email
from infra.components.events import PartnerEvents
from infra.components.intake import IntakeQueues
from infra.components.network import Network
from infra.components.payload_key import PayloadKey
from infra.components.replay_gate import ReplayGate, family_name
from infra.components.scaling import BacklogPublisher, BacklogScaling
from infra.components.starter import Starter
from infra.components.storage import Storage
from infra.components.temporal import TemporalConnection
from infra.components.workers import Workers, worker_image
from infra.config import DeployConfig

_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}


class OmsStack(cdk.Stack):
    """SQS intake -> starter Lambda -> Temporal Cloud <- Fargate workers -> DynamoDB, SES."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        project_dir: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = _RETENTION[config.log_retention_days]

        temporal = TemporalConnection(
            self,
            "Temporal",
            address=config.temporal_address,
            namespace=config.temporal_namespace,
            auth=config.temporal_auth,
            secret=config.temporal_secret,
        )
        intake = IntakeQueues(
            self,
            "Intake",
            visibility_timeout=cdk.Duration.seconds(config.queue_visibility_timeout_seconds),
            max_receive_count=config.dlq_max_receive_count,
        )
        storage = Storage(self, "Storage")
        payload_key = PayloadKey(self, "PayloadKey")
        email = Email(
            self,
            "Email",
            sender_email=config.sender_email,
            sender_domain=config.sender_domain,
            test_recipients=config.ses_test_recipients,
        )
        network = Network(
            self,
            "Network",
            vpc_id=config.vpc_id,
            private_subnet_ids=config.vpc_private_subnet_ids,
            availability_zones=config.vpc_availability_zones,
            nat_gateways=config.nat_gateways,
            log_retention=retention,
        )
        # One asset for both Lambdas (the starter and the backlog publisher): bundled once.
        lambda_code = starter_code(project_dir)
        starter = Starter(
            self,
            "Starter",
            intake=intake,
            temporal=temporal,
            code=lambda_code,
            task_queue=config.task_queue,
            timeout=cdk.Duration.seconds(config.starter_timeout_seconds),
            memory_mib=config.starter_memory_mib,
            batch_size=config.starter_batch_size,
            max_concurrency=config.starter_concurrency,
            reserved_concurrency=config.starter_reserved_concurrency,
            log_retention=retention,
        )
        image = worker_image(project_dir)
        workers = Workers(
            self,
            "Workers",
            vpc=network.vpc,
            subnets=network.worker_subnets,
            assign_public_ip=network.public_egress,
            image=image,
            environment={
                **temporal.environment,
                "OMS_TASK_QUEUE": config.task_queue,
                "OMS_INVENTORY_TABLE": storage.inventory_table.table_name,
                "OMS_ORDERS_TABLE": storage.orders_table.table_name,
                "OMS_PAYLOAD_KEY_ID": payload_key.key_arn,
                "OMS_SENDER_EMAIL": email.sender_email,
                "OMS_SES_CONFIGURATION_SET": email.configuration_set.configuration_set_name,
                "OMS_GRACEFUL_SHUTDOWN_SECONDS": str(config.worker_drain_seconds),
                # What shapes the workflows the workers run (DeployConfig, docs/DEPLOY.md).
                "OMS_ATTENTION_AFTER_SECONDS": str(config.attention_after_seconds),
                "OMS_RETURN_WINDOW_DAYS": str(config.return_window_days),
                "OMS_RETURN_PARCEL_DAYS": str(config.return_parcel_days),
                "OMS_LEDGER_RETENTION_DAYS": str(config.ledger_retention_days),
                "OMS_LOG_LEVEL": "INFO",
                "OMS_LOG_FORMAT": "json",
                "OMS_METRICS": "emf",
                "AWS_REGION": self.region,
            },
            secrets=temporal.container_secrets(),
            cpu=config.worker_cpu,
            memory_mib=config.worker_memory_mib,
            desired_count=config.worker_count,
            min_count=config.worker_min_count,
            max_count=config.worker_max_count,
            cpu_target_percent=config.worker_cpu_target_percent,
            stop_timeout=cdk.Duration.seconds(config.stop_timeout_seconds),
            log_retention=retention,
            builds=config.worker_builds,
            deployment_name=config.worker_deployment,
        )
        # The new build's code replays recent histories in the account before promotion.
        replay_gate = ReplayGate(
            self,
            "ReplayGate",
            family=family_name(config.stack_name),
            image=image,
            environment={
                **temporal.environment,
                "OMS_TASK_QUEUE": config.task_queue,
                "OMS_PAYLOAD_KEY_ID": payload_key.key_arn,
                "OMS_LOG_FORMAT": "json",
                "AWS_REGION": self.region,
            },
            secrets=temporal.container_secrets(),
            log_retention=retention,
            vpc=network.vpc,
        )
        payload_key.grant_decrypt(replay_gate.task_role)
        storage.grant_worker_access(workers.task_role)
        email.grant_send(workers.task_role)
        payload_key.grant_encrypt_decrypt(workers.task_role)
        payload_key.grant_encrypt(starter.function)
        starter.function.add_environment("OMS_PAYLOAD_KEY_ID", payload_key.key_arn)
        # The starter records every order id in the ledger (duplicates outlive Temporal's
        # retention; a cancellation may arrive before its order).
        storage.grant_starter_access(starter.function)
        starter.function.add_environment("OMS_ORDERS_TABLE", storage.orders_table.table_name)
        starter.function.add_environment("OMS_METRICS", "emf")
        # The starter puts the attention window into each order's input and writes the ledger.
        starter.function.add_environment(
            "OMS_ATTENTION_AFTER_SECONDS", str(config.attention_after_seconds)
        )
        starter.function.add_environment(
            "OMS_LEDGER_RETENTION_DAYS", str(config.ledger_retention_days)
        )
        # Carrier events: webhook -> queue -> events Lambda -> a signal to the parcel's delivery.
        events = PartnerEvents(
            self, "Events", temporal=temporal, code=lambda_code, log_retention=retention
        )
        payload_key.grant_encrypt(events.function)  # signals carry the event, encrypted
        events.function.add_environment("OMS_PAYLOAD_KEY_ID", payload_key.key_arn)
        # It reads the tracking number's ledger item (which delivery), nothing else.
        storage.orders_table.grant(events.function, "dynamodb:GetItem")
        events.function.add_environment("OMS_ORDERS_TABLE", storage.orders_table.table_name)
        # Scale on the task queue's backlog, sampled every minute (components/scaling.py).
        publisher = BacklogPublisher(
            self,
            "Backlog",
            temporal=temporal,
            code=lambda_code,
            task_queue=config.task_queue,
            log_retention=retention,
            deployment_name=config.worker_deployment,
        )
        scaling = BacklogScaling(
            self,
            "Scaling",
            scaling=workers.scaling,
            publisher=publisher,
            running_tasks=workers.metric_running_tasks(),
            cpu=workers.service.metric_cpu_utilization(period=cdk.Duration.minutes(1)),
            cpu_target_percent=config.worker_cpu_target_percent,
        )
        tables = [storage.orders_table, storage.inventory_table]
        alarms = Alarms(
            self,
            "Alarms",
            intake_queue=intake.queue,
            dlq=intake.dlq,
            starter=starter.function,
            workers=workers,
            publisher=publisher,
            tables=tables,
            min_workers=config.worker_min_count,
            alarm_email=config.alarm_email,
        )
        events.alarm_on_dead_letters(alarms.topic)
        if config.stage == "production" and not config.alarm_email:
            # A warning, not an error: `cdk synth` on a fresh clone must work; deploy.yml
            # refuses to deploy production without ALARM_EMAIL.
            cdk.Annotations.of(alarms).add_warning_v2(
                "oms:alarmEmail", "no alarmEmail: the alarms of this production stack reach nobody"
            )
        Dashboard(
            self,
            "Dashboard",
            intake_queue=intake.queue,
            dlq=intake.dlq,
            starter=starter.function,
            workers=workers,
            publisher=publisher,
            scaling=scaling,
            tables=tables,
            alarms=alarms.alarms,
        )

        outputs = {
            "IntakeQueueUrl": intake.queue.queue_url,
            "DeadLetterQueueUrl": intake.dlq.queue_url,
            "InventoryTableName": storage.inventory_table.table_name,
            "OrdersTableName": storage.orders_table.table_name,
            "StarterFunctionName": starter.function.function_name,
            "WorkerClusterName": workers.cluster.cluster_name,
            "WorkerServiceName": workers.service.service_name,
            # Where the pipeline pushes each deployed build's image, tagged with the commit.
            "WorkerImageRepositoryUri": workers.build_images.repository_uri,
            # The replay gate decrypts the namespace's histories with it.
            "PayloadKeyArn": payload_key.key_arn,
            # The build services this stack runs (newest first; "" unversioned): the next
            # deploy unites them with Temporal's live builds, and a deploy without builds is
            # refused while this is set (infra/deploy_guard.py).
            "WorkerBuilds": ",".join(config.worker_builds),
            # The newest build's minimum: what `python -m infra.prescale release` restores
            # after the pre-scale to the current build's size (deploy.yml).
            "WorkerMinTasks": str(config.worker_min_count),
            # What `python -m infra.replay_task` needs to run the gate (deploy.yml).
            "ReplayGateTaskDefinition": replay_gate.task_definition.family,
            "ReplayGateSubnets": cdk.Fn.join(
                ",",
                network.vpc.select_subnets(
                    subnet_type=network.worker_subnets.subnet_type
                ).subnet_ids,
            ),
            "ReplayGateSecurityGroup": replay_gate.security_group.security_group_id,
            "ReplayGateAssignPublicIp": "ENABLED" if network.public_egress else "DISABLED",
            # Carriers POST events here, signed (SigV4) by a principal with the policy below.
            "EventsWebhookUrl": events.api.url_for_path("/events"),
            "EventsWebhookInvokePolicyArn": events.invoke_policy.managed_policy_arn,
            "EventsQueueUrl": events.queue.queue_url,
            "EventsDeadLetterQueueUrl": events.dlq.queue_url,
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)
