CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK a WITH (connector = 'stdout') AS SELECT device FROM telemetry;
CREATE SINK b WITH (connector = 'stdout') AS SELECT device FROM a;
