CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK counts WITH (connector = 'stdout') AS
SELECT site,
       COUNT(*) AS all_readings,
       COUNT(*) FILTER (WHERE temp > 90) AS hot_readings,
       MAX(temp) FILTER (WHERE device <> 'test') AS max_temp
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY site;
