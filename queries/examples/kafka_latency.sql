-- kafka_latency.sql - request latencies from Kafka, percentiles per service, into Redis.
--
-- Services write one JSON record per request to the topic `requests`:
--   {"service": "checkout", "route": "/pay", "status": 200, "latency_ms": 41.7,
--    "at": 1714564800123}
-- Every 30 s window gives, per service, p50/p95/p99 (one shared sketch), the error rate and
-- the busiest routes, as a Redis hash latency:<service>:<window_start> and a sorted set of
-- the slowest services per window.
--
--   KAFKA_BROKERS=kafka:9092 REDIS_URL=redis://redis:6379/0 sluice run kafka_latency.sql

CREATE SOURCE requests (
    service     TEXT NOT NULL,
    route       TEXT,
    status      BIGINT,
    latency_ms  DOUBLE,
    at          TIMESTAMP,           -- epoch milliseconds
    WATERMARK FOR at AS at - INTERVAL '2' SECOND
) WITH (
    connector        = 'kafka',
    brokers          = '${KAFKA_BROKERS:-localhost:9092}',
    topic            = 'requests',
    group_id         = 'sluice-latency',
    timestamp_format = 'epoch_ms',
    -- any librdkafka setting: SASL, TLS, timeouts
    properties.session.timeout.ms = '10000'
);

CREATE SINK latency WITH (
    connector = 'redis',
    url       = '${REDIS_URL:-redis://localhost:6379/0}',
    type      = 'hash',
    key       = 'latency:{service}:{window_start}',
    ttl       = '1d'
) AS
SELECT service, window_start, window_end,
       COUNT(*)                                       AS requests,
       PERCENTILE(latency_ms, 0.5)                    AS p50_ms,
       PERCENTILE(latency_ms, 0.95)                   AS p95_ms,
       PERCENTILE(latency_ms, 0.99)                   AS p99_ms,
       COUNT(*) FILTER (WHERE status >= 500) * 1.0 / COUNT(*) AS error_rate,
       TOPK(route, 5)                                 AS busiest_routes
FROM TUMBLE(requests, at, INTERVAL '30' SECOND)
GROUP BY service;

-- One sorted set per window: services scored by their p99, slowest first with ZREVRANGE.
CREATE SINK slowest WITH (
    connector = 'redis',
    url       = '${REDIS_URL:-redis://localhost:6379/0}',
    type      = 'zset',
    key       = 'slowest:{window_start}',
    score     = 'p99_ms',
    member    = 'service',
    ttl       = '1d'
) AS
SELECT service, window_start, PERCENTILE(latency_ms, 0.99) AS p99_ms
FROM TUMBLE(requests, at, INTERVAL '30' SECOND)
GROUP BY service;
