"""/settings/recording and /connections/{id}: settings.manage only, strict bodies."""

import pytest

from tests.support.clients import make_token

USER = make_token("alice")


def test_defaults_and_partial_updates(api, admin):
    floor = {"minRetentionDays": 7, "maxUserBytesPerDay": None}  # the defaults of the two size-retention guards
    assert api.get("/settings/recording", admin).json == {"enabled": False, "retentionDays": 90,
                                                         "maxTotalBytes": None, **floor}
    assert api.put("/settings/recording", admin, {"retentionDays": 30}).json == {
        "enabled": False, "retentionDays": 30, "maxTotalBytes": None, **floor}
    assert api.put("/settings/recording", admin, {"enabled": True, "maxTotalBytes": 10**12}).json == {
        "enabled": True, "retentionDays": 30, "maxTotalBytes": 10**12, **floor}
    assert api.put("/settings/recording", admin, {"maxTotalBytes": None}).json["maxTotalBytes"] is None
    assert api.get("/settings/recording", admin).json == {"enabled": True, "retentionDays": 30,
                                                         "maxTotalBytes": None, **floor}


def test_min_retention_days_and_the_daily_user_cap_are_set_and_cleared(api, admin):
    changed = api.put("/settings/recording", admin, {"minRetentionDays": 0, "maxUserBytesPerDay": 5 * 2**30})
    assert changed.status_code == 200
    assert changed.json["minRetentionDays"] == 0 and changed.json["maxUserBytesPerDay"] == 5 * 2**30
    assert api.put("/settings/recording", admin, {"minRetentionDays": 36_500}).json["minRetentionDays"] == 36_500
    assert api.put("/settings/recording", admin, {"maxUserBytesPerDay": None}).json["maxUserBytesPerDay"] is None
    assert api.get("/settings/recording", admin).json == {
        "enabled": False, "retentionDays": 90, "maxTotalBytes": None, "minRetentionDays": 36_500,
        "maxUserBytesPerDay": None}


@pytest.mark.parametrize("body", [{"enabled": "yes"}, {"retentionDays": 0}, {"retentionDays": 1.5},
                                  {"retentionDays": True}, {"maxTotalBytes": -1}, {"maxTotalBytes": "1"},
                                  {"minRetentionDays": -1}, {"minRetentionDays": 36_501}, {"minRetentionDays": None},
                                  {"minRetentionDays": 1.5}, {"minRetentionDays": True}, {"minRetentionDays": "7"},
                                  {"maxUserBytesPerDay": 0}, {"maxUserBytesPerDay": -1}, {"maxUserBytesPerDay": 2**63},
                                  {"maxUserBytesPerDay": True}, {"maxUserBytesPerDay": "1"},
                                  {"maxUserBytesPerDay": 1.5}, {"enabled": True, "minRetentionDays": -1},
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
