CREATE SOURCE s (a TEXT) WITH (connector = 'datagen');
/* this comment never ends
CREATE SINK x WITH (connector = 'stdout') AS SELECT a FROM s;
