CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK long WITH (connector = 'stdout') AS
SELECT COUNT(*) AS n FROM TUMBLE(telemetry, ts, INTERVAL '2' HOUR);
CREATE SINK bad WITH (connector = 'stdout') AS SELECT nope FROM telemetry;
