"""How staged chunks become multipart parts: pure planning, no AWS.

The live recording holds an ordered queue of segments (staged S3 objects). A segment is a committed chunk
(level 0) or the concatenation of earlier segments made by a merge (level n+1 out of a run of level n).
Levels never increase along the queue (merges replace a maximal run of equal level, whose predecessor is
higher), so at most ~log16(queue bytes) levels exist and a merge rewrites each byte at most that many times:
tiny chunks (an SSH proxy posting each output burst) cost a few extra copies, never a quadratic number.

A part takes the shortest queue prefix that reaches the part size; parts grow tenfold after BIG_PART_AFTER
parts so that 10,000 parts hold ~444 GiB.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.model.recording import BIG_PART_AFTER, BIG_PART_FACTOR, Mode, Recording, Segment

MAX_PARTS = 10_000
MAX_TAKE = 200  # segments per part or merge: bounds the UpdateExpression (4 KB) and the reads of one step
SOFT_SEGMENTS = 128  # beyond this a commit asks for compaction even below the part size (keeps REC small)
HARD_SEGMENTS = 1000  # beyond this a commit is refused: compaction has been failing for a long time
FAN = 16


@dataclass(frozen=True)
class Part:
    """Upload queue[0:take] as the next part."""

    take: int


@dataclass(frozen=True)
class Merge:
    """Replace queue[start:end] with one staged object."""

    start: int
    end: int


@dataclass(frozen=True)
class Promote:
    """Move these slots (ascending indices, from `sealed`) to the queue's end (indexed recordings)."""

    taken: tuple[int, ...]


Plan = Part | Merge | None
Step = Promote | Part | Merge | None  # what a compaction run does next (None: nothing is due)


def part_bytes(parts_done: int, base: int) -> int:
    """The size the next part must reach (all but the last)."""
    return base * BIG_PART_FACTOR if parts_done >= BIG_PART_AFTER else base


def choose_merge(queue: list[Segment], fan: int = FAN) -> Merge | None:
    """The lowest-level run of at least `fan` equal-level segments (else the longest run), capped at MAX_TAKE."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(queue) + 1):
        if i == len(queue) or queue[i].level != queue[start].level:
            runs.append((start, i))
            start = i
    long_runs = [r for r in runs if r[1] - r[0] >= fan]
    if long_runs:
        run = long_runs[-1]
    else:
        run = max(runs, key=lambda r: r[1] - r[0], default=(0, 0))
        if run[1] - run[0] < 2:
            run = (max(0, len(queue) - fan), len(queue))  # no equal-level run: merge the tail
    begin, end = run
    if end - begin < 2:
        return None
    return Merge(begin, min(end, begin + MAX_TAKE))


def plan(queue: list[Segment], parts_done: int, base_part: int, final: bool, soft: int = SOFT_SEGMENTS) -> Plan:
    """The next compaction step, or None when nothing is due.

    `final`: the recording is closed, so everything must become parts; the last part may be small.
    `soft`: the queue length that asks for a merge (FAN scales with it: 8 levels fit below it).
    """
    fan = max(2, soft // 8)
    if not queue:
        return None
    target = part_bytes(parts_done, base_part)
    total = sum(s.size for s in queue)
    if final and total < 2 * target:
        return Part(len(queue)) if len(queue) <= MAX_TAKE else choose_merge(queue, fan)
    if total >= target:
        running = take = 0
        while running < target:
            running += queue[take].size
            take += 1
        if take <= MAX_TAKE:
            return Part(take)
        return choose_merge(queue[:take], fan)
    if len(queue) >= soft:
        return choose_merge(queue, fan)
    return None


def next_step(rec: Recording, base_part: int, final: bool, soft: int = SOFT_SEGMENTS) -> Step:
    """The next step for a live recording: promote what indexed chunks allow, then plan parts and merges.

    `final` takes every slot, holes and all (the recording is closed, the holes stay missing)."""
    if rec.mode == Mode.INDEXED and rec.slots:
        present = sorted(rec.slots)
        if final:
            taken = present[:MAX_TAKE]
        else:
            taken = []
            for i in present:
                if i != rec.sealed + len(taken) or len(taken) == MAX_TAKE:
                    break
                taken.append(i)
        if taken:
            return Promote(tuple(taken))
    queue = list(rec.queue)
    if final and not rec.upload_id and len(queue) <= MAX_TAKE and \
            sum(s.size for s in queue) < 2 * part_bytes(0, base_part):
        return None  # small enough for one PutObject at completion: no multipart upload at all
    return plan(queue, rec.parts, base_part, final, soft)
