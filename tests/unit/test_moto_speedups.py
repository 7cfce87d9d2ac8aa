"""scripts/moto_speedups.py: moto's transactions roll back item by item, and a Query reads one partition; what
requests answer must not change."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts import moto_speedups


@pytest.fixture
def table() -> Any:
    moto_speedups.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                                  {"AttributeName": "SK", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                       {"AttributeName": "SK", "KeyType": "RANGE"}])
        resource = boto3.resource("dynamodb", region_name="us-east-1").Table("t")
        resource.put_item(Item={"PK": "a", "SK": "1", "n": 1})
        resource.put_item(Item={"PK": "a", "SK": "2", "n": 2})
        resource.put_item(Item={"PK": "b", "SK": "1", "n": 3})
        yield resource


def items(table: Any) -> list[dict[str, Any]]:
    return sorted(table.scan()["Items"], key=lambda i: (i["PK"], i["SK"]))


def test_a_failed_transaction_changes_nothing_it_had_written_before_failing(table):
    before = items(table)
    client = table.meta.client
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"PK": "c", "SK": "1", "n": 9}}},  # new item
            {"Update": {"TableName": "t", "Key": {"PK": "a", "SK": "1"}, "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": 10}}},
            {"Delete": {"TableName": "t", "Key": {"PK": "a", "SK": "2"}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": "b", "SK": "1"}, "ConditionExpression": "n = :x",
                                "ExpressionAttributeValues": {":x": 99}}},  # fails last
        ])
    assert items(table) == before
    assert table.query(KeyConditionExpression="PK = :c", ExpressionAttributeValues={":c": "c"})["Items"] == []


def test_a_transaction_that_holds_writes_everything(table):
    table.meta.client.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": {"PK": "c", "SK": "1", "n": 9}}},
        {"Update": {"TableName": "t", "Key": {"PK": "a", "SK": "1"}, "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": 10}}},
        {"Delete": {"TableName": "t", "Key": {"PK": "a", "SK": "2"}}},
    ])
    assert [(i["PK"], i["SK"], i["n"]) for i in items(table)] == [("a", "1", 10), ("b", "1", 3), ("c", "1", 9)]


def test_a_query_reads_its_partition_in_order_with_conditions_and_paging(table):
    found = table.query(KeyConditionExpression="PK = :a", ExpressionAttributeValues={":a": "a"},
                        ScanIndexForward=False, Limit=1)
    assert [i["SK"] for i in found["Items"]] == ["2"] and found["LastEvaluatedKey"] == {"PK": "a", "SK": "2"}
    rest = table.query(KeyConditionExpression="PK = :a AND SK < :s", ExpressionAttributeValues={":a": "a", ":s": "2"})
    assert [i["n"] for i in rest["Items"]] == [1]
    assert table.query(KeyConditionExpression="PK = :z", ExpressionAttributeValues={":z": "z"})["Items"] == []
