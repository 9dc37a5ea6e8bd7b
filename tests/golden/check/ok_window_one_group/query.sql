CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK totals WITH (connector = 'stdout') AS
SELECT window_start, COUNT(*) AS events, MAX(temp) - MIN(temp) AS spread
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE);
