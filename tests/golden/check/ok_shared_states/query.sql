CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK latency WITH (connector = 'stdout') AS
SELECT device,
       PERCENTILE(temp, 0.5) AS p50,
       APPROX_PERCENTILE(temp, 0.99) AS p99,
       percentile(temp, 0.5) AS p50_again,
       PERCENTILE(temp * 2, 0.5) AS p50_double,
       COUNT(*) AS n,
       COUNT(*) + 1 AS n_plus_one
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY device;
