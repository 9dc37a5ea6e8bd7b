-- an unfinished statement does not run on into the next file
CREATE SINK cut WITH (connector = 'stdout') AS SELECT device
