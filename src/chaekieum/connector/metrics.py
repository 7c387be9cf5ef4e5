"""Prometheus metrics of one connector (served on /metrics)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.queue_depth = Gauge("chaekieum_connector_queue_depth",
                                 "Writes waiting for the hub", registry=r)
        self.hub_up = Gauge("chaekieum_connector_hub_up",
                            "1 if the last call to the hub got an answer", registry=r)
        self.last_contact = Gauge("chaekieum_connector_last_hub_contact_timestamp_seconds",
                                  "Unix time of the last answer from the hub", registry=r)
        self.snapshot_age = Gauge("chaekieum_connector_snapshot_age_seconds",
                                  "Seconds since the offline snapshot was refreshed",
                                  registry=r)
        self.snapshot_members = Gauge("chaekieum_connector_snapshot_members",
                                      "Members in the offline snapshot", registry=r)
        self.open_exceptions = Gauge("chaekieum_connector_open_exceptions",
                                     "Replayed writes kept as exceptions, not yet resolved",
                                     registry=r)
        self.writes = Counter("chaekieum_connector_writes",
                              "Writes received, by kind and outcome "
                              "(online, queued, refused)", ["kind", "outcome"], registry=r)
        self.replayed = Counter("chaekieum_connector_replayed",
                                "Queued writes the hub answered, by final state",
                                ["state"], registry=r)
        self.forward_seconds = Histogram(
            "chaekieum_connector_forward_seconds", "Time to forward a write to the hub",
            buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5), registry=r)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
