CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK sliding WITH (connector = 'stdout') AS
SELECT site, window_end, MAX(temp) AS max_temp
FROM HOP(telemetry, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)
GROUP BY site;
