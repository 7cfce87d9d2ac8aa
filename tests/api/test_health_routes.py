"""GET /health: what a deployment gets wrong (bucket CORS origins, the storage origin, table and bucket), read from
AWS and reported to an admin, never as a 5xx."""

from typing import Any

import pytest

from chalicelib import aws
from tests.support.clients import BUCKET, TABLE, make_token


def report(api: Any, admin: str) -> dict[str, Any]:
    answer = api.get("/health", admin)
    assert answer.status_code == 200, answer.body
    assert answer.headers["Cache-Control"] == "no-store"
    return {"ok": answer.json["ok"], **{c["name"]: c for c in answer.json["checks"]}, "answer": answer.json}


@pytest.fixture
def origins(monkeypatch: pytest.MonkeyPatch, env: None) -> Any:
    def set_(value: str) -> None:
        monkeypatch.setenv("PLAYBACK_ORIGINS", value)
    return set_


def test_a_deployment_whose_cors_names_the_playback_origin_is_healthy(origins, api, admin):
    origins("http://127.0.0.1:8000")  # the origin the test bucket's CORS rule names
    found = report(api, admin)
    assert found["ok"] is True
    assert [found[name]["ok"] for name in ("table", "bucket", "playbackOrigins", "bucketCors")] == [True] * 4
    answer = found["answer"]
    assert answer["playbackOrigins"] == ["http://127.0.0.1:8000"]
    # the storage origin is where playback's presigned URLs point
    assert api.put("/settings/recording", admin, {"enabled": True}).status_code == 200
    session_id = api.post("/sessions", admin, {"protocol": "ssh", "connectionId": "c1"}).json["sessionId"]
    cast = b'{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "hi"]\n'
    assert api.post(f"/sessions/{session_id}/recording/chunk", admin, cast,
                    content_type="application/x-asciicast").status_code == 200
    assert api.post(f"/sessions/{session_id}/recording/finalize", admin).status_code == 200
    url = api.get(f"/sessions/{session_id}/recording?redirect=false", admin).json["url"]
    assert url.startswith(answer["storageOrigin"] + "/")
    assert answer["gatewayContentSecurityPolicy"] == f"connect-src and media-src must allow {answer['storageOrigin']}"


def test_an_origin_the_bucket_does_not_name_is_reported(origins, api, admin):
    origins("http://127.0.0.1:8000,https://gateway.example.com")
    found = report(api, admin)
    assert found["ok"] is False and found["bucketCors"]["ok"] is False
    assert found["bucketCors"]["missing"] == ["https://gateway.example.com: no rule names this origin"]
    assert found["table"]["ok"] and found["bucket"]["ok"]


def test_a_rule_that_forgets_head_or_range_is_reported(origins, api, admin):
    origins("https://gateway.example.com")
    aws.session().client("s3").put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET"], "AllowedHeaders": ["Authorization"]},
    ]})
    found = report(api, admin)
    assert found["bucketCors"]["missing"] == ["https://gateway.example.com: method HEAD",
                                              "https://gateway.example.com: header range"]
    aws.session().client("s3").delete_bucket_cors(Bucket=BUCKET)
    assert report(api, admin)["bucketCors"]["missing"] == ["https://gateway.example.com: no rule names this origin"]


def test_no_playback_origin_is_reported(api, admin):
    found = report(api, admin)
    assert found["ok"] is False and found["playbackOrigins"]["ok"] is False
    assert "PLAYBACK_ORIGINS is empty" in found["playbackOrigins"]["detail"]


def test_a_missing_table_or_bucket_is_reported_not_raised(origins, api, admin):
    origins("http://127.0.0.1:8000")
    s3 = aws.session().client("s3")
    for key in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]:
        s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_bucket(Bucket=BUCKET)
    found = report(api, admin)
    assert (found["bucket"]["ok"], found["bucket"]["detail"]) == (False, "the bucket did not answer: NoSuchBucket")
    assert found["bucketCors"]["ok"] is False and found["table"]["ok"] is True
    aws.session().client("dynamodb").delete_table(TableName=TABLE)
    found = report(api, admin)
    assert found["table"] == {"name": "table", "ok": False, "missing": [],
                              "detail": "the table did not answer: ResourceNotFoundException"}


def test_health_is_for_settings_managers(api):
    assert api.get("/health").status_code == 401
    assert api.get("/health", make_token("alice")).status_code == 403
    assert api.get("/health", make_token("ops", role="ops", permissions=["settings.manage"])).status_code == 200
