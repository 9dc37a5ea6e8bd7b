CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK s WITH (connector = 'stdout') AS
SELECT REGEXP_MATCH(device, site) AS m FROM telemetry;
