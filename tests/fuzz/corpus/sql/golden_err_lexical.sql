CREATE SOURCE s (a TEXT) WITH (connector = 'datagen');
CREATE SINK x WITH (connector = 'stdout') AS SELECT a # 2 FROM s;
CREATE SINK y WITH (connector = 'stdout') AS SELECT a FROM s WHERE a = ${X};
CREATE SINK z WITH (connector = 'stdout') AS SELECT 10s AS ten FROM s;
CREATE SINK q WITH (connector = 'stdout') AS SELECT "" FROM s;
CREATE SINK w WITH (connector = 'stdout') AS SELECT 'oops FROM s;
