CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK s WITH (connector = 'stdout') AS
SELECT PERCENTILE(temp, temp) AS a, PERCENTILE(temp, 1.5) AS b FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE);
