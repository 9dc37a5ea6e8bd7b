CREATE SOURCE t (
    a BOOLEAN, b BIGINT, c INT, d DOUBLE, e FLOAT, f REAL,
    g TEXT, h VARCHAR, i STRING, j TIMESTAMP
) WITH (connector = 'datagen');
