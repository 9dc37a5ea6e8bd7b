CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

SELECT device FROM telemetry;
INSERT INTO x SELECT device FROM telemetry;
CREATE TABLE t (a INT);
DROP SOURCE telemetry;
CREATE SINK s WITH (connector = 'stdout') AS SELECT device FROM telemetry ORDER BY device;
CREATE SINK j WITH (connector = 'stdout') AS SELECT device FROM telemetry JOIN other ON x;
CREATE SINK l WITH (connector = 'stdout') AS SELECT device FROM telemetry LIMIT 10;
CREATE SINK n AS SELECT device FROM telemetry;
