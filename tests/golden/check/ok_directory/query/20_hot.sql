-- the last statement of a file needs no ';'
CREATE SINK hot WITH (connector = 'stdout') AS SELECT device FROM s WHERE temp > 50
