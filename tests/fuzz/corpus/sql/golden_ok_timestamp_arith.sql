CREATE SOURCE e (
    s TEXT,
    n BIGINT,
    d DOUBLE,
    b BOOLEAN,
    ts TIMESTAMP
) WITH (connector = 'datagen');

CREATE SINK t WITH (connector = 'stdout') AS
SELECT ts + INTERVAL '1' HOUR AS later, INTERVAL '1h' + ts AS later2, ts - INTERVAL '90s' AS earlier,
       _arrival - ts > INTERVAL '5' SECOND AS slow, ts > TO_TIMESTAMP(0) AS after_epoch
FROM e;
