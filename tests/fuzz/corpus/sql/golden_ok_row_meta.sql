CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK per_event WITH (connector = 'stdout') AS
SELECT _id, _rev, is_final, _topic, _key, _partition, _offset, device
FROM telemetry
WHERE _partition = 0 AND _key IS NULL;

CREATE SINK per_window WITH (connector = 'stdout') AS
SELECT device, _id, _rev, is_final, COUNT(*) AS n
FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)
GROUP BY device;
