/* A block comment
   over two lines. */
create source "Sensor Data" (   -- a quoted name keeps its case and spaces
    "Temp" double,
    "select" text,              -- a keyword as a name, quoted
    Device text
) with (CONNECTOR = 'datagen');

create sink Out with (connector = 'stdout') as
select "Temp"   *   2 as "Double Temp",   /* inline */ "select", DEVICE,
       'it''s' as quote
from "Sensor Data"
where device <> '--not a comment';
