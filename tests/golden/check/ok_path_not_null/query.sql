CREATE SOURCE nested (
    device TEXT NOT NULL,
    site   TEXT PATH '$.meta.site',
    first  DOUBLE PATH '$.readings[0]' NOT NULL,
    odd    TEXT PATH '$[''a.b'']'
) WITH (connector = 'datagen');

CREATE SINK out WITH (connector = 'stdout') AS
SELECT device, site, first, odd FROM nested;
