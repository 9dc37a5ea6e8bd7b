CREATE SOURCE clicks (page TEXT) WITH (connector = 'datagen');
CREATE SINK per_page WITH (connector = 'stdout') AS
SELECT page, COUNT(*) AS views
FROM TUMBLE(clicks, _arrival, INTERVAL '10' SECOND)
GROUP BY page;
