"""What a month on AWS costs for two stated workloads: request counts per API call times AWS's public prices.

    python -m scripts.monthly_cost            # the Markdown table of docs/deploy.md

The per-call counts (`CALLS`) are the design's (docs/architecture.md); replace them with the counts the benchmarks
measure (bench/, docs/benchmarks.md) as they come. Prices: us-east-1, on-demand, no free tier, as listed in PRICES.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

KB = 1 / 1024**2  # in GB
MB = 1 / 1024
DAYS = 30

# USD, us-east-1 public prices (Lambda x86, API Gateway REST first tier, DynamoDB on-demand standard table,
# S3 Standard first 50 TB, CloudWatch Logs standard ingestion, data transfer out to the internet first 10 TB).
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "apigw_request": 3.50 / 1e6,
    "ddb_write_unit": 0.625 / 1e6,
    "ddb_read_unit": 0.125 / 1e6,
    "ddb_gb_month": 0.25,
    "ddb_pitr_gb_month": 0.20,
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST; UploadPart counts as a PUT
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    "logs_gb": 0.50,
    "egress_gb": 0.09,
}

LAMBDA_GB = 0.5  # lambda_memory_size 512


@dataclass(frozen=True)
class Call:
    """What one API call costs in AWS requests."""

    lambda_ms: float
    wru: float = 0  # DynamoDB write request units (a transactional write of a <=1 KB item is 2)
    rru: float = 0  # read request units (4 KB eventually consistent reads count 0.5)
    s3_put: float = 0
    s3_get: float = 0
    log_bytes: int = 300


CALLS = {
    # a 5 s WebM chunk (~125 KB at 200 kbit/s): session read, staged PUT, chunk item + totals in one transaction;
    # every 40 chunks (5 MiB) a part: claim, 40 staged GETs, UploadPart, ETag write, staging deleted (free)
    "rdp chunk": Call(lambda_ms=100, wru=4 + 3 / 40, rru=1, s3_put=1 + 1 / 40, s3_get=1),
    # a 5 s flush of a few hundred input events packed into one ~8 KB item
    "rdp events flush": Call(lambda_ms=60, wru=8, rru=1),
    "session start": Call(lambda_ms=50, wru=6, rru=1),
    "finalize": Call(lambda_ms=200, wru=4, rru=2, s3_put=2, s3_get=2),
    # an SSH command or cast append
    "ssh write": Call(lambda_ms=50, wru=3, rru=1, s3_put=0.5),
    # GET /sessions?limit=2000: 2,000 index items of ~0.5 KB, eventually consistent
    "list 2000": Call(lambda_ms=300, rru=2000 * 0.5 / 4 * 0.5, log_bytes=400),
    # presign and redirect; the player's Range requests go to S3 (counted in `playback_gets`)
    "playback": Call(lambda_ms=40, rru=1),
}


@dataclass(frozen=True)
class Workload:
    name: str
    rdp_sessions_per_day: int
    rdp_hours_per_day: float
    ssh_sessions_per_day: int
    ssh_writes_per_session: int
    list_loads_per_day: int
    playbacks_per_day: int
    video_mb_per_hour: float = 90  # 10 frames/s VP9 canvas at ~200 kbit/s
    retention_days: int = 90  # recordings (retentionDays)
    audit_retention_days: int = 365  # events and commands (AUDIT_RETENTION_DAYS)
    playback_gets: int = 20  # Range requests per viewing
    playback_fraction_watched: float = 0.5


WORKLOADS = [
    Workload("small team: 200 sessions/day, 25 h of RDP video/day", rdp_sessions_per_day=50, rdp_hours_per_day=25,
             ssh_sessions_per_day=150, ssh_writes_per_session=40, list_loads_per_day=300, playbacks_per_day=20),
    Workload("large: 5,000 sessions/day, 1,000 h of RDP video/day", rdp_sessions_per_day=2000,
             rdp_hours_per_day=1000, ssh_sessions_per_day=3000, ssh_writes_per_session=40, list_loads_per_day=5000,
             playbacks_per_day=300),
]


def monthly(w: Workload) -> dict[str, float]:
    per_day = {
        "rdp chunk": w.rdp_hours_per_day * 720,
        "rdp events flush": w.rdp_hours_per_day * 720,
        "session start": w.rdp_sessions_per_day + w.ssh_sessions_per_day,
        "finalize": w.rdp_sessions_per_day,
        "ssh write": w.ssh_sessions_per_day * w.ssh_writes_per_session,
        "list 2000": w.list_loads_per_day,
        "playback": w.playbacks_per_day,
    }
    p = PRICES
    calls = sum(per_day.values()) * DAYS
    lambda_cost = calls * p["lambda_request"] + sum(
        n * CALLS[k].lambda_ms / 1000 * LAMBDA_GB for k, n in per_day.items()) * DAYS * p["lambda_gb_second"]
    wru = sum(n * CALLS[k].wru for k, n in per_day.items()) * DAYS
    rru = sum(n * CALLS[k].rru for k, n in per_day.items()) * DAYS
    # per RDP hour 720 chunk items (~0.3 KB) and 720 packed event items (~8 KB); ~0.5 KB per SSH command
    items_gb = (w.rdp_hours_per_day * 720 * (0.3 + 8) * KB
                + w.ssh_sessions_per_day * w.ssh_writes_per_session * 0.5 * KB) * w.audit_retention_days
    video_gb = w.rdp_hours_per_day * w.video_mb_per_hour * MB * w.retention_days
    puts = sum(n * CALLS[k].s3_put for k, n in per_day.items()) * DAYS
    gets = (sum(n * CALLS[k].s3_get for k, n in per_day.items()) + w.playbacks_per_day * w.playback_gets) * DAYS
    watched_gb = w.playbacks_per_day * w.playback_fraction_watched * (w.rdp_hours_per_day / max(
        w.rdp_sessions_per_day, 1)) * w.video_mb_per_hour * MB * DAYS
    log_gb = sum(n * CALLS[k].log_bytes for k, n in per_day.items()) * DAYS / 1024**3
    return {
        "API calls": calls,
        "API Gateway": calls * p["apigw_request"],
        "Lambda": lambda_cost,
        "DynamoDB requests": wru * p["ddb_write_unit"] + rru * p["ddb_read_unit"],
        "DynamoDB storage + PITR": items_gb * (p["ddb_gb_month"] + p["ddb_pitr_gb_month"]),
        "S3 requests": puts * p["s3_put"] + gets * p["s3_get"],
        "S3 storage": video_gb * p["s3_gb_month"],
        "CloudWatch Logs": log_gb * p["logs_gb"],
        "Playback egress": watched_gb * p["egress_gb"],
    }


def table() -> str:
    results = [monthly(w) for w in WORKLOADS]
    lines = ["| per month (USD) | " + " | ".join(w.name for w in WORKLOADS) + " |",
             "|---|" + "---:|" * len(WORKLOADS)]
    for key in results[0]:
        cells = [f"{r[key]:,.0f}" if key == "API calls" else f"{r[key]:,.2f}" for r in results]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    totals = [sum(v for k, v in r.items() if k != "API calls") for r in results]
    lines.append("| **total** | " + " | ".join(f"**{t:,.2f}**" for t in totals) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
