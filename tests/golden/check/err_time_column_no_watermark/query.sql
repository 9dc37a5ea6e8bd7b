CREATE SOURCE p (device TEXT, ts TIMESTAMP) WITH (connector = 'datagen');
CREATE SINK s WITH (connector = 'stdout') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(p, ts, INTERVAL '1' MINUTE) GROUP BY device;
