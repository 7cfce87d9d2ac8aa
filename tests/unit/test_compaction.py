"""The compaction plan: parts reach the part size, merges keep the queue short and copy each byte few times."""

from chalicelib.domain.compaction import MAX_TAKE, SOFT_SEGMENTS, Merge, Part, Segment, part_bytes, plan


def queue(*sizes, level=0):
    return [Segment(f"c{i}", s, level) for i, s in enumerate(sizes)]


def test_a_part_takes_the_shortest_prefix_reaching_the_part_size():
    assert plan(queue(40, 40, 40), 0, 100, final=False) == Part(3)
    assert plan(queue(40, 40), 0, 100, final=False) is None
    assert plan(queue(100, 1), 0, 100, final=False) == Part(1)


def test_parts_grow_tenfold_after_a_thousand():
    assert part_bytes(999, 5) == 5 and part_bytes(1000, 5) == 50
    assert plan(queue(100, 100), 1000, 100, final=False) is None


def test_final_takes_everything_and_only_the_last_part_may_be_small():
    assert plan(queue(10), 0, 100, final=True) == Part(1)
    assert plan(queue(150, 40), 0, 100, final=True) == Part(2)
    assert plan(queue(150, 60), 0, 100, final=True) == Part(1)
    assert plan(queue(120, 120, 5), 0, 100, final=True) == Part(1)


def test_tiny_chunks_are_merged_with_a_bounded_copy_count():
    """Feed 1-byte chunks; track how often each byte is rewritten and how long the queue gets."""
    segments: list[Segment] = []
    longest = 0
    rewritten = 0
    for n in range(50_000):
        segments.append(Segment(f"c{n}", 1, 0))
        while True:
            step = plan(segments, 0, 10**9, final=False)
            if step is None:
                break
            assert isinstance(step, Merge)
            run = segments[step.start:step.end]
            rewritten += sum(s.size for s in run)
            merged = Segment("m", sum(s.size for s in run), max(s.level for s in run) + 1)
            segments[step.start:step.end] = [merged]
        longest = max(longest, len(segments))
        levels = [s.level for s in segments]
        assert levels == sorted(levels, reverse=True)
    assert longest <= SOFT_SEGMENTS
    assert rewritten / 50_000 < 5  # log16 of the bytes, not their number
    assert max(s.level for s in segments) <= 4
    assert MAX_TAKE >= SOFT_SEGMENTS
