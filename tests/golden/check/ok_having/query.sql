CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK overheat WITH (connector = 'stdout') AS
SELECT device, window_end, MAX(temp) AS max_temp
FROM HOP(telemetry, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)
GROUP BY device
HAVING MAX(temp) > 90 AND COUNT(*) >= 3;
