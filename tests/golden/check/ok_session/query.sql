CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK quiet WITH (connector = 'stdout') AS
SELECT device, window_start AS first_seen, window_end AS silent_since, COUNT(*) AS readings
FROM SESSION(telemetry, ts, INTERVAL '5' MINUTE)
GROUP BY device;

CREATE SINK short WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS readings
FROM SESSION(telemetry, ts, INTERVAL '30' SECOND, INTERVAL '10' MINUTE)
GROUP BY device;
