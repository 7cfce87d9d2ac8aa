"""session-audit: the routing table. Each view hands the request to chalicelib/api; nothing else lives here."""

import os

from chalice.app import Rate, Request

from chalicelib import logs
from chalicelib.api import audit_routes as audit
from chalicelib.api import health_routes as health
from chalicelib.api import lake_export as lake
from chalicelib.api import purge_routes as purge
from chalicelib.api import recording_routes as recordings
from chalicelib.api import session_routes as sessions
from chalicelib.api import settings_routes as settings
from chalicelib.api import static_routes as static
from chalicelib.api.http import ServiceApp, middleware
from chalicelib.settings import log_level

# JSON lines at LOG_LEVEL (chalicelib/logs.py); a bad LOG_LEVEL fails the import, so the function does not start
logs.configure(log_level(os.environ))
app = ServiceApp(app_name="session-audit")  # Chalice; each view maps domain errors to HTTP (api/errors.at_boundary)
app.register_middleware(logs.with_request_id, "all")
app.api.binary_types.extend(["video/webm", "application/x-asciicast"])
app.register_middleware(middleware, "http")


def request() -> Request:
    return app.current_request  # type: ignore[return-value]  # always set while a view runs


@app.route("/", methods=["GET"])
def viewer_index():
    return static.index()


@app.route("/openapi.yaml", methods=["GET"])
def openapi_document():
    return static.openapi()


@app.route("/viewer/{name}", methods=["GET"])
def viewer_file(name):
    return static.viewer_file(name)


@app.route("/viewer/vendor/{name}", methods=["GET"])
def viewer_vendor_file(name):
    return static.vendor_file(name)


@app.route("/sessions", methods=["GET"])
def list_sessions():
    return sessions.list_sessions(request())


@app.route("/sessions", methods=["POST"])
def start_session():
    return sessions.start(request())


@app.route("/sessions/rdp-session", methods=["POST"])
def start_rdp_session():
    return sessions.start_rdp(request())


@app.route("/sessions", methods=["DELETE"])
def purge_sessions():
    return purge.purge(request())


@app.route("/sessions/{session_id}", methods=["GET"])
def get_session(session_id):
    return sessions.get_session(request(), session_id)


@app.route("/sessions/{session_id}", methods=["DELETE"])
def delete_session(session_id):
    return purge.delete_session(request(), session_id)


@app.route("/sessions/{session_id}/hold", methods=["PUT"])
def hold_session(session_id):
    return purge.hold(request(), session_id)


@app.route("/sessions/{session_id}/hold", methods=["DELETE"])
def release_session(session_id):
    return purge.release(request(), session_id)


@app.route("/file-sessions/{session_id}", methods=["DELETE"])
def delete_file_session(session_id):
    return purge.delete_file_session(request(), session_id)


@app.route("/file-sessions/{session_id}/hold", methods=["PUT"])
def hold_file_session(session_id):
    return purge.hold_file_session(request(), session_id)


@app.route("/file-sessions/{session_id}/hold", methods=["DELETE"])
def release_file_session(session_id):
    return purge.release_file_session(request(), session_id)


@app.route("/access-log", methods=["GET"])
def access_log():
    return purge.list_access_log(request())


@app.route("/health", methods=["GET"])
def health_report():
    return health.health(request())


@app.route("/settings/recording", methods=["GET"])
def get_recording_settings():
    return settings.get_recording(request())


@app.route("/settings/recording", methods=["PUT"])
def put_recording_settings():
    return settings.put_recording(request())


@app.route("/connections/{connection_id}", methods=["PUT"])
def put_connection(connection_id):
    return settings.put_connection(request(), connection_id)


@app.route("/sessions/{session_id}/commands", methods=["POST"])
def add_commands(session_id):
    return audit.add_commands(request(), session_id)


@app.route("/sessions/{session_id}/commands", methods=["GET"])
def list_commands(session_id):
    return audit.list_commands(request(), session_id)


@app.route("/sessions/{session_id}/recording/events", methods=["POST"])
def add_input_events(session_id):
    return audit.add_input_events(request(), session_id)


@app.route("/sessions/{session_id}/recording/events", methods=["GET"])
def list_input_events(session_id):
    return audit.list_input_events(request(), session_id)


@app.route("/file-sessions", methods=["GET"])
def list_file_sessions():
    return audit.list_file_sessions(request())


@app.route("/file-sessions/{session_id}/events", methods=["POST"])
def add_file_events(session_id):
    return audit.add_file_events(request(), session_id)


@app.route("/file-sessions/{session_id}/events", methods=["GET"])
def list_file_events(session_id):
    return audit.list_file_events(request(), session_id)


@app.route("/file-sessions/{session_id}/export", methods=["GET"])
def export_file_session(session_id):
    return audit.export_file_session(request(), session_id)


@app.route("/sessions/storage", methods=["GET"])
def recording_storage():
    return recordings.storage(request())


@app.route("/sessions/{session_id}/recording/chunk", methods=["POST"], content_types=list(recordings.CHUNK_TYPES))
def recording_chunk(session_id):
    return recordings.chunk(request(), session_id)


# no text/plain: a page of any site may send that without asking (the recorder's finalize sends no body at all)
@app.route("/sessions/{session_id}/recording/finalize", methods=["POST"],
           content_types=["application/json", "application/octet-stream"])
def recording_finalize(session_id):
    return recordings.finalize(request(), session_id)


@app.route("/sessions/{session_id}/recording", methods=["GET"])
def recording_playback(session_id):
    return recordings.playback(request(), session_id)


@app.schedule(Rate(2, unit=Rate.MINUTES), name="recording_sweep")
def recording_sweep(event):
    return recordings.sweep()


@app.lambda_function(name="purge_worker")
def purge_worker(event, context):
    return purge.worker()


@app.schedule(Rate(1, unit=Rate.HOURS), name="retention_sweep")
def retention_sweep(event):
    return purge.retention_sweep()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="lake_export")
def lake_export(event):
    return lake.export()
