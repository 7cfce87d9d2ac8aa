"""The viewer's static files: served without a token, with their own Content-Type, and nothing else."""

from __future__ import annotations

import pytest

from chalicelib.api import static_routes
from chalicelib.errors import BadRequest, NotFound

PAGES = sorted(p.name for p in static_routes.VIEWER.iterdir() if p.is_file())


@pytest.fixture
def test_pages(monkeypatch):
    """The browser tests' page served, as on the local stack (SERVE_TEST_PAGES=1)."""
    from chalicelib.settings import get_settings

    monkeypatch.setenv("SERVE_TEST_PAGES", "1")
    get_settings.cache_clear()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_of_the_folder_is_served_with_its_type(api, test_pages, name):
    response = api.get(f"/viewer/{name}", content_type=None)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == static_routes.TYPES["." + name.rsplit(".", 1)[1]]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body == (static_routes.VIEWER / name).read_bytes()


@pytest.mark.parametrize(("name", "content_type"), [
    ("asciinema-player.min.js", "text/javascript; charset=utf-8"),
    ("asciinema-player.css", "text/css; charset=utf-8"),
])
def test_the_player_files_are_served(api, name, content_type):
    response = api.get(f"/viewer/vendor/{name}", content_type=None)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.body == (static_routes.VENDOR / name).read_bytes()
    assert len(response.body) > 10_000


@pytest.mark.parametrize("path", ["/", "/viewer/browser-check.html"])
def test_pages_carry_a_content_security_policy_naming_the_storage_origin(api, test_pages, path):
    policy = api.get(path, content_type=None).headers["Content-Security-Policy"]
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    # the tests' emulator has no endpoint URL: presigned URLs point at the bucket's own origin on S3
    assert directives["media-src"].endswith("https://session-audit-test.s3.amazonaws.com")
    assert directives["connect-src"] == "'self' https://session-audit-test.s3.amazonaws.com"


def test_scripts_and_styles_carry_no_policy(api):
    assert "Content-Security-Policy" not in api.get("/viewer/viewer.js", content_type=None).headers


def test_the_storage_origin_follows_the_s3_endpoint(moto, monkeypatch):
    from chalicelib import aws, container
    from chalicelib.settings import ConfigError, get_settings, load_settings

    assert static_routes.storage_origin() == "https://session-audit-test.s3.amazonaws.com"
    for env, origin in ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000/"}, "http://127.0.0.1:5000"), (
            {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "https://s3.local:9"}, "https://s3.local:9"):
        for name, value in {"S3_ADDRESSING_STYLE": "path", **env}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        aws.reset()
        container.use(None)
        assert static_routes.storage_origin() == origin
    base = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "JWT_SECRET": "s" * 32}
    with pytest.raises(ConfigError):
        load_settings({**base, "AWS_ENDPOINT_URL": "ftp://x"})


def test_the_viewer_pages_include_the_browser_check():
    assert {"browser-check.html", "browser-check.js"} <= set(PAGES)


@pytest.mark.parametrize("path", [
    "/viewer/..", "/viewer/%2e%2e", "/viewer/..%2fopenapi.yaml", "/viewer/%2e%2e%2fopenapi.yaml",
    "/viewer/.hidden.js", "/viewer/vendor", "/viewer/Browser-check.html", "/viewer/browser-check.htm",
    "/viewer/browser-check.html%00.js", "/viewer/vendor/LICENSE.asciinema-player",
    "/viewer/vendor/..%2f..%2fopenapi.yaml", "/viewer/vendor/%2e%2e",
])
def test_a_malformed_name_is_a_json_400(api, path):
    response = api.get(path, content_type=None)
    assert response.status_code == 400
    assert "file name" in response.json["error"]


@pytest.mark.parametrize("path", ["/viewer/missing.html", "/viewer/vendor/asciinema-player.js",
                                  "/viewer/vendor/x.css", "/viewer/vendor/browser-check.html"])
def test_a_well_formed_name_of_no_served_file_is_a_json_404(api, path):
    response = api.get(path, content_type=None)
    assert response.status_code == 404
    assert response.json == {"error": "no such file"}


@pytest.mark.parametrize("name", ["../openapi.yaml", "..", "../../app.py", "/etc/passwd", "a/../b.js", "x.js/",
                                  "browser-check.html\n", "vendor/asciinema-player.css"])
def test_names_that_leave_the_folder_are_refused_before_any_file_is_read(name):
    with pytest.raises(BadRequest):
        static_routes.viewer_file(name)
    with pytest.raises(BadRequest):
        static_routes.vendor_file(name)


def test_a_symlink_out_of_the_folder_is_not_followed(tmp_path, monkeypatch):
    folder = tmp_path / "viewer"
    folder.mkdir()
    (tmp_path / "secret.js").write_text("secret")
    (folder / "leak.js").symlink_to(tmp_path / "secret.js")
    (folder / "fine.js").write_text("fine")
    monkeypatch.setattr(static_routes, "VIEWER", folder)
    assert static_routes.viewer_file("fine.js").body == "fine"
    with pytest.raises(NotFound):
        static_routes.viewer_file("leak.js")


def test_the_root_serves_the_viewers_page(api):
    response = api.get("/", content_type=None)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.body == (static_routes.STATIC / "index.html").read_bytes()
    assert b'<script type="module" src="viewer/viewer.js">' in response.body


def test_every_file_the_viewer_loads_is_served(api):
    """The page's links and the modules' imports name files the static routes serve (a typo is a blank page)."""
    import re

    page = (static_routes.STATIC / "index.html").read_text()
    linked = re.findall(r'(?:href|src)="(viewer/[^"]+)"', page)
    modules = [p for p in static_routes.VIEWER.glob("*.js") if p.name != "browser-check.js"]
    imported = {f"viewer/{name}" for module in modules
                for name in re.findall(r'from "\./([^"]+)"', module.read_text())}
    assert {"viewer/viewer.js", "viewer/viewer.css", "viewer/vendor/asciinema-player.min.js"} <= set(linked)
    assert {"viewer/api.js", "viewer/dom.js", "viewer/video.js", "viewer/cast.js"} <= imported
    for path in set(linked) | imported:
        response = api.get("/" + path, content_type=None)
        assert response.status_code == 200, path
