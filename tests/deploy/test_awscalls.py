"""The static finder of AWS calls sees every way the code reaches AWS, and only those."""

from __future__ import annotations

import textwrap

from tests.support import awscalls

CLIENTS = textwrap.dedent("""
    import boto3
    s3 = boto3.client("s3")
    lam = boto3.client("lambda")
    table = boto3.resource("dynamodb").Table("t")
""")


def needs_of(code: str) -> set[tuple[str, str]]:
    calls, unknown = awscalls.find_calls({"m.py": CLIENTS + textwrap.dedent(code)})
    assert not unknown, unknown
    return {(n.action, n.resource) for c in calls for n in awscalls.needs(c)}


def test_client_calls_map_to_their_iam_actions() -> None:
    assert needs_of("s3.put_object(Bucket='b', Key='k', Body=b'')") == {("s3:PutObject", "object")}
    assert needs_of("s3.upload_part(Bucket='b', Key='k')") == {("s3:PutObject", "object")}
    assert needs_of("s3.abort_multipart_upload()") == {("s3:AbortMultipartUpload", "object")}
    assert needs_of("s3.delete_objects()") == {("s3:DeleteObject", "object")}
    assert needs_of("s3.list_multipart_uploads()") == {("s3:ListBucketMultipartUploads", "bucket")}
    assert needs_of("s3.upload_part_copy()") == {("s3:PutObject", "object"), ("s3:GetObject", "object")}
    assert needs_of("lam.invoke(FunctionName='f', InvocationType='Event')") == {("lambda:InvokeFunction", "function")}


def test_presigned_urls_need_the_action_they_sign() -> None:
    assert needs_of("s3.generate_presigned_url(ClientMethod='get_object', Params={})") == {("s3:GetObject", "object")}
    assert needs_of("s3.generate_presigned_url('put_object', Params={})") == {("s3:PutObject", "object")}


def test_a_presigned_url_of_an_unknown_method_is_reported() -> None:
    _, unknown = awscalls.find_calls({"m.py": CLIENTS + "s3.generate_presigned_url(method, Params={})\n"})
    assert unknown and "not a string literal" in unknown[0].why


def test_paginators_and_waiters_need_their_operation() -> None:
    assert needs_of("s3.get_paginator('list_objects_v2').paginate(Bucket='b')") == {("s3:ListBucket", "bucket")}
    assert needs_of("table.meta.client.get_paginator('query')") == {("dynamodb:Query", "table"),
                                                                    ("dynamodb:Query", "index")}
    assert needs_of("s3.get_waiter('object_exists')") == {("s3:GetObject", "object")}


def test_table_resource_methods_and_meta_client() -> None:
    assert needs_of("table.get_item(Key={})") == {("dynamodb:GetItem", "table")}
    assert needs_of("with table.batch_writer() as batch:\n    batch.put_item(Item={})\n") == {
        ("dynamodb:BatchWriteItem", "table"), ("dynamodb:PutItem", "table")}
    assert needs_of("table.delete()") == {("dynamodb:DeleteTable", "table")}
    assert needs_of("table.meta.client.batch_get_item(RequestItems={})") == {("dynamodb:BatchGetItem", "table")}


def test_transactions_need_the_kinds_of_items_they_write() -> None:
    code = "table.meta.client.transact_write_items(TransactItems=[{'Put': {}}, {'ConditionCheck': {}}])"
    assert needs_of(code) == {("dynamodb:PutItem", "table"), ("dynamodb:ConditionCheckItem", "table")}


def test_lookalikes_are_not_aws_calls() -> None:
    assert needs_of("settings.update({'a': 1})\nvalues.get('x')\nitems.copy()") == set()
    assert needs_of("thing.put_object(1)  # iam: not-aws") == set()


def test_kms_objects_need_the_key() -> None:
    found = [awscalls.Need("s3:PutObject", "object", "m.py:1"), awscalls.Need("s3:GetObject", "object", "m.py:2")]
    assert {n.action for n in awscalls.implicit_needs(found, kms=True)} == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert awscalls.implicit_needs(found, kms=False) == []
