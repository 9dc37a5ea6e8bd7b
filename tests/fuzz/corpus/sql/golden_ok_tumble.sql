CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK per_device WITH (connector = 'stdout') AS
SELECT device, window_start, window_end, COUNT(*) AS readings, AVG(temp) AS avg_temp
FROM TUMBLE(telemetry, ts, INTERVAL '10' SECOND)
GROUP BY device;
