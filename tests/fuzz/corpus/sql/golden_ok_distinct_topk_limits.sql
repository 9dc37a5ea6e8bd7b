CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK uniques WITH (connector = 'stdout', max_groups = '5000', max_distinct = '1000') AS
SELECT site,
       COUNT(DISTINCT device) AS devices,
       APPROX_COUNT_DISTINCT(device) AS devices_approx,
       TOPK(device, 3) AS busiest
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY site;
