CREATE SOURCE s (device TEXT) WITH (connector = 'datagen');
CREATE SINK ok WITH (connector = 'stdout') AS SELECT device FROM s;
CREATE SINK bad WITH (connector = 'stdout') AS SELECT devise FROM s;
-- an unfinished statement does not run on into the next file
CREATE SINK cut WITH (connector = 'stdout') AS SELECT device
FROM s;
