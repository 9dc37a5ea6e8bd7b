CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK s WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM HOP(telemetry, ts, INTERVAL '2' SECOND, INTERVAL '7' SECOND);
