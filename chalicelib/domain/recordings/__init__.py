"""The recording pipeline: chunks in, one exact S3 object out (see docs/recordings.md).

A chunk is staged as its own S3 object, then committed by one DynamoDB transaction that appends it to the
recording's queue (or, with X-Chunk-Index, puts it in its slot) and counts its bytes. When the staged bytes
reach the part size, whoever committed last compacts: under a lease it reads the staged objects in order,
uploads them as the next multipart part and records the part. Finalize (or the sweep, for clients that
vanished) turns the rest into the last part and completes the upload. Every step is a conditional write, so
a crash between any two AWS calls leaves a state the next request, a retry or the sweep carries on from.

The pieces, each in its module:
    service.py     RecordingService, the facade the API and schedules hold; initial_items
    ingest.py      chunk commits and their refusals
    compactor.py   compaction steps under REC's lease (planned by chalicelib/domain/compaction.py)
    completion.py  finalize's grace loop, the object's completion, the session told
    sweep.py       the scheduled sweep: idle recordings, dead finalizes, digest, rewrite, cleanup
    seekable.py    the seekable rewrite of a complete WebM
    playback.py    presigned playback and download, the storage total
    records.py, staging.py, timing.py   what several pieces share
"""

from chalicelib.domain.recordings.ingest import MAX_CHUNK_BYTES, MAX_INDEX
from chalicelib.domain.recordings.playback import Playback
from chalicelib.domain.recordings.records import media
from chalicelib.domain.recordings.service import RecordingService, initial_items

__all__ = ["MAX_CHUNK_BYTES", "MAX_INDEX", "Playback", "RecordingService", "initial_items", "media"]
