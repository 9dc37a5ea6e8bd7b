CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK a WITH (connector = 'stdout') AS
SELECT device temp FROM telemetry WHERE;
CREATE SINK b WITH (connector = 'stdout') AS
SELECT device, FROM telemetry;
CREATE SINK c WITH (connector = 'stdout') AS
SELECT device FROM telemetry WHERE device > 5;
CREATE SINK d WITH (connector = 'stdout') AS
SELECT (device FROM telemetry;
CREATE SINK e WITH (connector = 'stdout') AS
SELECT device FROM telemetry;
