"""/settings/recording and /connections/{id}: settings.manage only, strict bodies."""

import pytest

from tests.support.clients import make_token

USER = make_token("alice")


def test_defaults_and_partial_updates(api, admin):
    assert api.get("/settings/recording", admin).json == {"enabled": False, "retentionDays": 90,
                                                         "maxTotalBytes": None}
    assert api.put("/settings/recording", admin, {"retentionDays": 30}).json == {
        "enabled": False, "retentionDays": 30, "maxTotalBytes": None}
    assert api.put("/settings/recording", admin, {"enabled": True, "maxTotalBytes": 10**12}).json == {
        "enabled": True, "retentionDays": 30, "maxTotalBytes": 10**12}
    assert api.put("/settings/recording", admin, {"maxTotalBytes": None}).json["maxTotalBytes"] is None
    assert api.get("/settings/recording", admin).json == {"enabled": True, "retentionDays": 30,
                                                         "maxTotalBytes": None}


@pytest.mark.parametrize("body", [{"enabled": "yes"}, {"retentionDays": 0}, {"retentionDays": 1.5},
                                  {"retentionDays": True}, {"maxTotalBytes": -1}, {"maxTotalBytes": "1"},
                                  {"colour": "blue"}, [], 3])
def test_bad_settings_are_400_and_change_nothing(api, admin, body):
    assert api.put("/settings/recording", admin, body).status_code == 400
    assert api.get("/settings/recording", admin).json["enabled"] is False


def test_settings_need_settings_manage(api):
    assert api.get("/settings/recording", USER).status_code == 403
    assert api.put("/settings/recording", USER, {"enabled": True}).status_code == 403
    assert api.put("/settings/recording", USER, {"bogus": 1}).status_code == 403  # 403 before 400
    assert api.put("/connections/c1", USER, {"name": "x"}).status_code == 403
    assert api.get("/settings/recording").status_code == 401
    manager = make_token("ops", role="ops", permissions=["settings.manage"])
    assert api.get("/settings/recording", manager).status_code == 200


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": 5}, {"recordingEnabled": "no"}, {"x": 1},
                                  {"name": "n" * 257}])
def test_bad_connection_bodies_are_400(api, admin, body):
    assert api.put("/connections/c1", admin, body).status_code == 400


def test_bad_connection_id_is_400(api, admin):
    assert api.put("/connections/a%2Fb", admin, {"name": "x"}).status_code == 400


def test_wrong_content_type_is_415(api, admin):
    assert api.put("/settings/recording", admin, "enabled=1", content_type="text/plain").status_code == 415
