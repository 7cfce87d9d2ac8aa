from tests.store.recording_rig import part_size, rig, soft_segments  # noqa: F401  (fixtures)
