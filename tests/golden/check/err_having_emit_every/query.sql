CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK s WITH (connector = 'stdout') AS
SELECT device, MAX(temp) AS m FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY device HAVING MAX(temp) > 90 EMIT EVERY INTERVAL '10' SECOND;
