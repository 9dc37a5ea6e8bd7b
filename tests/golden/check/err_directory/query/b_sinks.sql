CREATE SINK ok WITH (connector = 'stdout') AS SELECT device FROM s;
CREATE SINK bad WITH (connector = 'stdout') AS SELECT devise FROM s;
