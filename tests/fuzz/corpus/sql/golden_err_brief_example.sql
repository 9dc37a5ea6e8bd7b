CREATE SOURCE telemetry (device TEXT, temperature DOUBLE) WITH (connector = 'datagen');
CREATE SINK s WITH (connector = 'stdout') AS SELECT device, temprature FROM telemetry;
