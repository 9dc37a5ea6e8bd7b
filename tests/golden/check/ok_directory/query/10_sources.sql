CREATE SOURCE s (device TEXT, temp DOUBLE, ts TIMESTAMP,
    WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'datagen')
