CREATE SOURCE telemetry (
    device TEXT,
    site TEXT,
    temp DOUBLE,
    ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (connector = 'datagen', seed = '1');

CREATE SINK s WITH (connector = 'stdout') AS SELECT device FROM telemetry;
CREATE SINK S WITH (connector = 'stdout') AS SELECT site FROM telemetry;
CREATE SOURCE telemetry (x TEXT) WITH (connector = 'datagen');
CREATE SOURCE dup_cols (a TEXT, b TEXT, A BIGINT) WITH (connector = 'datagen');
