;;
CREATE SINK first WITH (connector = 'stdout') AS
SELECT src.device, w.temp FROM src AS w WHERE w.temp > 0;

CREATE SINK flink WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY device;;

CREATE SOURCE src (device TEXT, temp DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts)
WITH (connector = 'datagen');
